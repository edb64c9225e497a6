import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  HELPER_IMAGE,
  PGDATA,
  POSTGRES_IMAGE,
  containerState,
  containersWithLabel,
  docker,
  recipeArchive,
  removeAll,
  rowsFingerprint,
  stoppedDatabase,
  uniqueName,
  volumeDigest,
  volumeExists,
  volumesWithLabel,
  waitForPostgres,
} from './support/docker.ts';
import { startLocalS3, type LocalS3 } from '#core/local/s3.ts';
import { explain, restore } from './support/runbooks.ts';
import { snapshotHost } from './support/host.ts';

// Every fault must leave the host as it was: existing volumes byte-identical,
// containers in the same state, nothing left behind, and a clear error.
describe('restore faults leave the host as it was', () => {
  const prodVolume = uniqueName('prod');
  const prodDb = uniqueName('proddb');
  const sourceVolume = uniqueName('src');
  const sourceDb = uniqueName('srcdb');
  const absentVolume = uniqueName('new');
  const newDb = uniqueName('newdb');
  let s3: LocalS3;
  let dir: string;
  let prodRows: string;
  let archiveRows: string;
  let good: Buffer;
  const key = (name: string): string => `archives/h/${prodVolume}/${name}`;

  beforeAll(async () => {
    s3 = await startLocalS3();
    dir = await mkdtemp(join(tmpdir(), 'lifeboat-faults-'));
    // Production: a database with its own rows, stopped so its bytes are still.
    prodRows = await stoppedDatabase(prodVolume, prodDb, 1000);
    // The archive to restore: another database with other rows.
    archiveRows = await stoppedDatabase(sourceVolume, sourceDb, 3000);
    await recipeArchive(sourceVolume, dir, 'good.tar.gz');
    good = await readFile(join(dir, 'good.tar.gz'));
    await s3.put(key('good.tar.gz'), good);
    await s3.put(key('truncated.tar.gz'), good.subarray(0, Math.floor(good.length / 2)));
    // A well-formed archive that is not a database: PostgreSQL will refuse to start on it.
    await writeFile(join(dir, 'garbage.txt'), 'not a database\n');
    await docker(
      'run',
      '--rm',
      '--network',
      'none',
      '-v',
      `${dir}:/backup`,
      HELPER_IMAGE,
      'tar',
      'czf',
      '/backup/garbage.tar.gz',
      '-C',
      '/backup',
      'garbage.txt',
    );
    await s3.put(key('garbage.tar.gz'), await readFile(join(dir, 'garbage.tar.gz')));
  });

  afterAll(async () => {
    const preserved = await volumesWithLabel('lifeboat.role=preserved');
    await removeAll([prodDb, sourceDb, newDb], [prodVolume, sourceVolume, absentVolume, ...preserved.filter((v) => v.startsWith(prodVolume))]);
    await s3.close();
    await rm(dir, { recursive: true, force: true });
  });

  const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

  async function expectNoLeftovers(restoreId: string): Promise<void> {
    expect(await volumesWithLabel(`lifeboat.restore-id=${restoreId}`)).toEqual([]);
    expect(await containersWithLabel(`lifeboat.restore-id=${restoreId}`)).toEqual([]);
  }

  it('checksum mismatch: nothing is created and the error names both checksums', async () => {
    const before = await snapshotHost([prodVolume]);
    const wrong = 'a'.repeat(64);
    const outcome = await restore({
      RestoreId: 'checksum-1',
      ArchiveUrl: await s3.presignGet(key('good.tar.gz')),
      ExpectedSha256: wrong,
      VolumeName: absentVolume,
      ContainerName: newDb,
      ContainerImage: 'local/postgres:15',
      ContainerNetwork: 'none',
    });
    expect(outcome.exitCode).toBe(1);
    expect(outcome.result).toMatchObject({ outcome: 'failed', failedPhase: 'download', sha256: sha(good) });
    expect(outcome.result?.error).toContain(`expected ${wrong}`);
    expect(await volumeExists(absentVolume)).toBe(false);
    expect(await containerState(newDb)).toBeUndefined();
    expect(await snapshotHost([prodVolume])).toEqual(before);
    await expectNoLeftovers('checksum-1');
  });

  it('truncated archive: extraction fails, the new volume is removed', async () => {
    const before = await snapshotHost([prodVolume]);
    const outcome = await restore({
      RestoreId: 'truncated-1',
      ArchiveUrl: await s3.presignGet(key('truncated.tar.gz')),
      VolumeName: absentVolume,
      Verify: 'none',
    });
    expect(outcome.exitCode).toBe(1);
    expect(outcome.result).toMatchObject({ outcome: 'failed', failedPhase: 'extract' });
    expect(outcome.result?.error).toMatch(/extract failed \(helper exit \d+\): .*(unexpected end|Unexpected EOF)/i);
    expect(await snapshotHost([prodVolume])).toEqual(before);
    await expectNoLeftovers('truncated-1');
  });

  it('archive URL answers 404: refused before anything is created', async () => {
    const before = await snapshotHost([prodVolume]);
    const outcome = await restore({ RestoreId: 'missing-1', ArchiveUrl: await s3.presignGet(key('no-such.tar.gz')), VolumeName: absentVolume, Verify: 'none' });
    expect(outcome.exitCode).toBe(1);
    expect(outcome.result).toMatchObject({ outcome: 'failed', failedPhase: 'download', bytes: 0 });
    expect(outcome.result?.error).toContain('HTTP 404');
    expect(await snapshotHost([prodVolume])).toEqual(before);
    await expectNoLeftovers('missing-1');
  });

  // (s3rver checks a presigned URL's expiry but not its signature: a tampered URL is a 403 on S3, the same path.)
  it('archive URL answers 403 (expired presigned URL): refused before anything is created, the error says why', async () => {
    const before = await snapshotHost([prodVolume]);
    const url = await s3.presignGet(key('good.tar.gz'), 1);
    await new Promise((r) => setTimeout(r, 2100));
    const outcome = await restore({ RestoreId: 'forbidden-1', ArchiveUrl: url, VolumeName: absentVolume, Verify: 'none' });
    expect(outcome.result).toMatchObject({ outcome: 'failed', failedPhase: 'download', bytes: 0 });
    expect(outcome.result?.error).toContain('HTTP 403 (expired or wrong presigned URL?)');
    expect(await snapshotHost([prodVolume])).toEqual(before);
    expect(await volumeExists(absentVolume)).toBe(false);
    await expectNoLeftovers('forbidden-1');
  });

  it('non-empty target with IfVolumeExists=fail: refused, the running database is untouched', async () => {
    await docker('start', prodDb);
    await waitForPostgres(prodDb);
    const outcome = await restore({
      RestoreId: 'refuse-1',
      ArchiveUrl: await s3.presignGet(key('good.tar.gz')),
      VolumeName: prodVolume,
      ContainerName: prodDb,
      IfVolumeExists: 'fail',
    });
    expect(outcome.exitCode).toBe(1);
    expect(outcome.result).toMatchObject({ outcome: 'refused', failedPhase: 'preflight', bytes: 0 });
    expect(outcome.result?.error).toContain('already holds data');
    expect(outcome.result?.error).toContain('IfVolumeExists=preserve');
    expect(await containerState(prodDb)).toBe('running');
    expect(await rowsFingerprint(prodDb)).toBe(prodRows);
    await docker('stop', prodDb);
    // And with the database stopped, the bytes themselves are proven unchanged.
    const before = await snapshotHost([prodVolume]);
    const again = await restore({ RestoreId: 'refuse-2', ArchiveUrl: await s3.presignGet(key('good.tar.gz')), VolumeName: prodVolume, ContainerName: prodDb });
    expect(again.result?.outcome).toBe('refused');
    expect(await snapshotHost([prodVolume])).toEqual(before);
    await expectNoLeftovers('refuse-2');
  });

  it('disk full mid-extract (2 MiB tmpfs volume): failure reported, the volume is removed', async () => {
    const before = await snapshotHost([prodVolume]);
    const outcome = await restore({
      RestoreId: 'diskfull-1',
      ArchiveUrl: await s3.presignGet(key('good.tar.gz')),
      VolumeName: absentVolume,
      VolumeDriverOpts: 'type=tmpfs device=tmpfs o=size=2m',
      Verify: 'none',
    });
    expect(outcome.exitCode).toBe(1);
    expect(outcome.result).toMatchObject({ outcome: 'failed', failedPhase: 'extract' });
    // Whichever sees it first: tar's ENOSPC, or the host's watch on the filesystem (df every 0.5 s).
    expect(outcome.result?.error).toMatch(/No space left on device|came within a twentieth of its size or inodes \(1 GiB at most\) of full/);
    expect(await snapshotHost([prodVolume])).toEqual(before);
    await expectNoLeftovers('diskfull-1');
  });

  it('database fails to start on the restored data: rolled back, old data live again and also kept in the preserved copy', async () => {
    const before = await snapshotHost([prodVolume]);
    const outcome = await restore({
      RestoreId: 'nostart-1',
      ArchiveUrl: await s3.presignGet(key('garbage.tar.gz')),
      VolumeName: prodVolume,
      ContainerName: prodDb,
      IfVolumeExists: 'preserve',
      // Named: with auto, data that shows no engine is refused before it goes live (see the next test).
      Verify: 'postgres',
      StartTimeoutSeconds: '30',
    });
    expect(outcome.exitCode, explain(outcome)).toBe(1);
    expect(outcome.result).toMatchObject({
      outcome: 'failed',
      failedPhase: 'verify',
      rolledBack: true,
      preservedVolume: `${prodVolume}.pre-restore.nostart-1`,
    });
    expect(outcome.result?.error).toContain(`container ${prodDb} is exited`);
    const preserved = `${prodVolume}.pre-restore.nostart-1`;
    expect(await volumeDigest(prodVolume)).toBe(before.digests[prodVolume]);
    expect(await volumeDigest(preserved)).toBe(before.digests[prodVolume]);
    expect(await volumesWithLabel('lifeboat.role=staging')).toEqual([]);
    expect(await containerState(prodDb)).toBe('exited'); // as it was before
    await docker('start', prodDb);
    await waitForPostgres(prodDb);
    expect(await rowsFingerprint(prodDb)).toBe(prodRows);
    await docker('stop', prodDb);
    await docker('volume', 'rm', preserved);
  });

  it('Verify=auto and data that shows no engine: refused before the data goes live, the old data untouched', async () => {
    const before = await snapshotHost([prodVolume]);
    const outcome = await restore({
      RestoreId: 'noengine-1',
      ArchiveUrl: await s3.presignGet(key('garbage.tar.gz')),
      VolumeName: prodVolume,
      ContainerName: prodDb,
      IfVolumeExists: 'preserve',
    });
    expect(outcome.result, explain(outcome)).toMatchObject({ outcome: 'refused', engine: null });
    expect(outcome.result?.error).toMatch(/^Verify=auto: the restored data does not show which engine it is/);
    expect(await volumeDigest(prodVolume)).toBe(before.digests[prodVolume]);
    expect(await volumesWithLabel('lifeboat.role=staging')).toEqual([]);
    expect(await volumeExists(`${prodVolume}.pre-restore.noengine-1`)).toBe(false);
  });

  // Fault: the database answers once, then crashes (a bad page at startup, an OOM kill).
  it('database answers, then its container dies within the settle window: rolled back, old data live again, the record says why', async () => {
    const crashVolume = uniqueName('crash');
    const crashDb = uniqueName('crashdb');
    try {
      await stoppedDatabase(crashVolume, crashDb, 200);
      // Same data, but a container whose database goes away 5 s after starting.
      await docker('rm', crashDb);
      await docker(
        'create',
        '--name',
        crashDb,
        '--network',
        'none',
        '--shm-size',
        '256m',
        '--mount',
        `type=volume,src=${crashVolume},dst=${PGDATA}`,
        '--entrypoint',
        '/bin/sh',
        POSTGRES_IMAGE,
        '-c',
        `postgres -D ${PGDATA} & sleep 5; exit 1`,
      );
      const before = await snapshotHost([crashVolume]);
      const outcome = await restore({
        RestoreId: 'crash-1',
        ArchiveUrl: await s3.presignGet(key('good.tar.gz')),
        VolumeName: crashVolume,
        ContainerName: crashDb,
        IfVolumeExists: 'preserve',
        StartTimeoutSeconds: '30',
        VerifySettleSeconds: '8',
      });
      expect(outcome.exitCode, explain(outcome)).toBe(1);
      const preserved = `${crashVolume}.pre-restore.crash-1`;
      expect(outcome.result).toMatchObject({ outcome: 'failed', failedPhase: 'verify', rolledBack: true, preservedVolume: preserved });
      expect(outcome.result?.verifyOutput).toBe('1'); // it did answer first
      expect(outcome.result?.error).toContain(`container ${crashDb} answered, then stopped or restarted within 8s`);
      // The old data is back in place, and also still in the preserved copy (as with any rollback).
      expect(await volumeDigest(crashVolume)).toBe(before.digests[crashVolume]);
      expect(await volumeDigest(preserved)).toBe(before.digests[crashVolume]);
      expect(await volumesWithLabel('lifeboat.role=staging')).toEqual([]);
      expect(await containersWithLabel('lifeboat.restore-id=crash-1')).toEqual([]);
    } finally {
      await removeAll([crashDb], [crashVolume, `${crashVolume}.pre-restore.crash-1`]);
    }
  });

  it('IfVolumeExists=preserve: the new data goes live and the old data is kept byte for byte under the reported name', async () => {
    const before = await snapshotHost([prodVolume]);
    const outcome = await restore({
      RestoreId: 'preserve-1',
      ArchiveUrl: await s3.presignGet(key('good.tar.gz')),
      ExpectedSha256: sha(good),
      VolumeName: prodVolume,
      ContainerName: prodDb,
      MountPath: PGDATA,
      IfVolumeExists: 'preserve',
    });
    expect(outcome.exitCode, explain(outcome)).toBe(0);
    const preserved = outcome.result?.preservedVolume ?? '';
    expect(outcome.result).toMatchObject({ outcome: 'succeeded', containerAction: 'restarted', rolledBack: false });
    expect(preserved).toBe(`${prodVolume}.pre-restore.preserve-1`);
    expect(await rowsFingerprint(prodDb)).toBe(archiveRows);
    expect(await volumeDigest(preserved)).toBe(before.digests[prodVolume]);
    const labels = JSON.parse(await docker('volume', 'inspect', '-f', '{{json .Labels}}', preserved)) as Record<string, string>;
    expect(labels).toMatchObject({ 'lifeboat.role': 'preserved', 'lifeboat.restore-id': 'preserve-1', 'lifeboat.target': prodVolume });
    expect(await volumesWithLabel('lifeboat.role=staging')).toEqual([]);
  });
});
