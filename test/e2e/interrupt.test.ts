import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import {
  HELPER_IMAGE,
  containerState,
  containersWithLabel,
  docker,
  inVolume,
  initPostgresVolume,
  recipeArchive,
  removeAll,
  uniqueName,
  volumeDigest,
  volumeExists,
  volumesWithLabel,
} from './support/docker.ts';
import { exec, run } from './support/exec.ts';
import { backup, explain, restore, restoreDocument } from './support/runbooks.ts';
import { slowArchiveServer, type SlowArchiveServer } from './support/slow-server.ts';
import { runDocument } from '#core/runbooks/local-runner.ts';
import { RestoreResult } from '#core/runbooks/results.ts';
import { startLocalS3, type LocalS3 } from '#core/local/s3.ts';

/** Entries in a volume (0 when it does not exist: looking never creates it). */
const inVolumeCount = async (volume: string): Promise<number> =>
  (await volumeExists(volume)) ? Number((await inVolume(volume, 'find /data -mindepth 1 | wc -l')).trim()) : 0;

// SSM stops a command at its timeout or on cancel with SIGTERM. The restore must
// stop promptly and clean up, not finish a long transfer first.
describe('a restore interrupted mid-transfer (SSM timeout or cancel)', () => {
  const source = uniqueName('src');
  let slow: SlowArchiveServer;
  let url: string;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lifeboat-int-'));
    await initPostgresVolume(source);
    await recipeArchive(source, dir, 'a.tar.gz');
    const archive = await readFile(join(dir, 'a.tar.gz'));
    slow = await slowArchiveServer(archive);
    url = slow.url('archives/h/v/slow.tar.gz');
  });

  afterAll(async () => {
    await slow.close();
    await removeAll([], [source]);
    await rm(dir, { recursive: true, force: true });
  });

  it('stops at the signal, reports the interruption, and removes the volume and helper it created', async () => {
    const volume = uniqueName('v');
    const started = Date.now();
    const outcome = await restore({ RestoreId: 'interrupt-1', ArchiveUrl: url, VolumeName: volume, Verify: 'none' }, { timeoutSeconds: 6 });
    const elapsed = Date.now() - started;

    expect(outcome.timedOut).toBe(true);
    expect(outcome.result).toMatchObject({ outcome: 'failed', failedPhase: 'download' });
    expect(outcome.result?.error).toContain('interrupted by a signal');
    expect(elapsed).toBeLessThan(30_000); // the transfer alone would take minutes
    expect(await volumeExists(volume)).toBe(false);
    expect(await volumesWithLabel('lifeboat.restore-id=interrupt-1')).toEqual([]);
    expect(await containersWithLabel('lifeboat.restore-id=interrupt-1')).toEqual([]);
  });

  // Threat: SSM redelivers, the SDK retries a SendCommand that did reach SSM, or
  // a scheduled backup fires mid-restore. `docker volume create` returns an
  // existing volume, so a second restore would merge into the first's.
  it('a second restore, or a backup, of a volume being restored is refused at once and changes nothing', async () => {
    const volume = uniqueName('v');
    const s3 = await startLocalS3();
    try {
      const first = restore({ RestoreId: 'lock-first', ArchiveUrl: url, VolumeName: volume, Verify: 'none' }, { timeoutSeconds: 15 });
      for (let i = 0; i < 100 && (await containersWithLabel('lifeboat.restore-id=lock-first')).length === 0; i++) await new Promise((r) => setTimeout(r, 100));
      expect(await containersWithLabel('lifeboat.restore-id=lock-first')).not.toEqual([]);

      const second = await restore({ RestoreId: 'lock-second', ArchiveUrl: url, VolumeName: volume, Verify: 'none' }, { timeoutSeconds: 30 });
      expect(second.result).toMatchObject({ outcome: 'refused', failedPhase: 'preflight' });
      expect(second.result?.error).toContain(`another Lifeboat restore or backup of ${volume} is running on this host`);
      const during = await backup(s3, { BackupId: 'lock-backup', VolumeName: volume }, { timeoutSeconds: 30 });
      expect(during.result).toMatchObject({ outcome: 'refused', archiveKey: null });
      expect(during.result?.error).toContain('another Lifeboat restore or backup');
      const listed = await s3.client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: 'archives/' }));
      expect(listed.KeyCount ?? 0).toBe(0);
      expect(await containersWithLabel('lifeboat.restore-id=lock-second')).toEqual([]);

      // The first run is untouched by the refusals: it goes on until its own timeout, then cleans up.
      const firstOutcome = await first;
      expect(firstOutcome.result?.error).toContain('interrupted by a signal');
      expect(await volumeExists(volume)).toBe(false);
    } finally {
      await s3.close();
      await removeAll([], [volume]);
    }
  });
});

