import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import {
  HELPER_IMAGE, containerState, containersWithLabel, docker, initPostgresVolume, recipeArchive, removeAll, uniqueName, volumeExists, volumesWithLabel,
} from './support/docker.ts';
import { backup, restore } from './support/runbooks.ts';
import { startLocalS3, type LocalS3 } from '../../functions/core/local/s3.ts';

// SSM stops a command at its timeout or on cancel with SIGTERM. The restore must
// stop promptly and clean up, not finish a long transfer first.
describe('a restore interrupted mid-transfer (SSM timeout or cancel)', () => {
  const source = uniqueName('src');
  let server: Server;
  let url: string;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lifeboat-int-'));
    await initPostgresVolume(source);
    await recipeArchive(source, dir, 'a.tar.gz');
    const archive = await readFile(join(dir, 'a.tar.gz'));
    // Serves the archive at ~16 KiB every 250 ms: far longer than the test waits.
    server = createServer((req, res) => {
      if (req.headers.range) {
        res.writeHead(206, { 'content-range': `bytes 0-5/${archive.length}`, 'content-length': 6 });
        res.end(archive.subarray(0, 6));
        return;
      }
      res.writeHead(200, { 'content-length': archive.length });
      let offset = 0;
      const timer = setInterval(() => {
        if (offset >= archive.length || res.destroyed) {
          clearInterval(timer);
          res.end();
          return;
        }
        res.write(archive.subarray(offset, offset + 16 * 1024));
        offset += 16 * 1024;
      }, 250);
      res.on('close', () => { clearInterval(timer); });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/archives/h/v/slow.tar.gz`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
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

describe('a backup interrupted mid-upload', () => {
  const volume = uniqueName('big');
  const app = uniqueName('app');
  let s3: LocalS3;

  beforeAll(async () => {
    s3 = await startLocalS3();
    await docker('volume', 'create', volume);
    // 400 MiB that does not compress: long enough to interrupt.
    await docker('run', '--rm', '--network', 'none', '-v', `${volume}:/data`, '--entrypoint', '/bin/sh', HELPER_IMAGE, '-c', 'head -c 419430400 /dev/urandom > /data/blob');
    await docker('run', '-d', '--name', app, '--network', 'none', '-v', `${volume}:/data`, '--entrypoint', '/bin/sh', HELPER_IMAGE, '-c', 'exec sleep 3600');
  });

  afterAll(async () => {
    await removeAll([app], [volume]);
    await s3.close();
  });

  it('resumes the paused container at once and leaves no partial archive', async () => {
    const outcome = await backup(s3, { BackupId: 'interrupt-b1', VolumeName: volume, ContainerName: app, Consistency: 'pause' }, { timeoutSeconds: 4 });
    expect(outcome.timedOut).toBe(true);
    expect(outcome.result).toMatchObject({ outcome: 'failed', failedPhase: 'archive', archiveKey: null });
    expect(outcome.result?.error).toContain('interrupted by a signal');
    expect(await containerState(app)).toBe('running');
    const listed = await s3.client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: `archives/e2e-host/${volume}/` }));
    expect(listed.KeyCount ?? 0).toBe(0);
    expect(await containersWithLabel('lifeboat.backup-id=interrupt-b1')).toEqual([]);
  });
});
