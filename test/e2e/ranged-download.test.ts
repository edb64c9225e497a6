import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDocument } from '#core/runbooks/document.ts';
import { runDocument } from '#core/runbooks/local-runner.ts';
import { CancelResult } from '#core/runbooks/results.ts';
import { startThrottledS3, type ThrottledS3 } from '../../bench/support/throttled-s3.ts';
import { HELPER_IMAGE, docker, inVolume, recipeArchive, removeAll, uniqueName, volumeDigest, volumeExists } from './support/docker.ts';
import { explain, restore } from './support/runbooks.ts';

/**
 * The run's downloaders still alive (none must outlive it): a curl whose command line holds
 * `url`, or fetch.py, whose arguments hold the run's log prefix (its URL is in its environment).
 */
async function fetchersOf(url: string, restoreId: string): Promise<string[]> {
  const found: string[] = [];
  for (const pid of (await readdir('/proc')).filter((p) => /^\d+$/.test(p))) {
    const cmd = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if ((cmd.startsWith('curl') && cmd.includes(url)) || cmd.includes(`[lifeboat restore ${restoreId}] `)) found.push(pid);
  }
  return found;
}

// An archive of 3+ chunks of 32 MiB comes in ranges over DownloadConnections connections
// (runbooks/restore-volume/fetch.py), from the throttled S3 stand-in: the restore is the
// same as from one stream, and a cancel mid-download leaves no connection behind.
describe('a restore downloaded in ranges (the archive above 96 MiB)', () => {
  const source = uniqueName('src');
  let dir: string;
  let archive: Buffer;
  let digest: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lifeboat-ranges-'));
    await docker('volume', 'create', source);
    // Incompressible: the gzip archive stays above three chunks.
    await docker(
      'run',
      '--rm',
      '--network',
      'none',
      '-v',
      `${source}:/data`,
      '--entrypoint',
      '/bin/sh',
      HELPER_IMAGE,
      '-c',
      'head -c 110000000 /dev/urandom >/data/blob && echo small >/data/note',
    );
    await recipeArchive(source, dir, 'a.tar.gz');
    archive = await readFile(join(dir, 'a.tar.gz'));
    digest = await volumeDigest(source);
  }, 180_000);
  afterAll(async () => {
    await removeAll([], [source]);
    await rm(dir, { recursive: true, force: true });
  });

  it('restores the same data as the source, over the connections asked for at once', async () => {
    expect(archive.length).toBeGreaterThan(3 * 32 * 1024 * 1024);
    const s3: ThrottledS3 = await startThrottledS3({ body: archive, bytesPerSecond: 30_000_000 });
    const volume = uniqueName('v');
    try {
      const sha = createHash('sha256').update(archive).digest('hex');
      const outcome = await restore({
        ArchiveUrl: s3.url,
        VolumeName: volume,
        Verify: 'none',
        ExpectedArchiveBytes: archive.length.toString(),
        ExpectedSha256: sha,
        DownloadConnections: '3',
      });
      expect(outcome.result, explain(outcome)).toMatchObject({ outcome: 'succeeded', bytes: archive.length, sha256: sha });
      expect(await volumeDigest(volume)).toBe(digest);
      expect((await inVolume(volume, 'cat /data/note')).trim()).toBe('small');
      const ranges = s3.requests.filter((r) => r.status === 206 && r.end !== null);
      expect(ranges.map((r) => r.start)).toEqual(expect.arrayContaining([0, 32 << 20, 64 << 20, 96 << 20]));
      expect(s3.maxConcurrent).toBe(3);
    } finally {
      await s3.close();
      await removeAll([], [volume]);
    }
  });

  it('the cancel-restore document mid-download (TERM to the script alone): no downloader, no connection left; the volume is removed', async () => {
    // 1 MB/s a connection: a 32 MiB range takes half a minute, far longer than the test waits.
    const s3 = await startThrottledS3({ body: archive, bytesPerSecond: 1_000_000 });
    const volume = uniqueName('v');
    const restoreId = uniqueName('r');
    try {
      const running = restore({
        RestoreId: restoreId,
        ArchiveUrl: s3.url,
        VolumeName: volume,
        Verify: 'none',
        ExpectedArchiveBytes: archive.length.toString(),
        DownloadConnections: '3',
      });
      for (let i = 0; i < 600 && s3.active < 3; i++) await new Promise((r) => setTimeout(r, 100));
      expect(s3.active).toBe(3);
      expect(await fetchersOf(s3.url, restoreId)).toHaveLength(1); // fetch.py (the check below can see it)

      const cancelled = await runDocument(loadDocument('cancel-restore'), { RestoreId: restoreId, WaitSeconds: '120' }, CancelResult);
      const outcome = await running;
      expect(cancelled.result, explain(cancelled)).toMatchObject({ outcome: 'stopped' });
      expect(outcome.result, explain(outcome)).toMatchObject({ outcome: 'failed', failedPhase: 'download' });
      expect(outcome.result?.error).toMatch(/^interrupted by a signal/);
      expect(await fetchersOf(s3.url, restoreId)).toEqual([]);
      for (let i = 0; i < 50 && s3.active > 0; i++) await new Promise((r) => setTimeout(r, 100));
      expect(s3.active).toBe(0);
      expect(await volumeExists(volume)).toBe(false);
    } finally {
      await s3.close();
      await removeAll([], [volume]);
    }
  });
});