// A host that reboots mid-restore runs no trap: the next run must recognise what
// the dead run left (a half-filled volume it had created) and never take it for data.
describe('a restore killed hard (host reboot, SIGKILL) mid-transfer', () => {
  const source = uniqueName('src');
  const volume = uniqueName('v');
  let s3: LocalS3;
  let server: Server;
  let slowUrl: string;
  let dir: string;

  beforeAll(async () => {
    s3 = await startLocalS3();
    dir = await mkdtemp(join(tmpdir(), 'lifeboat-kill-'));
    await initPostgresVolume(source);
    await recipeArchive(source, dir, 'a.tar.gz');
    const archive = await readFile(join(dir, 'a.tar.gz'));
    await s3.put('archives/h/v/20261127T031500Z.tar.gz', archive);
    // The first 1 MiB at once (files land in the volume), then nothing more.
    server = createServer((req, res) => {
      res.writeHead(
        req.headers.range ? 206 : 200,
        req.headers.range ? { 'content-range': `bytes 0-5/${archive.length}`, 'content-length': 6 } : { 'content-length': archive.length },
      );
      res.write(archive.subarray(0, req.headers.range ? 6 : 1024 * 1024));
      if (req.headers.range) res.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    slowUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port.toString()}/archives/h/v/killed.tar.gz`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await removeAll([], [source, volume]);
    await s3.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** Every process of the run, as a reboot would end them: SIGKILL, no trap. */
  async function killRunHard(restoreId: string): Promise<void> {
    const main = (await run('pgrep', ['-o', '-f', '^lifeboat-restore-volume /dev/fd/'])).trim();
    expect(main).toMatch(/^\d+$/);
    const tree = [main];
    for (let i = 0; i < tree.length && i < 200; i++) {
      const children = await run('ps', ['-o', 'pid=', '--ppid', tree[i] ?? '']).catch(() => '');
      tree.push(
        ...children
          .split('\n')
          .map((c) => c.trim())
          .filter(Boolean),
      );
    }
    for (const pid of tree) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    // The reboot also stops every container; the helper ran with --rm (its removal may already be under way).
    const helpers = await containersWithLabel(`lifeboat.restore-id=${restoreId}`);
    if (helpers.length > 0) await exec('docker', ['rm', '-f', ...helpers]);
    for (let i = 0; i < 100 && (await containersWithLabel(`lifeboat.restore-id=${restoreId}`)).length > 0; i++) await new Promise((r) => setTimeout(r, 100));
    expect(await containersWithLabel(`lifeboat.restore-id=${restoreId}`)).toEqual([]);
  }

  // Fault: S3 (or the network) stops sending mid-archive without closing the connection.
  it('a download that stalls is abandoned after StallSeconds; the volume it created is removed', async () => {
    const stalled = uniqueName('stall');
    const started = Date.now();
    const outcome = await restore(
      { RestoreId: 'stall-1', ArchiveUrl: slowUrl, VolumeName: stalled, Verify: 'none', StallSeconds: '3' },
      { timeoutSeconds: 60 },
    );
    expect(outcome.timedOut).toBe(false);
    expect(outcome.result).toMatchObject({ outcome: 'failed', failedPhase: 'download' });
    expect(outcome.result?.error).toMatch(/download failed after \d+ bytes: .*(too slow|Operation timed out)/);
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(await volumeExists(stalled)).toBe(false);
    expect(await containersWithLabel('lifeboat.restore-id=stall-1')).toEqual([]);
  });

  it('the next run removes the half-filled volume the dead run created, then restores the whole archive', async () => {
    const dead = runDocument(
      restoreDocument,
      { RestoreId: 'killed-1', HelperImage: HELPER_IMAGE, ArchiveUrl: slowUrl, VolumeName: volume, Verify: 'none' },
      RestoreResult,
      { timeoutSeconds: 120 },
    );
    for (let i = 0; i < 150 && (await inVolumeCount(volume)) === 0; i++) await new Promise((r) => setTimeout(r, 200));
    expect(await inVolumeCount(volume)).toBeGreaterThan(0); // files of the dead run are in the volume
    await killRunHard('killed-1');
    expect((await dead).result).toBeUndefined(); // no trap ran, no result line
    expect(await volumeExists(volume)).toBe(true);

    const next = await restore({
      RestoreId: 'after-kill',
      ArchiveUrl: await s3.presignGet('archives/h/v/20261127T031500Z.tar.gz'),
      VolumeName: volume,
      Verify: 'none',
    });
    expect(next.result, explain(next)).toMatchObject({ outcome: 'succeeded' });
    expect(next.stderr).toContain(`removing volume ${volume}: restore killed-1 created it and was stopped before it finished`);
    expect(await volumeDigest(volume)).toBe(await volumeDigest(source)); // the archive, and nothing of the dead run

    // A volume a restore finished is the user's data: the next restore refuses it (nothing is reclaimed).
    const again = await restore({
      RestoreId: 'after-success',
      ArchiveUrl: await s3.presignGet('archives/h/v/20261127T031500Z.tar.gz'),
      VolumeName: volume,
      Verify: 'none',
    });
    expect(again.result).toMatchObject({ outcome: 'refused' });
    expect(await volumeDigest(volume)).toBe(await volumeDigest(source));
  });
});

describe('a backup interrupted mid-upload', () => {
  const volume = uniqueName('big');
  const app = uniqueName('app');
  let s3: LocalS3;

  beforeAll(async () => {
    s3 = await startLocalS3();
    await docker('volume', 'create', volume);
    // 400 MiB that does not compress: long enough to interrupt.
    await docker(
      'run',
      '--rm',
      '--network',
      'none',
      '-v',
      `${volume}:/data`,
      '--entrypoint',
      '/bin/sh',
      HELPER_IMAGE,
      '-c',
      'head -c 419430400 /dev/urandom > /data/blob',
    );
    await docker('run', '-d', '--name', app, '--network', 'none', '-v', `${volume}:/data`, '--entrypoint', '/bin/sh', HELPER_IMAGE, '-c', 'exec sleep 3600');
  });

  afterAll(async () => {
    await removeAll([app], [volume]);
    await s3.close();
  });

  it('resumes the paused container at once and leaves no partial archive', async () => {
    // Interrupted once the upload is under way (not after a fixed time: on a loaded machine the run may
    // still be preparing then): TERM, as an SSM timeout's watchdog or a cancel gives it.
    const abort = new AbortController();
    const received = s3.bytesReceived();
    const watch = (async () => {
      for (let i = 0; i < 1200 && !abort.signal.aborted; i++) {
        if (s3.bytesReceived() - received > 8 * 1024 * 1024) {
          abort.abort();
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })();
    const outcome = await backup(s3, { BackupId: 'interrupt-b1', VolumeName: volume, ContainerName: app, Consistency: 'pause' }, { signal: abort.signal });
    await watch;
    expect(abort.signal.aborted, 'the upload never started').toBe(true);
    expect(outcome.result).toMatchObject({ outcome: 'failed', failedPhase: 'archive', archiveKey: null });
    expect(outcome.result?.error).toContain('interrupted by a signal');
    expect(await containerState(app)).toBe('running');
    const listed = await s3.client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: `archives/e2e-host/${volume}/` }));
    expect(listed.KeyCount ?? 0).toBe(0);
    expect(await containersWithLabel('lifeboat.backup-id=interrupt-b1')).toEqual([]);
  });
});
