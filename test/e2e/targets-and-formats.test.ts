import { mkdtemp, readFile, rm, stat, writeFile, mkdir, readdir, rename } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import {
  HELPER_IMAGE,
  PGDATA,
  POSTGRES_IMAGE,
  containerState,
  docker,
  inVolume,
  initPostgresVolume,
  psql,
  removeAll,
  rowsFingerprint,
  seedRows,
  startPostgres,
  stoppedDatabase,
  uniqueName,
  volumeDigest,
  volumeRootStat,
} from './support/docker.ts';
import { startLocalS3, type LocalS3 } from '#core/local/s3.ts';
import { backup, explain, restore } from './support/runbooks.ts';

describe('archive formats, sub-paths and bind-mounted targets', () => {
  const source = uniqueName('src');
  const sourceDb = uniqueName('srcdb');
  const made: { containers: string[]; volumes: string[] } = { containers: [sourceDb], volumes: [source] };
  let s3: LocalS3;
  let dir: string;
  let rows: string;
  let sourceDigest: string;
  let sourceRoot: string;

  beforeAll(async () => {
    s3 = await startLocalS3();
    dir = await mkdtemp(join(tmpdir(), 'lifeboat-fmt-'));
    rows = await stoppedDatabase(source, sourceDb, 2000);
    sourceDigest = await volumeDigest(source);
    sourceRoot = await volumeRootStat(source);
    // Plain tar, zstd tar, and a tar.gz whose data sits under backup/pgdata/ (as other tools make them).
    const sh = [
      'set -e',
      '/usr/bin/tar -C /data -cf /out/plain.tar --numeric-owner .',
      '/usr/bin/tar -C /data -cf - --numeric-owner . | /usr/bin/zstd -q -c > /out/data.tar.zst',
      'mkdir -p /tmp/stage/backup && ln -s /data /tmp/stage/backup/pgdata',
      '/usr/bin/tar -C /tmp/stage -czhf /out/nested.tar.gz --numeric-owner backup',
    ].join('\n');
    await docker(
      'run',
      '--rm',
      '--network',
      'none',
      '--tmpfs',
      '/tmp',
      '-v',
      `${source}:/data:ro`,
      '-v',
      `${dir}:/out`,
      '--entrypoint',
      '/bin/sh',
      HELPER_IMAGE,
      '-c',
      sh,
    );
    for (const f of await readdir(dir)) await s3.put(`archives/h/pgdata/${f}`, await readFile(join(dir, f)));
  });

  afterAll(async () => {
    await removeAll(made.containers, made.volumes);
    await s3.close();
    await rm(dir, { recursive: true, force: true });
  });

  it.each([
    ['plain.tar', 'none', ''],
    ['data.tar.zst', 'zstd', ''],
    ['nested.tar.gz', 'gzip', 'backup/pgdata'],
  ])('%s restores with owners and modes intact (compression %s, sub-path %j)', async (file, compression, subPath) => {
    const volume = uniqueName('v');
    made.volumes.push(volume);
    const outcome = await restore({ ArchiveUrl: await s3.presignGet(`archives/h/pgdata/${file}`), VolumeName: volume, ArchiveSubPath: subPath });
    expect(outcome.exitCode, explain(outcome)).toBe(0);
    expect(outcome.result).toMatchObject({ outcome: 'succeeded', compression, containerAction: 'none' });
    expect(await volumeRootStat(volume)).toBe(sourceRoot);
    expect((await inVolume(volume, 'cat /data/PG_VERSION; find /data | wc -l')).split('\n').slice(0, 2)).toEqual(['15', expect.stringMatching(/^\d{3,}$/)]);
    // The nested archive was made through a symlink: the tree is identical, the root's mtime is not carried.
    if (subPath === '') expect(await volumeDigest(volume)).toBe(sourceDigest);
  });

  it('a sub-path that is not in the archive fails and leaves nothing behind', async () => {
    const volume = uniqueName('v');
    const outcome = await restore({ ArchiveUrl: await s3.presignGet('archives/h/pgdata/nested.tar.gz'), VolumeName: volume, ArchiveSubPath: 'backup/other' });
    expect(outcome.result).toMatchObject({ outcome: 'failed', failedPhase: 'extract' });
    expect(outcome.result?.error).toContain('archive has no directory backup/other');
    expect((await docker('volume', 'ls', '-q')).split('\n')).not.toContain(volume);
  });

  it('restores into a bind-mounted host directory; with preserve the old directory is kept under the reported name', async () => {
    // Host paths live outside shared directories such as /tmp, under root-owned ancestors.
    const base = `/srv/${uniqueName('fmt')}`;
    onTestFinished(() => rm(base, { recursive: true, force: true }));
    const hostDir = join(base, 'pgdata');
    await mkdir(hostDir, { recursive: true });
    await writeFile(join(hostDir, 'old-file'), 'old data\n');
    const db = uniqueName('binddb');
    made.containers.push(db);

    const outcome = await restore({
      ArchiveUrl: await s3.presignGet('archives/h/pgdata/data.tar.zst'),
      VolumeName: '',
      HostPath: hostDir,
      IfVolumeExists: 'preserve',
      ContainerName: db,
      ContainerImage: POSTGRES_IMAGE,
      MountPath: PGDATA,
      ContainerNetwork: 'none',
      ShmSize: '128m',
    });

    expect(outcome.exitCode, explain(outcome)).toBe(0);
    expect(outcome.result).toMatchObject({ outcome: 'succeeded', hostPath: hostDir, containerAction: 'created' });
    expect(outcome.result?.preservedVolume).toMatch(/pgdata\.pre-restore\./);
    expect(await readFile(join(outcome.result?.preservedVolume ?? '', 'old-file'), 'utf8')).toBe('old data\n');
    expect((await stat(hostDir)).mode & 0o777).toBe(0o700);
    expect(await rowsFingerprint(db)).toBe(rows);
    expect(await containerState(db)).toBe('running');
    expect((await readdir(base)).filter((f) => f.startsWith('.lifeboat'))).toEqual([]);
  });

  it('a host directory moved aside by hand while its database runs on: the database is stopped, and answers from the restored data', async () => {
    const base = `/srv/${uniqueName('moved')}`;
    onTestFinished(() => rm(base, { recursive: true, force: true }));
    const hostDir = join(base, 'pgdata');
    const db = uniqueName('moveddb');
    made.containers.push(db);
    const target = { ArchiveUrl: await s3.presignGet('archives/h/pgdata/data.tar.zst'), VolumeName: '', HostPath: hostDir, ContainerName: db };
    const first = await restore({ ...target, ContainerImage: POSTGRES_IMAGE, MountPath: PGDATA, ContainerNetwork: 'none', ShmSize: '128m' });
    expect(first.exitCode, explain(first)).toBe(0);
    // A write after the backup, then the directory moved aside: the database runs on in it.
    await psql(db, "insert into lifeboat_test values (1000001, 'after the backup'); checkpoint;");
    await rename(hostDir, `${hostDir}.broken`);
    expect(await containerState(db)).toBe('running');

    const outcome = await restore(target);

    expect(outcome.exitCode, explain(outcome)).toBe(0);
    expect(outcome.result).toMatchObject({ outcome: 'succeeded', hostPath: hostDir, containerAction: 'restarted' });
    expect(await rowsFingerprint(db)).toBe(rows);
    expect(await readdir(`${hostDir}.broken`)).toContain('PG_VERSION'); // never touched
  });

  it('a host directory that is a mount point (a data disk) is refused before anything changes', async () => {
    const base = `/srv/${uniqueName('mnt')}`;
    const hostDir = join(base, 'pgdata');
    await mkdir(hostDir, { recursive: true });
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=16m', 'tmpfs', hostDir]);
    onTestFinished(async () => {
      execFileSync('umount', [hostDir]);
      await rm(base, { recursive: true, force: true });
    });
    await writeFile(join(hostDir, 'old-file'), 'old data\n');

    const outcome = await restore({
      ArchiveUrl: await s3.presignGet('archives/h/pgdata/data.tar.zst'),
      VolumeName: '',
      HostPath: hostDir,
      IfVolumeExists: 'preserve',
    });

    expect(outcome.result).toMatchObject({ outcome: 'refused', preservedVolume: null });
    expect(outcome.result?.error).toContain('is a mount point');
    expect(await readdir(hostDir)).toEqual(['old-file']);
    expect(await readdir(base)).toEqual(['pgdata']);
  });

  it('a volume holding a Unix socket (a database’s, in its data directory) is restored with preserve: sockets hold no data', async () => {
    const volume = uniqueName('sock');
    made.volumes.push(volume);
    const target = { ArchiveUrl: await s3.presignGet('archives/h/pgdata/data.tar.zst'), VolumeName: volume };
    expect((await restore(target)).result).toMatchObject({ outcome: 'succeeded' });
    const mountpoint = (await docker('volume', 'inspect', '-f', '{{.Mountpoint}}', volume)).trim();
    execFileSync('python3', ['-c', 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])', join(mountpoint, '.s.PGSQL.5432')]);

    const outcome = await restore({ ...target, IfVolumeExists: 'preserve' });

    expect(outcome.exitCode, explain(outcome)).toBe(0);
    expect(outcome.result?.preservedVolume).toMatch(/\.pre-restore\./);
    made.volumes.push(outcome.result?.preservedVolume ?? '');
    expect(await volumeDigest(volume)).toBe(sourceDigest);
  });

  it('a health command that never returns is bounded by StartTimeoutSeconds: the run fails, rolls back and reports', { timeout: 120_000 }, async () => {
    const volume = uniqueName('hang');
    const db = uniqueName('hangdb');
    made.volumes.push(volume);
    made.containers.push(db);
    const outcome = await restore({
      ArchiveUrl: await s3.presignGet('archives/h/pgdata/data.tar.zst'),
      VolumeName: volume,
      ContainerName: db,
      ContainerImage: POSTGRES_IMAGE,
      MountPath: PGDATA,
      ContainerNetwork: 'none',
      ShmSize: '128m',
      Verify: 'custom',
      HealthCommand: 'sleep 600',
      StartTimeoutSeconds: '3',
    });
    expect(outcome.result).toMatchObject({ outcome: 'failed', failedPhase: 'verify', rolledBack: expect.any(Boolean) as unknown });
    expect(outcome.result?.error).toContain('custom did not answer within 3s');
    expect(await containerState(db)).toBeUndefined();
  });
});

