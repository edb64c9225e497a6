import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ArchiveManifest,
  UnsafeSpecError,
  labelRefusal,
  recreateParameters,
  recreatePlan,
  type ContainerSpec,
  type RecreateParameters,
} from '#core/manifest.ts';
import { loadDocument } from '#core/runbooks/document.ts';
import { resolveParameters } from '#core/runbooks/parameters.ts';

const spec: ContainerSpec = {
  name: '/db',
  image: 'postgres:16.4',
  envNames: ['POSTGRES_PASSWORD'],
  command: ['postgres', '-c', 'shared_buffers=256MB'],
  shmSize: 268435456,
  restartPolicy: 'unless-stopped',
  networkMode: 'bridge',
  privileged: false,
  capAdd: null,
  pidMode: '',
  user: '',
  mounts: [{ type: 'volume', name: 'pgdata', source: '/var/lib/docker/volumes/pgdata/_data', destination: '/var/lib/postgresql/data', readOnly: false }],
  ports: ['127.0.0.1:5432:5432/tcp'],
};
const manifest = ArchiveManifest.parse({
  lifeboat: 'archive-manifest',
  version: 1,
  archiveKey: 'archives/db1/pgdata/20261127T000000Z.tar.zst',
  createdAt: '2026-11-27T00:00:00Z',
  source: 'db1',
  backupId: 'b-1',
  sha256: 'a'.repeat(64),
  compression: 'zstd',
  compressedBytes: 10,
  uncompressedBytes: 100,
  fileCount: 3,
  consistency: 'pause',
  volume: { name: 'pgdata', driver: 'local', driverOpts: { type: 'nfs', o: 'addr=10.0.0.5,rw', device: ':/exports/pg' }, labels: null },
  hostPath: null,
  mountPath: '/var/lib/postgresql/data',
  container: spec,
});

describe('recreateParameters', () => {
  it('turns a manifest into restore parameters the document accepts', () => {
    const params = recreateParameters(manifest);
    expect(params).toEqual({
      MountPath: '/var/lib/postgresql/data',
      ContainerImage: 'postgres:16.4',
      ContainerCommand: 'postgres -c shared_buffers=256MB',
      ContainerEnvNames: 'POSTGRES_PASSWORD',
      ContainerPorts: '127.0.0.1:5432:5432/tcp',
      ShmSize: '268435456b',
      RestartPolicy: 'unless-stopped',
      ContainerNetwork: '',
      ContainerLabels: '',
      VolumeLabels: '',
      ContainerNetworks: '',
      CreateNetworks: '',
      ContainerOtherMounts: '',
    });
    expect(() =>
      resolveParameters(loadDocument('restore-volume'), { RestoreId: 'r', ArchiveUrl: 'https://b.s3.amazonaws.com/k', VolumeName: 'pgdata', ...params }),
    ).not.toThrow();
  });

  it("a manifest's volume driver options never reach the host (they would choose what the host mounts)", () => {
    const hostile = ArchiveManifest.parse({
      ...manifest,
      volume: { name: 'pgdata', driver: 'local', driverOpts: { type: 'ext4', device: '/dev/nvme0n1p1' }, labels: null },
    });
    const params = recreateParameters(hostile) as unknown as Record<string, string>;
    expect(Object.keys(params)).not.toContain('VolumeDriver');
    expect(Object.keys(params)).not.toContain('VolumeDriverOpts');
    expect(JSON.stringify(params)).not.toContain('/dev/');
  });

  it.each([
    ['privileged', { privileged: true }],
    ['capAdd', { capAdd: ['SYS_ADMIN'] }],
    ['networkMode', { networkMode: 'host' }],
    ['networkMode', { networkMode: 'container:other' }],
    ['pidMode', { pidMode: 'host' }],
  ])('refuses a tampered manifest that widens privileges: %s', (field, change) => {
    const tampered = { ...manifest, container: { ...spec, ...change } };
    expect(() => recreateParameters(tampered)).toThrow(UnsafeSpecError);
    expect(() => recreateParameters(tampered)).toThrow(new RegExp(`container\\.${field}`));
  });
});

