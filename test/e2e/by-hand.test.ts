/**
 * The disaster-day pages, run exactly as written (their bash blocks, in order), against
 * Docker and a local S3 server: back up a database by hand, lose the host, restore it by
 * hand with the script and again with the last-resort recipe, and cancel by hand. Only
 * the blocks marked `values` get this test's values; `ssm` blocks need the SSM API.
 */
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '#core/paths.ts';
import { startLocalS3, type LocalS3 } from '#core/local/s3.ts';
import { ArchiveManifest } from '#core/manifest.ts';
import { RestoreResult } from '#core/runbooks/results.ts';
import { pageBlocks, programOf, type PageBlock } from '../support/by-hand.ts';
import { exec } from './support/exec.ts';
import {
  PGDATA,
  POSTGRES_IMAGE,
  containerState,
  initPostgresVolume,
  removeAll,
  rowsFingerprint,
  seedRows,
  startPostgres,
  uniqueName,
  volumeExists,
  waitForPostgres,
} from './support/docker.ts';

/** Runs blocks as one bash program from the repository root, with HOME a fresh folder (the host's root home). */
async function runBlocks(blocks: readonly PageBlock[], values: Record<string, string>, home: string, env: Record<string, string> = {}) {
  const program = programOf(blocks, values);
  const outcome = await exec('bash', ['-c', program], {
    cwd: ROOT, // npm offline: a block that would fetch a package (npx outside the repository) fails instead.
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, npm_config_offline: 'true', ...env },
  });
  return { ...outcome, explain: `exit ${outcome.code.toString()}\n--- stdout\n${outcome.stdout}\n--- stderr (tail)\n${outcome.stderr.slice(-4000)}` };
}

const lastLine = (text: string): unknown => JSON.parse(text.trimEnd().split('\n').at(-1) ?? '');

