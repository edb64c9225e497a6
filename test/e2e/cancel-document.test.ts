import { access, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDocument } from '#core/runbooks/document.ts';
import { runDocument } from '#core/runbooks/local-runner.ts';
import { CancelResult } from '#core/runbooks/results.ts';
import { initPostgresVolume, recipeArchive, removeAll, uniqueName, volumeExists, volumesWithLabel } from './support/docker.ts';
import { exec } from './support/exec.ts';
import { explain, restore } from './support/runbooks.ts';
import { slowArchiveServer, type SlowArchiveServer } from './support/slow-server.ts';

// SSM's own cancel is a SIGKILL of the command's process group: no trap would run. The
// cancel-restore document asks the restore's script alone to stop (TERM), waits until it
// has put the host back, and the restore ends with its own result line.
describe('the cancel-restore document on real Docker', () => {
  const cancelDocument = loadDocument('cancel-restore');
  const source = uniqueName('src');
  let slow: SlowArchiveServer;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lifeboat-canceldoc-'));
    await initPostgresVolume(source);
    await recipeArchive(source, dir, 'a.tar.gz');
    slow = await slowArchiveServer(await readFile(join(dir, 'a.tar.gz')));
  });
  afterAll(async () => {
    await slow.close();
    await removeAll([], [source]);
    await rm(dir, { recursive: true, force: true });
  });

  const cancel = (restoreId: string) => runDocument(cancelDocument, { RestoreId: restoreId, WaitSeconds: '120' }, CancelResult);

  it('stops a restore mid-download: the restore reports the interruption itself and removes the volume it created', async () => {
    const volume = uniqueName('v');
    const restoreId = uniqueName('r');
    const running = restore({ RestoreId: restoreId, ArchiveUrl: slow.url('archives/h/v/a.tar.gz'), VolumeName: volume, Verify: 'none' });
    // Bounded wait until the restore has named itself (its pid file) and created its volume.
    const pidFile = `/run/lifeboat/run-${restoreId}.pid`;
    for (
      let i = 0;
      i < 300 &&
      !(
        (await access(pidFile).then(
          () => true,
          () => false,
        )) && (await volumeExists(volume))
      );
      i++
    )
      await new Promise((r) => setTimeout(r, 100));
    expect(await volumeExists(volume)).toBe(true);

    const cancelled = await cancel(restoreId);
    const outcome = await running;

    expect(cancelled.result, explain(cancelled)).toMatchObject({ outcome: 'stopped' });
    expect(outcome.result, explain(outcome)).toMatchObject({ outcome: 'failed' });
    expect(outcome.result?.error).toMatch(/^interrupted by a signal/);
    expect(await volumeExists(volume)).toBe(false);
    expect(await volumesWithLabel(`lifeboat.restore-id=${restoreId}`)).toEqual([]);
    await expect(access(pidFile)).rejects.toThrow();
  });

  it("a finished run leaves no watchdog behind and no lock held: the same volume's next restore runs", async () => {
    const sleepers = async (): Promise<number> => (await exec('pgrep', ['-f', `sleep ${String(7200 - 300)}`])).stdout.split('\n').filter(Boolean).length;
    const before = await sleepers();
    const volume = uniqueName('v');
    const first = await restore({ ArchiveUrl: 'http://127.0.0.1:9/archives/h/v/a.tar.gz', VolumeName: volume, Verify: 'none' });
    expect(first.result, explain(first)).toMatchObject({ outcome: 'failed', failedPhase: 'download' });
    const second = await restore({ ArchiveUrl: 'http://127.0.0.1:9/archives/h/v/a.tar.gz', VolumeName: volume, Verify: 'none' });
    expect(second.result?.error, explain(second)).not.toContain('another Lifeboat restore');
    expect(await sleepers()).toBe(before);
  });

  it('a restore that is not running here is reported as such; nothing is signalled', async () => {
    const outcome = await cancel(uniqueName('r'));
    expect(outcome.result, explain(outcome)).toMatchObject({ outcome: 'not-running' });
    expect(outcome.exitCode).toBe(0);
  });
});