describe('recreatePlan: mounts besides the data are never created, and named', () => {
  const others = [
    { type: 'bind', source: '/srv/app/init sql', destination: '/docker-entrypoint-initdb.d', readOnly: true },
    { type: 'volume', name: 'billing-data', source: '/var/lib/docker/volumes/billing-data/_data', destination: '/other', readOnly: false },
    { type: 'bind', source: '/var/run/docker.sock', destination: '/var/run/docker.sock', readOnly: false },
  ];
  const plan = recreatePlan({ ...manifest, container: { ...spec, mounts: [...spec.mounts, ...others] } });

  it('passes each to the host by name only (TYPE:SOURCE:DESTINATION), which refuses to recreate the container while there are any', () => {
    expect(plan.parameters.ContainerOtherMounts).toBe(
      'bind:/srv/app/init_sql:/docker-entrypoint-initdb.d volume:billing-data:/other bind:/var/run/docker.sock:/var/run/docker.sock',
    );
    expect(plan.otherMounts).toEqual([
      'bind /srv/app/init sql at /docker-entrypoint-initdb.d',
      'volume billing-data at /other',
      'bind /var/run/docker.sock at /var/run/docker.sock',
    ]);
    // Nothing else the host reads names them: they are never mounted.
    const rest = Object.entries(plan.parameters).filter(([name]) => name !== 'ContainerOtherMounts');
    expect(JSON.stringify(rest)).not.toMatch(/docker\.sock|billing-data|initdb/);
    expect(() =>
      resolveParameters(loadDocument('restore-volume'), {
        RestoreId: 'r',
        ArchiveUrl: 'https://b.s3.amazonaws.com/k',
        VolumeName: 'pgdata',
        ...plan.parameters,
      }),
    ).not.toThrow();
  });

  it('more than the parameter can name: refused here, naming every one', () => {
    const many = Array.from({ length: 20 }, (_, i) => ({
      type: 'bind',
      source: `/srv/${'x'.repeat(60)}/${i.toString()}`,
      destination: `/etc/conf${i.toString()}`,
      readOnly: true,
    }));
    const tampered = { ...manifest, container: { ...spec, mounts: [...spec.mounts, ...many] } };
    expect(() => recreatePlan(tampered)).toThrow(UnsafeSpecError);
    expect(() => recreatePlan(tampered)).toThrow(/container\.mounts: .*bind \/srv\/x+\/0 at \/etc\/conf0; .*at \/etc\/conf19$/);
  });
});

/** A Compose v1 service as backup-volume records it (labels and networks from docker inspect on this machine). */
const composeSpec: ContainerSpec = {
  ...spec,
  name: '/shop_db_1',
  image: 'local/postgres:15',
  command: ['postgres', '-D', '/var/lib/postgresql/data'],
  networkMode: 'shop_backend',
  ports: [],
  envNames: [],
  restartPolicy: '',
  mounts: [
    { type: 'volume', name: 'shop_pgdata', source: '/var/lib/docker/volumes/shop_pgdata/_data', destination: '/var/lib/postgresql/data', readOnly: false },
  ],
  labels: {
    'com.docker.compose.config-hash': '6c8d27cf6bf6c617dc189d57664083c27fde1ebe8dfd5a749434fc5272690037',
    'com.docker.compose.container-number': '1',
    'com.docker.compose.oneoff': 'False',
    'com.docker.compose.project': 'shop',
    'com.docker.compose.project.config_files': 'docker-compose.yml',
    'com.docker.compose.project.working_dir': '/srv/my shop',
    'com.docker.compose.service': 'db',
    'com.docker.compose.version': '1.29.2',
    maintainer: 'Some One <one@example.com>',
    'traefik.http.routers.db.rule': 'Host(`db.example.com`)',
    'traefik.enable': 'true',
    'lifeboat.role': 'staging',
  },
  networks: [
    {
      name: 'shop_backend',
      aliases: ['db', '096f052e7191'],
      driver: 'bridge',
      internal: true,
      enableIPv6: false,
      labels: { 'com.docker.compose.network': 'backend', 'com.docker.compose.project': 'shop', 'com.docker.compose.version': '1.29.2', 'LIFEBOAT.target': 'x' },
      options: {},
    },
    {
      name: 'shop_front',
      aliases: ['db', 'postgres'],
      driver: 'bridge',
      internal: false,
      enableIPv6: false,
      labels: null,
      options: { 'com.docker.network.driver.mtu': '1400' },
    },
    { name: 'mesh', aliases: null, driver: 'overlay', internal: false, enableIPv6: false, labels: null, options: null },
    { name: 'bridge', aliases: null },
  ],
};
const composeManifest = ArchiveManifest.parse({
  ...manifest,
  volume: {
    name: 'shop_pgdata',
    driver: 'local',
    driverOpts: null,
    labels: {
      'com.docker.compose.project': 'shop',
      'com.docker.compose.volume': 'pgdata',
      'com.docker.compose.version': '1.29.2',
      'lifeboat.role': 'restored',
    },
  },
  container: composeSpec,
  dataMarkers: ['PG_VERSION', 'base', 'global'],
});