describe('backup consistency', () => {
  const volume = uniqueName('pgdata');
  const db = uniqueName('db');
  let s3: LocalS3;

  beforeAll(async () => {
    s3 = await startLocalS3();
    await initPostgresVolume(volume);
    await startPostgres(db, volume);
    await seedRows(db, 100);
  });
  afterAll(async () => {
    await removeAll([db], [volume]);
    await s3.close();
  });

  it('Consistency=stop restarts the database after a successful backup', async () => {
    const outcome = await backup(s3, { VolumeName: volume, ContainerName: db, Consistency: 'stop' });
    expect(outcome.exitCode, explain(outcome)).toBe(0);
    expect(outcome.result?.containerFrozenSeconds).toBeGreaterThan(0);
    expect(await containerState(db)).toBe('running');
  });

  it.each(['stop', 'pause'])('Consistency=%s: the database is running again even when the upload fails', async (consistency) => {
    const outcome = await backup(s3, { VolumeName: volume, ContainerName: db, Consistency: consistency, Bucket: 'no-such-bucket' });
    expect(outcome.exitCode).toBe(1);
    expect(outcome.result).toMatchObject({ outcome: 'failed', failedPhase: 'archive', archiveKey: null });
    expect(outcome.result?.error).toContain('upload to s3://no-such-bucket/');
    expect(await containerState(db)).toBe('running');
  });

  it('backs up a host directory (bind target) and the archive restores into a volume with the same files', async () => {
    const hostDir = `/srv/${uniqueName('hostdir')}`; // not under /tmp: shared directories are never backed up
    const target = uniqueName('fromdir');
    try {
      await mkdir(join(hostDir, 'data', 'sub'), { recursive: true });
      await writeFile(join(hostDir, 'data', 'sub', 'file.txt'), 'kept in a host directory\n');
      const taken = await backup(s3, { VolumeName: '', HostPath: join(hostDir, 'data'), Consistency: 'none' });
      expect(taken.exitCode, explain(taken)).toBe(0);
      expect(taken.result?.archiveKey).toMatch(/^archives\/e2e-host\/data\/\d{8}T\d{6}Z\.tar\.zst$/);
      const manifest = JSON.parse((await s3.get(taken.result?.manifestKey ?? '')).toString('utf8')) as { hostPath: string; volume: unknown; fileCount: number };
      expect(manifest).toMatchObject({ hostPath: join(hostDir, 'data'), volume: null, fileCount: 2 });
      const restored = await restore({
        ArchiveUrl: await s3.presignGet(taken.result?.archiveKey ?? ''),
        ExpectedSha256: taken.result?.sha256 ?? '',
        VolumeName: target,
      });
      expect(restored.exitCode, explain(restored)).toBe(0);
      expect((await inVolume(target, 'cat /data/sub/file.txt')).trim()).toBe('kept in a host directory');
    } finally {
      await removeAll([], [target]);
      await rm(hostDir, { recursive: true, force: true });
    }
  });

  it('a missing volume is refused with its name', async () => {
    const outcome = await backup(s3, { VolumeName: 'lbt-no-such-volume' });
    expect(outcome.result).toMatchObject({ outcome: 'refused', failedPhase: 'preflight', error: 'volume lbt-no-such-volume does not exist on this host' });
  });
});
