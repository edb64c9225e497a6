import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ArchiveStore } from '#core/archive-store.ts';
import { DynamoDbCatalog } from '#core/catalog/dynamodb-catalog.ts';
import type { ArchiveEntry } from '#core/catalog/model.ts';
import { startLocalDynamo, type LocalDynamo } from '#core/local/dynamodb.ts';
import type { ArchiveManifest } from '#core/manifest.ts';
import { RestorePolicy, imageAllowed } from '#core/policy.ts';
import { ClientError } from '#core/restore/errors.ts';
import type { CommandRunner, InstanceDirectory, SendRestore } from '#core/restore/ports.ts';
import { DrillRequest, RestoreRequest } from '#core/restore/schemas.ts';
import { RestoreService, UNKNOWN_EXPANSION } from '#core/restore/service.ts';
import { loadDocument } from '#core/runbooks/document.ts';
import { planText, recordText } from '#root/cli/output.ts';
import { JsonOutput } from '#root/cli/schema.ts';

// The plan is where the operator's choices and the archive's (untrusted) manifest meet.
// Real DynamoDB-compatible server on 127.0.0.1; the store and the host are stand-ins that record.
const INSTANCE = 'i-0123456789abcdef0';
const SHA = 'ab'.repeat(32);

const manifest = (over: Partial<ArchiveManifest> = {}): ArchiveManifest => ({
  lifeboat: 'archive-manifest',
  version: 1,
  archiveKey: 'k',
  createdAt: '2026-11-27T03:15:02Z',
  source: 'db1',
  backupId: 'b-1',
  sha256: SHA,
  compression: 'zstd',
  compressedBytes: 1000,
  uncompressedBytes: 50_000,
  fileCount: 10,
  consistency: 'pause',
  volume: { name: 'pgdata', driver: 'local', driverOpts: { type: 'ext4', device: '/dev/nvme0n1p1' }, labels: null },
  hostPath: null,
  mountPath: '/var/lib/postgresql/data',
  container: {
    name: '/db',
    image: 'evil.example.com/miner:1',
    envNames: [],
    command: null,
    shmSize: 0,
    restartPolicy: 'no',
    networkMode: 'bridge',
    privileged: false,
    capAdd: null,
    pidMode: '',
    user: '',
    mounts: [],
    ports: [],
  },
  ...over,
});

