import { describe, expect, it } from 'vitest';
import { ArchiveManifest, UnsafeSpecError, recreateParameters, type ContainerSpec } from '#core/manifest.ts';
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
    ['mounts', { mounts: [...spec.mounts, { type: 'bind', source: '/', destination: '/host', readOnly: false }] }],
    ['mounts', { mounts: [{ type: 'bind', source: '/var/run/docker.sock', destination: '/var/run/docker.sock', readOnly: false }] }],
    [
      'mounts',
      {
        mounts: [
          ...spec.mounts,
          { type: 'volume', name: 'billing-data', source: '/var/lib/docker/volumes/billing-data/_data', destination: '/other', readOnly: false },
        ],
      },
    ],
  ])('refuses a tampered manifest that widens privileges: %s', (field, change) => {
    const tampered = { ...manifest, container: { ...spec, ...change } };
    expect(() => recreateParameters(tampered)).toThrow(UnsafeSpecError);
    expect(() => recreateParameters(tampered)).toThrow(new RegExp(`container\\.${field}`));
  });
});