describe('the by-hand runbooks, run as written: backup, the host lost, restore with the script and by the recipe, cancel', () => {
  const volume = uniqueName('byhand');
  const container = uniqueName('byhand-db');
  const recipeVolume = uniqueName('byhand-recipe');
  const recipeContainer = uniqueName('byhand-recipe-db');
  let s3: LocalS3;
  let home: string;
  let expectedRows: string;

  beforeAll(async () => {
    s3 = await startLocalS3();
    home = await mkdtemp(join(tmpdir(), 'lifeboat-byhand-'));
    await initPostgresVolume(volume);
    await startPostgres(container, volume);
    await seedRows(container, 5_000);
    expectedRows = await rowsFingerprint(container);
  });

  afterAll(async () => {
    await removeAll([container, recipeContainer], [volume, recipeVolume]);
    await s3.close();
    await rm(home, { recursive: true, force: true });
  });

  it('each page holds only blocks a test can run, and the SSM blocks are the only ones left out', () => {
    for (const page of ['backup-by-hand.md', 'restore-by-hand.md', 'cancel-by-hand.md']) {
      const blocks = pageBlocks(page);
      expect(blocks.filter((b) => b.kind === 'run').length, page).toBeGreaterThan(0);
      for (const b of blocks.filter((x) => x.kind === 'ssm')) expect(b.code, page).toContain('aws ssm ');
    }
  });

  it('backup-by-hand.md: the script backs up the running database to S3, and the classic one-liner writes a tarball', async () => {
    const run = await runBlocks(
      pageBlocks('backup-by-hand.md'),
      { BUCKET: s3.bucket, VOLUME: volume, CONTAINER: container, S3_ENDPOINT: s3.endpoint },
      home,
      s3.hostEnv,
    );
    expect(run.code, run.explain).toBe(0);
    expect(lastLine(await readFile(join(home, 'backup-result.json'), 'utf8'))).toMatchObject({ outcome: 'succeeded' });
    expect(await containerState(container)).toBe('running'); // paused for the copy, resumed
    expect((await readdir(home)).filter((f) => f.startsWith(`${volume}-`) && f.endsWith('.tar.gz'))).toHaveLength(1);
  });

  it('restore-by-hand.md §2, then cancel-by-hand.md: the host is lost, the script restores it and the rows answer; a cancel after it finds nothing running', async () => {
    // The host is lost.
    await removeAll([container], [volume]);
    expect(await volumeExists(volume)).toBe(false);
    const { archiveKey, manifest } = await theArchive();

    const restorePage = pageBlocks('restore-by-hand.md').filter((b) => !b.section.startsWith('3.'));
    const run = await runBlocks(restorePage, await restoreValues(archiveKey, manifest.sha256, volume, container), home);
    expect(run.code, run.explain).toBe(0);

    const result = RestoreResult.parse(lastLine(await readFile(join(home, 'restore-result.json'), 'utf8')));
    expect(result, run.explain).toMatchObject({ outcome: 'succeeded', containerAction: 'created' });
    expect(await rowsFingerprint(container)).toBe(expectedRows);

    // cancel-by-hand.md, from a second shell (the repository's folder again), for the restore that has ended.
    const cancel = await runBlocks(pageBlocks('cancel-by-hand.md'), {}, home, { RESTORE_ID: result.restoreId });
    expect(cancel.code, cancel.explain).toBe(0);
    expect(lastLine(cancel.stdout)).toMatchObject({ lifeboat: 'cancel-result', restoreId: result.restoreId, outcome: 'not-running' });
  });

  it('restore-by-hand.md §3 (last resort, no script): the recipe restores into a new volume, checksum checked, and the rows answer', async () => {
    const { archiveKey, manifest } = await theArchive();
    const blocks = pageBlocks('restore-by-hand.md').filter((b) => b.kind === 'values' || b.section.startsWith('3.'));
    const run = await runBlocks(blocks, await restoreValues(archiveKey, manifest.sha256, recipeVolume, recipeContainer), home);
    expect(run.code, run.explain).toBe(0);
    expect(run.stdout + run.stderr).not.toContain('STOP');
    await waitForPostgres(recipeContainer);
    expect(await rowsFingerprint(recipeContainer)).toBe(expectedRows);
  });

  it('restore-by-hand.md §3 stops at the checksum when the archive is not the one the manifest names', async () => {
    const { archiveKey } = await theArchive();
    const other = uniqueName('byhand-wrong');
    const blocks = pageBlocks('restore-by-hand.md').filter((b) => b.kind === 'values' || b.section.startsWith('3.'));
    const run = await runBlocks(blocks, await restoreValues(archiveKey, 'f'.repeat(64), other, other), home);
    expect(run.code, run.explain).not.toBe(0);
    expect(run.stdout + run.stderr).toContain('FAILED');
    expect(await volumeExists(other)).toBe(false);
  });

  async function theArchive(): Promise<{ archiveKey: string; manifest: ArchiveManifest }> {
    const listed = await s3.client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: 'archives/' }));
    const keys = (listed.Contents ?? []).map((o) => o.Key ?? '');
    const archiveKey = keys.find((k) => k.includes(`/${volume}/`) && k.endsWith('.tar.zst')) ?? '';
    expect(archiveKey, keys.join(', ')).not.toBe('');
    const manifest = ArchiveManifest.parse(JSON.parse((await s3.get(`${archiveKey}.manifest.json`)).toString('utf8')));
    return { archiveKey, manifest };
  }

  async function restoreValues(archiveKey: string, sha256: string, vol: string, name: string): Promise<Record<string, string>> {
    return {
      ARCHIVE_URL: await s3.presignGet(archiveKey),
      ARCHIVE_SHA256: sha256,
      VOLUME: vol,
      CONTAINER: name,
      IMAGE: POSTGRES_IMAGE,
      MOUNT: PGDATA,
      NETWORK: 'none',
    };
  }
});