describe('restore plans: what the manifest asks for beside what will be done', () => {
  let dynamo: LocalDynamo;
  let catalog: DynamoDbCatalog;
  const sent: SendRestore[] = [];
  const presigned: { key: string; versionId?: string }[] = [];
  const store: ArchiveStore = {
    head: () => Promise.resolve(undefined),
    getText: () => Promise.resolve(undefined),
    presignGet: (key, _s, versionId) => {
      presigned.push({ key, ...(versionId ? { versionId } : {}) });
      return Promise.resolve(`https://bucket.s3.eu-west-1.amazonaws.com/${key}?X-Amz-Signature=x`);
    },
    listKeys: async function* () {},
  };
  const runner: CommandRunner & InstanceDirectory = {
    sendRestore: (r) => {
      sent.push(r);
      return Promise.resolve(`cmd-${sent.length.toString()}`);
    },
    invocationOutput: () => Promise.reject(new Error('not used')),
    cancel: () => Promise.resolve(),
    commandFor: () => Promise.resolve(undefined),
    // A host of db1's own: these plans are not about hosts shared with other sources (test/unit/shared-host-restore.test.ts).
    status: () => Promise.resolve({ online: true, pingStatus: 'Online', sources: ['db1'] }),
  };
  const put = (entry: Partial<ArchiveEntry> & { key: string; volume: string }): Promise<void> =>
    catalog.putArchive({ source: 'db1', takenAt: '2026-11-27T03:15:00Z', compression: 'zstd', size: 1000, catalogedAt: '2026-11-27T03:16:00Z', ...entry });
  const service = (policy: unknown = {}): RestoreService =>
    new RestoreService(
      { catalog, store, runner, instances: runner },
      { document: loadDocument('restore-volume'), helperImage: 'local/lifeboat-helper:1', policy: RestorePolicy.parse(policy) },
    );
  const request = (over: Record<string, unknown> = {}): RestoreRequest =>
    RestoreRequest.parse({ source: 'db1', volume: 'pgdata', instanceId: INSTANCE, containerName: 'db', ...over });

  beforeAll(async () => {
    dynamo = await startLocalDynamo();
    catalog = new DynamoDbCatalog(dynamo.doc, await dynamo.createCatalogTable());
    await put({ key: 'archives/db1/pgdata/20261127T031500Z.tar.zst', volume: 'pgdata', sha256: SHA, versionId: 'v-42', manifest: manifest() });
    await put({ key: 'archives/db1/byhand/20261127T031500Z.tar.gz', volume: 'byhand', compression: 'gzip', size: 3000 });
    // A MariaDB and a Redis archive, as backup-volume records them (image, mount path, top-level names of the data).
    const base = manifest().container;
    if (!base) throw new Error('the base manifest has a container');
    await put({
      key: 'archives/db1/shop/20261127T031500Z.tar.zst',
      volume: 'shop',
      sha256: SHA,
      manifest: manifest({
        mountPath: '/var/lib/mysql',
        container: { ...base, name: '/shop-db', image: 'mariadb:10.11' },
        dataMarkers: ['aria_log_control', 'ibdata1', 'mysql', 'shop'],
      }),
    });
    await put({
      key: 'archives/db1/cache/20261127T031500Z.tar.zst',
      volume: 'cache',
      sha256: SHA,
      manifest: manifest({ mountPath: '/data', container: { ...base, name: '/cache', image: 'redis:7.2' }, dataMarkers: ['dump.rdb'] }),
    });
    // A Compose service with an init-scripts bind and a label Compose did not write.
    await put({
      key: 'archives/db1/compose_pgdata/20261127T031500Z.tar.zst',
      volume: 'compose_pgdata',
      sha256: SHA,
      manifest: manifest({
        volume: {
          name: 'compose_pgdata',
          driver: 'local',
          driverOpts: null,
          labels: { 'com.docker.compose.project': 'compose', 'com.docker.compose.volume': 'pgdata', team: 'db' },
        },
        container: {
          ...base,
          name: '/compose_db_1',
          image: 'postgres:15',
          labels: { 'com.docker.compose.project': 'compose', 'com.docker.compose.service': 'db', 'traefik.enable': 'true' },
          mounts: [{ type: 'bind', source: '/srv/compose/init', destination: '/docker-entrypoint-initdb.d', readOnly: true }],
        },
      }),
    });
    // Backed up while no container used it: the manifest's mount path is only the backup document's default.
    await put({
      key: 'archives/db1/loose/20261127T031500Z.tar.zst',
      volume: 'loose',
      sha256: SHA,
      manifest: manifest({ mountPath: '/var/lib/postgresql/data', container: null, dataMarkers: ['appendonly.aof', 'dump.rdb'] }),
    });
  });
  afterAll(async () => {
    await dynamo.close();
  });
  beforeEach(() => {
    sent.length = 0;
    presigned.length = 0;
  });

  it('a manifest asking to mount a host disk (type=ext4 device=/dev/…) gets a plain local volume; the plan shows both', async () => {
    const plan = await service().plan(request());
    expect(plan.volumeCreation).toEqual({
      manifestRecorded: { driver: 'local', driverOpts: { type: 'ext4', device: '/dev/nvme0n1p1' } },
      used: { driver: 'local', driverOpts: {}, from: 'default' },
    });
    expect(plan.parameters).toMatchObject({ VolumeDriver: '', VolumeDriverOpts: '' });
    expect(JSON.stringify(plan.parameters)).not.toContain('/dev/');
  });

  it("a created volume's driver options come from the request, else from the protect config", async () => {
    const policy = { volumes: [{ source: 'db1', volume: 'pgdata', volumeDriverOpts: { type: 'nfs', o: 'addr=10.0.0.5,rw', device: ':/exports/pg' } }] };
    const fromConfig = await service(policy).plan(request());
    expect(fromConfig.volumeCreation.used).toEqual({
      driver: 'local',
      driverOpts: { type: 'nfs', o: 'addr=10.0.0.5,rw', device: ':/exports/pg' },
      from: 'protect config',
    });
    expect(fromConfig.parameters.VolumeDriverOpts).toBe('type=nfs o=addr=10.0.0.5,rw device=:/exports/pg');

    const fromRequest = await service(policy).plan(request({ volumeDriverOpts: { type: 'tmpfs', device: 'tmpfs', o: 'size=64m' } }));
    expect(fromRequest.volumeCreation.used.from).toBe('request');
    expect(fromRequest.parameters.VolumeDriverOpts).toBe('type=tmpfs device=tmpfs o=size=64m');
  });

  it('credentials in driver options (a CIFS password) are never shown in a plan, whoever wrote them', async () => {
    const policy = {
      volumes: [{ source: 'db1', volume: 'pgdata', volumeDriverOpts: { type: 'cifs', device: '//fs/pg', o: 'username=pg,password=hunter2,vers=3.0' } }],
    };
    const plan = await service(policy).plan(request());
    expect(plan.volumeCreation.used.driverOpts).toEqual({ type: 'cifs', device: '//fs/pg', o: 'username=pg,password=***,vers=3.0' });
    expect(plan.parameters.VolumeDriverOpts).toContain('password=hunter2'); // the host still gets them
    const shown = JSON.stringify({ ...plan, parameters: undefined });
    expect(shown).not.toContain('hunter2');
  });

  it.each([
    [{ type: 'ext4', device: '/dev/nvme0n1p1' }, 'type=ext4'],
    [{ type: 'nfs', device: '/dev/sda1' }, 'names a host device'],
    [{ type: 'none', o: 'bind', device: '/etc' }, 'type=none'],
    [{ type: 'nfs', o: 'addr=1.2.3.4,rbind' }, 'bind a host directory'],
    [{ device: ':/exports/pg' }, 'needs type='],
  ])('driver options that would mount a host disk or bind a directory are a 400 naming the field: %j', (opts, says) => {
    const parsed = RestoreRequest.safeParse({ source: 'db1', volume: 'pgdata', instanceId: INSTANCE, containerName: 'db', volumeDriverOpts: opts });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.path).toEqual(['volumeDriverOpts']);
    expect(parsed.error?.issues[0]?.message).toContain(says);
  });

  it('a request may only choose the local driver: a plugin driver (whose options the host cannot check) comes only from the protect config', async () => {
    await expect(service().plan(request({ volumeDriver: 'local-persist', volumeDriverOpts: { mountpoint: '/root/.ssh' } }))).rejects.toThrow(
      /volumeDriver: a request may only use the local driver/,
    );
    const configured = await service({ volumes: [{ source: 'db1', volume: 'pgdata', volumeDriver: 'rexray/ebs' }] }).plan(request());
    expect(configured.parameters.VolumeDriver).toBe('rexray/ebs');
  });

  it.each([
    "select encode(pg_read_binary_file(concat(chr(47),'proc',chr(47),'1',chr(47),'environ')),'escape')",
    "select query_to_xml('select 1',true,true,'')",
    "select current_setting('data_directory')",
    'SELECT PG_LS_DIR(chr(47))',
    'select lo_get(1)',
  ])('a verify query that reads server files, settings or runs dynamic SQL is refused, though read-only (it runs as the superuser): %s', (check) => {
    const parsed = DrillRequest.safeParse({ source: 'db1', volume: 'pgdata', instanceId: INSTANCE, engine: 'postgres', check });
    expect(parsed.error?.issues[0]?.path).toEqual(['check']);
    expect(parsed.error?.issues[0]?.message).toContain('may not name server-file');
    expect(
      DrillRequest.safeParse({ source: 'db1', volume: 'pgdata', instanceId: INSTANCE, engine: 'postgres', check: 'select count(*) from orders' }).success,
    ).toBe(true);
  });

  it('an allowlist entry with a tag is refused (tags move): repositories or pinned digests only', () => {
    expect(RestorePolicy.safeParse({ allowedImages: ['postgres:16'] }).error?.issues[0]?.message).toContain('without a tag');
    expect(RestorePolicy.safeParse({ allowedImages: ['localhost:5000/pg', `pg@sha256:${'a'.repeat(64)}`] }).success).toBe(true);
  });

  it('an image outside the allowlist is never sent to the host: the container must already exist', async () => {
    const plan = await service({ allowedImages: ['postgres'] }).plan(request());
    expect(plan.parameters.ContainerImage).toBe('');
    expect(plan.missingContainer).toContain('evil.example.com/miner:1 is not in the allowed images');

    const allowed = await service({ allowedImages: ['evil.example.com/'] }).plan(request());
    expect(allowed.parameters.ContainerImage).toBe('evil.example.com/miner:1');
  });

  it("a drill's image comes from the manifest or the protect config and must be allowed; a caller cannot choose it", async () => {
    expect(DrillRequest.safeParse({ source: 'db1', volume: 'pgdata', instanceId: INSTANCE, containerImage: 'evil.example.com/miner:1' }).success).toBe(false);
    const drill = DrillRequest.parse({ source: 'db1', volume: 'pgdata', instanceId: INSTANCE });
    await expect(service({ allowedImages: ['postgres'] }).drill(drill, 'test')).rejects.toThrow(/not in the allowed images/);
    expect(sent).toEqual([]);
  });

  it('image allowlist entries: repository (any tag), prefix, pinned digest; Docker Hub names normalized', () => {
    const digest = `sha256:${'c'.repeat(64)}`;
    const policy = RestorePolicy.parse({ allowedImages: ['postgres', '123456789012.dkr.ecr.eu-west-1.amazonaws.com/db/', `local/mysql@${digest}`] });
    expect(imageAllowed(policy, 'postgres:16')).toBe(true);
    expect(imageAllowed(policy, 'docker.io/library/postgres:15')).toBe(true);
    expect(imageAllowed(policy, 'postgresql:16')).toBe(false);
    expect(imageAllowed(policy, 'evil.io/postgres:16')).toBe(false);
    expect(imageAllowed(policy, '123456789012.dkr.ecr.eu-west-1.amazonaws.com/db/pg:1')).toBe(true);
    expect(imageAllowed(policy, '123456789012.dkr.ecr.eu-west-1.amazonaws.com/dbx:1')).toBe(false);
    expect(imageAllowed(policy, `local/mysql@${digest}`)).toBe(true);
    expect(imageAllowed(policy, 'local/mysql:8')).toBe(false);
    const team = RestorePolicy.parse({ allowedImages: ['acme/'] });
    expect(imageAllowed(team, 'acme/pg:16')).toBe(true);
    expect(imageAllowed(team, 'docker.io/acme/pg:16')).toBe(true);
    expect(imageAllowed(team, 'acmex/pg:16')).toBe(false);
  });

  it('an archive without a sha256 is refused unless the request says allowUnverified, and the plan says so', async () => {
    const byHand = request({ volume: 'byhand' });
    await expect(service().plan(byHand)).rejects.toThrow(ClientError);
    await expect(service().plan(byHand)).rejects.toThrow(/no sha256.*allowUnverified/);
    const plan = await service().plan({ ...byHand, allowUnverified: true });
    expect(plan.integrity).toMatch(/^UNVERIFIED/);
  });

  it("the host gets the archive's size, checksum and expected uncompressed size (an estimate when unknown, said so)", async () => {
    const withManifest = await service().plan(request());
    expect(withManifest.expectedSize).toEqual({ bytes: 50_000 + 10 * 4096, from: 'manifest' });
    expect(withManifest.parameters).toMatchObject({ ExpectedArchiveBytes: '1000', ExpectedUncompressedBytes: String(50_000 + 10 * 4096), ExpectedSha256: SHA });

    const byHand = await service().plan(request({ volume: 'byhand', allowUnverified: true }));
    expect(byHand.expectedSize).toEqual({ bytes: 3000 * UNKNOWN_EXPANSION, from: 'estimate' });
    const told = await service().plan(request({ volume: 'byhand', allowUnverified: true, uncompressedBytes: 123_456 }));
    expect(told.expectedSize).toEqual({ bytes: 123_456, from: 'request' });
  });

  it('the presigned URL names the cataloged S3 version, so an overwrite of the key cannot substitute the archive', async () => {
    await service().start(request(), 'test');
    expect(presigned).toEqual([{ key: 'archives/db1/pgdata/20261127T031500Z.tar.zst', versionId: 'v-42' }]);
    expect(sent).toHaveLength(1);
    await catalog.releaseLock(INSTANCE, 'pgdata', sent[0]?.restoreId ?? '');
  });

  describe('Compose-managed services', () => {
    it('the plan names the mounts besides the data and what a recreated container will not get; a data-only restore still puts back the volume labels', async () => {
      const plan = await service({ allowedImages: ['postgres'] }).plan(request({ volume: 'compose_pgdata', containerName: 'compose_db_1' }));
      expect(plan.recreation.otherMounts).toEqual([expect.stringContaining('/docker-entrypoint-initdb.d')]);
      expect(plan.recreation.dropped.map((d) => d.what).join(' ')).toContain('traefik.enable');
      expect(plan.parameters.ContainerLabels).toContain('com.docker.compose.service=db');
      expect(plan.parameters.ContainerLabels).not.toContain('traefik');
      expect(plan.parameters.ContainerOtherMounts).toContain('/docker-entrypoint-initdb.d');

      const dataOnly = await service().plan(RestoreRequest.parse({ source: 'db1', volume: 'compose_pgdata', instanceId: INSTANCE }));
      expect(dataOnly.recreation).toEqual({ dropped: [], otherMounts: [] });
      expect(dataOnly.parameters).toMatchObject({ ContainerName: '', VolumeLabels: 'com.docker.compose.project=compose com.docker.compose.volume=pgdata' });
    });
  });

  describe('engines: detected from the archive, overridable, shown in every plan', () => {
    it('a MariaDB archive with no engine given is verified as mysql at /var/lib/mysql, and the plan says why and what runs', async () => {
      const plan = await service({ allowedImages: ['mariadb'] }).plan(request({ volume: 'shop', containerName: 'shop-db' }));
      expect(plan.parameters).toMatchObject({
        Verify: 'mysql',
        MountPath: '/var/lib/mysql',
        VerifyUser: '',
        VerifyQuery: '',
        ExpectMinimum: '',
        HealthCommand: '',
        ContainerImage: 'mariadb:10.11',
      });
      expect(plan.mountPath).toEqual({ path: '/var/lib/mysql', from: 'manifest' });
      expect(plan.verification).toMatchObject({ engine: 'mysql', from: 'manifest-markers', health: ['mysqladmin', 'ping', '--silent', '-u', 'root'] });
      expect(plan.verification.detail).toContain('ibdata1');
      expect(plan.verification.check).toMatchObject({ text: 'select 1', from: 'engine default' });
      expect(plan.verification.check?.argv).toContain('--init-command=SET SESSION TRANSACTION READ ONLY');
    });

    it('an explicit engine wins, and the plan says the archive disagrees', async () => {
      const plan = await service().plan(request({ volume: 'shop', containerName: 'shop-db', engine: 'postgres' }));
      expect(plan.parameters).toMatchObject({ Verify: 'postgres', MountPath: '/var/lib/mysql' });
      expect(plan.verification.from).toBe('request');
      expect(plan.verification.detail).toMatch(
        /^postgres \(PostgreSQL\): named in the request; but the archive's data holds .*ibdata1.*, which looks like mysql/,
      );
      expect(plan.verification.detail).toContain('mariadb:10.11, which looks like mysql');
    });

    it('a read-only redis check (DBSIZE) with expectMinimum is accepted and sent; FLUSHALL is refused naming check', async () => {
      const plan = await service().plan(request({ volume: 'cache', containerName: 'cache', check: 'DBSIZE', expectMinimum: 2 }));
      expect(plan.parameters).toMatchObject({ Verify: 'redis', MountPath: '/data', VerifyQuery: 'DBSIZE', ExpectMinimum: '2' });
      expect(plan.verification).toMatchObject({
        engine: 'redis',
        check: { text: 'DBSIZE', from: 'request', argv: ['redis-cli', '-e', 'DBSIZE'] },
        expectMinimum: { value: 2, from: 'request' },
      });

      for (const engine of ['redis', 'auto', undefined]) {
        const refused = RestoreRequest.safeParse({ source: 'db1', volume: 'cache', instanceId: INSTANCE, containerName: 'cache', engine, check: 'FLUSHALL' });
        expect(refused.error?.issues.map((i) => i.path)).toEqual([['check']]);
      }
      const named = RestoreRequest.safeParse({
        source: 'db1',
        volume: 'cache',
        instanceId: INSTANCE,
        containerName: 'cache',
        engine: 'redis',
        check: 'FLUSHALL',
      });
      expect(named.error?.issues[0]?.message).toMatch(/redis checks must start with one of DBSIZE, EXISTS/);
      expect(sent).toEqual([]);
    });

    it("a check that suits another engine than the archive's is a 400 naming check, before anything is sent", async () => {
      const plan = service().plan(request({ volume: 'shop', containerName: 'shop-db', check: 'DBSIZE' }));
      await expect(plan).rejects.toMatchObject({ statusCode: 400, message: expect.stringMatching(/^check: mysql checks must be one SELECT/) as unknown });
    });

    it('an archive with no manifest leaves engine and mount path to the host, unless the request names the engine', async () => {
      const byHand = request({ volume: 'byhand', allowUnverified: true });
      const left = await service().plan(byHand);
      expect(left.parameters).toMatchObject({ Verify: 'auto', MountPath: '', ShmSize: '' });
      expect(left.verification).toMatchObject({ engine: 'auto', from: 'host', check: null });
      expect(left.mountPath.from).toBe('host');

      const mysql = await service().plan({ ...byHand, engine: 'mysql' });
      expect(mysql.parameters).toMatchObject({ Verify: 'mysql', MountPath: '/var/lib/mysql' });
      expect(mysql.mountPath).toEqual({ path: '/var/lib/mysql', from: 'engine default' });
      const postgres = await service().plan({ ...byHand, engine: 'postgres' });
      expect(postgres.parameters).toMatchObject({ Verify: 'postgres', MountPath: '/var/lib/postgresql/data', ShmSize: '256m' });
    });

    it("a manifest that recorded no container does not decide the mount path: the detected engine's default does", async () => {
      const plan = await service().plan(request({ volume: 'loose', containerName: 'cache' }));
      expect(plan.parameters).toMatchObject({ Verify: 'redis', MountPath: '/data', ContainerImage: '' });
      expect(plan.mountPath).toEqual({ path: '/data', from: 'engine default' });
    });

    it('a data-only restore (no containerName) sends ContainerName "" and Verify none, and the plan says so', async () => {
      const dataOnly = RestoreRequest.parse({ source: 'db1', volume: 'shop', instanceId: INSTANCE });
      const plan = await service({ allowedImages: ['mariadb'] }).plan(dataOnly);
      expect(plan.parameters).toMatchObject({
        ContainerName: '',
        Verify: 'none',
        VerifyQuery: '',
        ContainerImage: '',
        ShmSize: '',
        MountPath: '/var/lib/mysql',
      });
      expect(plan.dataOnly).toBe(true);
      expect(plan.verification).toMatchObject({ engine: 'none', from: 'data-only', health: null, check: null });
      expect(plan.missingContainer).toMatch(/^DATA ONLY: no container is stopped, started, created or verified/);

      const started = await service().start(dataOnly, 'test');
      expect(sent[0]?.parameters).toMatchObject({ VolumeName: 'shop', ContainerName: '', Verify: 'none', ContainerImage: '' });
      expect(await catalog.getRestore(started.restoreId)).toMatchObject({ containerName: '', volume: 'shop' });
      await catalog.releaseLock(INSTANCE, 'shop', started.restoreId);
    });

    it('a data-only restore verifies nothing: an engine or a check with it is a 400 naming the field', () => {
      const base = { source: 'db1', volume: 'shop', instanceId: INSTANCE };
      expect(RestoreRequest.safeParse({ ...base, check: 'select 1' }).error?.issues.map((i) => i.path)).toEqual([['check']]);
      expect(RestoreRequest.safeParse({ ...base, engine: 'mysql' }).error?.issues[0]).toMatchObject({
        path: ['engine'],
        message: expect.stringContaining('data-only restore (no containerName)') as unknown,
      });
      expect(RestoreRequest.safeParse({ ...base, engine: 'none' }).success).toBe(true);
    });

    it("a protected volume's drills use its protect config: engine, check and minimum", async () => {
      const policy = {
        allowedImages: ['redis'],
        volumes: [{ source: 'db1', volume: 'cache', verify: { engine: 'redis', check: 'DBSIZE', expectMinimum: 3 } }],
      };
      const started = await service(policy).drill(DrillRequest.parse({ source: 'db1', volume: 'cache', instanceId: INSTANCE }), 'schedule:test');
      expect(sent[0]?.parameters).toMatchObject({ Mode: 'drill', Verify: 'redis', VerifyQuery: 'DBSIZE', ExpectMinimum: '3', MountPath: '/data' });
      expect(started.plan.verification).toMatchObject({
        engine: 'redis',
        from: 'protect-config',
        check: { text: 'DBSIZE', from: 'protect config' },
        expectMinimum: { value: 3, from: 'protect config' },
      });
      // The completion handler judges the drill's answer against the same minimum.
      expect((await catalog.getRestore(started.restoreId))?.drill).toEqual({ volume: 'cache', expectMinimum: 3 });
      await catalog.releaseLock(INSTANCE, started.plan.volume, started.restoreId);

      // A request's own check replaces the configured one (and its minimum).
      const own = await service(policy).planDrill(
        DrillRequest.parse({ source: 'db1', volume: 'cache', instanceId: INSTANCE, check: 'EXISTS session:1' }),
        'r-x',
      );
      expect(own.parameters).toMatchObject({ Verify: 'redis', VerifyQuery: 'EXISTS session:1', ExpectMinimum: '' });
    });

    it('custom commands come only from the protect config: used there, refused in a request', async () => {
      const policy = {
        volumes: [
          { source: 'db1', volume: 'shop', verify: { engine: 'custom', health: 'healthcheck --quiet', check: 'shop-cli count orders', expectMinimum: 1 } },
        ],
      };
      const plan = await service(policy).plan(request({ volume: 'shop', containerName: 'shop-db' }));
      expect(plan.parameters).toMatchObject({
        Verify: 'custom',
        HealthCommand: 'healthcheck --quiet',
        VerifyQuery: 'shop-cli count orders',
        ExpectMinimum: '1',
      });
      expect(plan.verification).toMatchObject({ from: 'protect-config', health: ['healthcheck', '--quiet'], check: { argv: ['shop-cli', 'count', 'orders'] } });

      const health = RestoreRequest.safeParse({
        source: 'db1',
        volume: 'shop',
        instanceId: INSTANCE,
        containerName: 'db',
        engine: 'custom',
        health: 'sh -c id',
      });
      expect(health.error?.issues[0]).toMatchObject({ path: ['health'], message: expect.stringContaining("only from the volume's protect config") as unknown });
      const check = DrillRequest.safeParse({ source: 'db1', volume: 'shop', instanceId: INSTANCE, engine: 'custom', check: 'rm -rf /var/lib/mysql' });
      expect(check.error?.issues.map((i) => i.path)).toEqual([['check']]);
      // A request's check that passes another engine's rules is still never run as a custom command.
      await expect(service(policy).plan(request({ volume: 'shop', containerName: 'shop-db', check: 'select 1' }))).rejects.toMatchObject({
        statusCode: 400,
        message: expect.stringMatching(/^check: db1\/shop is verified by custom commands, which come only from its protect config/) as unknown,
      });
      await expect(service().plan(request({ volume: 'shop', containerName: 'shop-db', engine: 'custom' }))).rejects.toMatchObject({
        statusCode: 400,
        message: expect.stringMatching(/^engine: custom runs the health and check commands of the volume's protect config, and db1\/shop has none/) as unknown,
      });
      expect(sent).toEqual([]);
    });
  });

  describe('predicted time: from the volume’s earlier restores and drills, from the archive’s size', () => {
    const RTO_KEY = 'archives/db1/rto/20261127T031500Z.tar.zst';
    const sample = (at: string, bytes: number, phases: Record<string, number>) =>
      catalog.recordRestoreRate('db1', 'rto', { at, mode: 'restore', bytes, totalSeconds: Object.values(phases).reduce((a, b) => a + b, 0), phases });

    beforeAll(async () => {
      const base = manifest().container;
      if (!base) throw new Error('the base manifest has a container');
      // 200 MB now; earlier runs restored 100 MB and 50 MB archives of the same volume.
      await put({
        key: RTO_KEY,
        volume: 'rto',
        size: 200_000_000,
        sha256: SHA,
        manifest: manifest({ container: { ...base, name: '/rto-db', image: 'postgres:15' } }),
      });
      await put({ key: 'archives/db1/fresh/20261127T031500Z.tar.zst', volume: 'fresh', size: 200_000_000, sha256: SHA, manifest: manifest() });
      await sample('2026-11-20T03:00:00.000Z', 100_000_000, { preflight: 1, download: 60, extract: 55, swap: 0, start: 3, verify: 20 });
      await sample('2026-11-21T03:00:00.000Z', 50_000_000, { preflight: 1, download: 40, extract: 20, swap: 0, start: 5, verify: 10 });
      // Another volume's history says nothing about this one.
      await catalog.recordRestoreRate('db1', 'pgdata', {
        at: '2026-11-22T03:00:00.000Z',
        mode: 'drill',
        bytes: 1000,
        totalSeconds: 1,
        phases: { download: 1 },
      });
    });

    it('a plan with history predicts each phase: download and extract from this archive’s size, the others their median', async () => {
      const plan = await service().plan(request({ volume: 'rto', containerName: 'rto-db' }));
      // download: 0.4 s/MB (60 s at 100 MB, 40 s at 50 MB) with 20 s fixed → 100; extract: its fixed part
      // would be negative (−15 s), so scaled: 110 and 80 → 95; verify 20 and 10 → 15; start 3 and 5 → 4.
      expect(plan.predicted).toEqual({
        seconds: 215,
        phases: { preflight: 1, download: 100, extract: 95, swap: 0, start: 4, verify: 15 },
        basis: 'fixed part and rate of 2 earlier restores/drills of db1/rto (0.9 MB/s) scaled to 200000000 bytes',
      });
      // What the CLI prints, and what its --json keeps, from the plan as the API serializes it.
      const wire = JsonOutput.plan.parse(JSON.parse(JSON.stringify({ plan }))).plan;
      expect(wire.predicted).toEqual(plan.predicted);
      expect(planText(wire)).toContain(
        'Time:      predicted 3 min 35 s (preflight 1 s, download 1 min 40 s, extract 1 min 35 s, start 4 s, verify 15 s): fixed part and rate of 2 earlier restores/drills of db1/rto (0.9 MB/s) scaled to 200000000 bytes',
      );
    });

    it('a drill plan predicts from the protected volume’s history (not the throwaway volume’s name)', async () => {
      const plan = await service({ allowedImages: ['postgres'] }).planDrill(DrillRequest.parse({ source: 'db1', volume: 'rto', instanceId: INSTANCE }), 'r-x');
      expect(plan.volume).toBe('lifeboat-drill-x');
      expect(plan.predicted.seconds).toBe(215);
    });

    it('a volume never restored or drilled has no prediction, and the plan and the CLI say why', async () => {
      const plan = await service().plan(request({ volume: 'fresh' }));
      expect(plan.predicted).toEqual({ seconds: null, basis: 'no restore or drill of db1/fresh recorded yet' });
      expect(planText(plan)).toContain('Time:      no prediction yet: no restore or drill of db1/fresh recorded yet');
    });

    it('history that cannot be read leaves the plan without a prediction, saying so; the restore still starts', async () => {
      const failing = new Proxy(catalog, {
        get: (target, name, receiver) =>
          name === 'restoreRates'
            ? () => Promise.reject(new Error('ProvisionedThroughputExceededException'))
            : (Reflect.get(target, name, receiver) as unknown),
      });
      const flaky = new RestoreService(
        { catalog: failing, store, runner, instances: runner },
        { document: loadDocument('restore-volume'), helperImage: 'local/lifeboat-helper:1', policy: RestorePolicy.parse({}) },
      );
      const started = await flaky.start(request({ volume: 'rto', containerName: 'rto-db' }), 'arn:aws:iam::1:user/test');
      expect(started.plan.predicted).toEqual({ seconds: null, basis: 'the restore history of db1/rto could not be read just now' });
      expect(sent).toHaveLength(1);
      expect((await catalog.getRestore(started.restoreId))?.predictedSeconds).toBeNull();
      await catalog.releaseLock(INSTANCE, 'rto', started.restoreId);
    });

    it('a plan from an API older than the CLI (no prediction in it) still prints, saying why there is none', async () => {
      const plan = await service().plan(request({ volume: 'rto', containerName: 'rto-db' }));
      const older = JSON.parse(JSON.stringify({ plan })) as { plan: Record<string, unknown> };
      delete older.plan.predicted;
      const wire = JsonOutput.plan.parse(older).plan;
      expect(planText(wire)).toContain('Time:      no prediction yet: the Lifeboat API that answered is older than this CLI and predicts nothing');
    });

    it('a started restore keeps its prediction beside what the host will measure; the CLI shows both', async () => {
      const started = await service().start(request({ volume: 'rto', containerName: 'rto-db' }), 'arn:aws:iam::1:user/test');
      const record = await catalog.getRestore(started.restoreId);
      expect(record?.predictedSeconds).toBe(215);
      await catalog.releaseLock(INSTANCE, 'rto', started.restoreId);
      if (!record) throw new Error('recorded');
      const finished = { ...record, state: 'succeeded' as const, totalSeconds: 301.5, phases: { download: 150, extract: 110, verify: 41.5 } };
      expect(recordText(finished)).toContain(
        'took 301.5 s on the host: download 150.0 s, extract 110.0 s, verify 41.5 s\n  the plan predicted 215.0 s from earlier restores and drills of the volume',
      );
    });
  });
});