describe('recreatePlan: a Compose service gets back what docker compose needs to adopt it', () => {
  it('labels: Compose’s only (lifeboat.*, image labels, other tools’ left out and listed), networks with aliases, missing bridge networks as they were', () => {
    const plan = recreatePlan(composeManifest);
    expect(plan.parameters).toMatchObject({
      ContainerLabels:
        'com.docker.compose.config-hash=6c8d27cf6bf6c617dc189d57664083c27fde1ebe8dfd5a749434fc5272690037 com.docker.compose.container-number=1 ' +
        'com.docker.compose.oneoff=False com.docker.compose.project=shop com.docker.compose.project.config_files=docker-compose.yml ' +
        'com.docker.compose.service=db com.docker.compose.version=1.29.2',
      VolumeLabels: 'com.docker.compose.project=shop com.docker.compose.version=1.29.2 com.docker.compose.volume=pgdata',
      ContainerNetwork: 'shop_backend',
      // The old container's short id is Docker's own alias, not the service's.
      ContainerNetworks: 'shop_backend:db shop_front:db,postgres mesh',
      CreateNetworks: 'shop_backend,internal,com.docker.compose.network=backend,com.docker.compose.project=shop,com.docker.compose.version=1.29.2',
      ContainerOtherMounts: '',
    });
    expect(plan.dropped.map((d) => d.what)).toEqual([
      'volume label lifeboat.role',
      'container label com.docker.compose.project.working_dir',
      'container label lifeboat.role',
      'container label maintainer',
      'container label traefik.enable',
      'container label traefik.http.routers.db.rule',
      'network shop_backend label LIFEBOAT.target',
      'network shop_front (creation)',
      'network mesh (creation)',
    ]);
    expect(plan.dropped.find((d) => d.what === 'network shop_front (creation)')?.reason).toMatch(
      /driver options \(com\.docker\.network\.driver\.mtu\).*create it before the restore/,
    );
    expect(plan.dropped.find((d) => d.what === 'network mesh (creation)')?.reason).toMatch(/driver is overlay/);
    expect(plan.dropped.find((d) => d.what === 'container label com.docker.compose.project.working_dir')?.reason).toMatch(/value does not match/);
    expect(() =>
      resolveParameters(loadDocument('restore-volume'), {
        RestoreId: 'r',
        ArchiveUrl: 'https://b.s3.amazonaws.com/k',
        VolumeName: 'shop_pgdata',
        ...plan.parameters,
      }),
    ).not.toThrow();
    expect(recreateParameters(composeManifest)).toEqual(plan.parameters);
  });

  it('labels the operator allows (exact keys, or prefixes ending in .) come back too; lifeboat.* never does', () => {
    const plan = recreatePlan(composeManifest, { allowLabels: ['traefik.', 'maintainer', 'lifeboat.'] });
    expect(plan.parameters.ContainerLabels).toContain(' traefik.enable=true');
    expect(plan.parameters.ContainerLabels).not.toContain('lifeboat');
    expect(plan.parameters.VolumeLabels).not.toContain('lifeboat');
    // Allowed, but its value does not fit a parameter: still left out, and why.
    expect(plan.dropped).toContainEqual({ what: 'container label maintainer', reason: expect.stringMatching(/value does not match/) as unknown });
    expect(plan.dropped).toContainEqual({
      what: 'container label traefik.http.routers.db.rule',
      reason: expect.stringMatching(/value does not match/) as unknown,
    });
  });

  it.each([
    ['lifeboat.role', 'x', {}, /Lifeboat's own/],
    ['Lifeboat.Role', 'x', { allowLabels: ['Lifeboat.'] }, /Lifeboat's own/],
    ['com.docker.compose.project', 'a b', {}, /value does not match/],
    ['com.docker.compose.project', "a'b", {}, /value does not match/],
    ['com.docker.compose.x', 'v'.repeat(256), {}, /value does not match/],
    ['traefik.enable', 'true', {}, /not a Compose label/],
    ['traefik.enable', 'true', { allowLabels: ['traefik'] }, /not a Compose label/],
    ['-x', 'y', { allowLabels: ['-x'] }, /key does not match/],
  ])('labelRefusal %j=%j %j', (key, value, options, reason) => {
    expect(labelRefusal(key, value, options)).toMatch(reason);
  });

  it('an older manifest (no labels, no networks, no dataMarkers) still reads, and recreates as before', () => {
    const old: Record<string, unknown> = { ...composeSpec };
    delete old.labels;
    delete old.networks;
    const parsed = ArchiveManifest.parse({ ...composeManifest, volume: { ...composeManifest.volume, labels: null }, container: old, dataMarkers: undefined });
    expect(recreatePlan(parsed)).toMatchObject({
      parameters: { ContainerNetwork: 'shop_backend', ContainerLabels: '', VolumeLabels: '', ContainerNetworks: '', CreateNetworks: '' },
      dropped: [],
    });
  });

  it('data only (no container recorded): the volume still gets its Compose labels', () => {
    expect(recreateParameters({ ...composeManifest, container: null })).toMatchObject({
      VolumeLabels: 'com.docker.compose.project=shop com.docker.compose.version=1.29.2 com.docker.compose.volume=pgdata',
      ContainerLabels: '',
      ContainerNetworks: '',
    });
  });

  it('whatever labels and networks a manifest records, the parameters pass the document or the manifest is refused as unsafe (property)', () => {
    const text = fc.oneof(
      fc.string({ maxLength: 70 }),
      fc.constantFrom('com.docker.compose.project', 'lifeboat.role', 'db', 'a b', 'x=y', 'a,b', 'shop_backend', 'shop', '1.29.2', 'False'),
    );
    const key = fc.oneof(
      text,
      fc.string({ maxLength: 20 }).map((s) => `com.docker.compose.${s}`),
    );
    const labels = fc.option(fc.dictionary(key, text, { maxKeys: 12 }), { nil: null });
    const network = fc.record({
      name: text,
      aliases: fc.option(fc.array(text, { maxLength: 4 }), { nil: null }),
      driver: fc.constantFrom('bridge', 'overlay', 'macvlan'),
      internal: fc.boolean(),
      enableIPv6: fc.boolean(),
      labels,
      options: fc.option(fc.dictionary(text, text, { maxKeys: 2 }), { nil: null }),
    });
    const document = loadDocument('restore-volume');
    let kept = 0;
    fc.assert(
      fc.property(labels, labels, fc.array(network, { maxLength: 10 }), (containerLabels, volumeLabels, networks) => {
        let params: RecreateParameters;
        try {
          params = {
            ...recreateParameters({
              ...composeManifest,
              volume: { name: 'v', driver: 'local', driverOpts: null, labels: volumeLabels },
              container: { ...composeSpec, labels: containerLabels, networks },
            }),
          };
        } catch (e) {
          expect(e).toBeInstanceOf(UnsafeSpecError);
          return;
        }
        expect(() => resolveParameters(document, { RestoreId: 'r', ArchiveUrl: 'https://b.s3.amazonaws.com/k', VolumeName: 'v', ...params })).not.toThrow();
        // Labels only: a network may be called anything Docker allows.
        const words = `${params.ContainerLabels} ${params.VolumeLabels}`.split(' ');
        const networkLabels = params.CreateNetworks.split(' ').flatMap((entry) => entry.split(',').slice(1));
        expect([...words, ...networkLabels].filter((w) => /^lifeboat\./i.test(w))).toEqual([]);
        if (params.ContainerLabels !== '' || params.CreateNetworks !== '') kept++;
      }),
      { numRuns: 300 },
    );
    expect(kept).toBeGreaterThan(30); // not vacuous: labels and networks do get through
  });
});
