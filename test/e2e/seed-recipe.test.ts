import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  HELPER_IMAGE,
  POSTGRES_IMAGE,
  PGDATA,
  containerState,
  docker,
  initPostgresVolume,
  removeAll,
  rowsFingerprint,
  seedRows,
  startPostgres,
  uniqueName,
  volumeExists,
  volumeRootStat,
} from './support/docker.ts';
import { startLocalS3, type LocalS3 } from '#core/local/s3.ts';
import { explain, restore } from './support/runbooks.ts';

// The classic manual recipe from the Docker persistence guide must always be
// restorable by Lifeboat: this is the archive most operators already have.
describe('an archive made by the classic `tar czf` recipe', () => {
  const volume = uniqueName('pgdata');
  const container = uniqueName('db');
  let s3: LocalS3;
  let dir: string;
  let expectedRows: string;
  let expectedRootStat: string;
  let archiveKey: string;
  let archiveSha: string;

  beforeAll(async () => {
    s3 = await startLocalS3();
    dir = await mkdtemp(join(tmpdir(), 'lifeboat-recipe-'));
    await initPostgresVolume(volume);
    await startPostgres(container, volume);
    await seedRows(container, 5000);
    expectedRows = await rowsFingerprint(container);
    expectedRootStat = await volumeRootStat(volume);
    await docker('stop', container);
    // Exactly the recipe: docker run --rm -v pgdata:/data:ro -v "$DIR":/backup <helper> tar czf /backup/pgdata-<date>.tar.gz -C /data .
    const date = new Date().toISOString().slice(0, 10).replaceAll('-', '');
    await docker(
      'run',
      '--rm',
      '--network',
      'none',
      '-v',
      `${volume}:/data:ro`,
      '-v',
      `${dir}:/backup`,
      HELPER_IMAGE,
      'tar',
      'czf',
      `/backup/pgdata-${date}.tar.gz`,
      '-C',
      '/data',
      '.',
    );
    const [file] = await readdir(dir);
    if (!file) throw new Error('the recipe made no archive');
    const body = await readFile(join(dir, file));
    archiveSha = createHash('sha256').update(body).digest('hex');
    archiveKey = `archives/old-host/${volume}/20261127T000000Z.tar.gz`;
    await s3.put(archiveKey, body);
    // The host is lost.
    await removeAll([container], [volume]);
  });

  afterAll(async () => {
    await removeAll([container], [volume]);
    await s3.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('restores onto a bare host: the same rows answer, PGDATA keeps 0700 and its owner', async () => {
    expect(await volumeExists(volume)).toBe(false);

    const outcome = await restore({
      ArchiveUrl: await s3.presignGet(archiveKey),
      ExpectedSha256: archiveSha,
      VolumeName: volume,
      ContainerName: container,
      MountPath: PGDATA,
      ContainerImage: POSTGRES_IMAGE,
      ShmSize: '256m',
      ContainerNetwork: 'none',
      VerifyQuery: 'select count(*) from lifeboat_test',
    });

    expect(outcome.exitCode, explain(outcome)).toBe(0);
    expect(outcome.result).toMatchObject({
      outcome: 'succeeded',
      compression: 'gzip',
      sha256: archiveSha,
      containerAction: 'created',
      verifyOutput: '5000',
      failedPhase: null,
      error: null,
    });
    expect(await rowsFingerprint(container)).toBe(expectedRows);
    expect(await volumeRootStat(volume)).toBe(expectedRootStat);
    expect(expectedRootStat).toMatch(/^700 /);
    expect(await containerState(container)).toBe('running');
    expect((await docker('inspect', '-f', '{{.HostConfig.ShmSize}}', container)).trim()).toBe(String(256 * 1024 * 1024));
  });
});
