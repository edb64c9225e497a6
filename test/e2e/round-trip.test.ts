import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { ArchiveManifest, recreateParameters } from '#core/manifest.ts';
import {
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
import { backup, explain, restore } from './support/runbooks.ts';

describe('backup runbook -> bare host -> restore runbook recreates volume and container from the manifest', () => {
  const volume = uniqueName('pgdata');
  const container = uniqueName('db');
  const idleVolume = uniqueName('forgotten');
  const secret = 'hunter2-never-in-a-manifest';
  let s3: LocalS3;
  let dir: string;
  let expectedRows: string;
  let expectedRootStat: string;

  beforeAll(async () => {
    s3 = await startLocalS3();
    dir = await mkdtemp(join(tmpdir(), 'lifeboat-rt-'));
    await initPostgresVolume(volume);
    await startPostgres(container, volume, ['--restart', 'unless-stopped', '-e', `APP_SECRET=${secret}`, '--label', 'team=db']);
    await seedRows(container, 20_000);
    expectedRows = await rowsFingerprint(container);
    expectedRootStat = await volumeRootStat(volume);
    await docker('volume', 'create', idleVolume);
  });

  afterAll(async () => {
    await removeAll([container], [volume, idleVolume]);
    await s3.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('backs up a running database (paused), restores it after the host is lost, rows identical', async () => {
    // Prepare: back up with the runbook while the database runs.
    const taken = await backup(s3, { VolumeName: volume, ContainerName: container, Consistency: 'pause' });
    expect(taken.exitCode, explain(taken)).toBe(0);
    const result = taken.result;
    if (!result) throw new Error(explain(taken));
    expect(result.outcome).toBe('succeeded');
    expect(result.archiveKey).toMatch(new RegExp(`^archives/e2e-host/${volume}/\\d{8}T\\d{6}Z\\.tar\\.zst$`));
    expect(await containerState(container)).toBe('running'); // resumed after the pause
    // The prune report names the volume nobody runs with, and not the live one.
    expect(result.pruneRisk.notUsedByRunningContainer).toContain(idleVolume);
    expect(result.pruneRisk.notUsedByRunningContainer).not.toContain(volume);

    const archive = await s3.get(result.archiveKey ?? '');
    expect(archive.subarray(0, 4).toString('hex')).toBe('28b52ffd'); // zstd
    expect(createHash('sha256').update(archive).digest('hex')).toBe(result.sha256);
    expect(archive.length).toBe(result.bytes);
    const manifestText = (await s3.get(result.manifestKey ?? '')).toString('utf8');
    expect(manifestText).not.toContain(secret); // env NAMES only
    const manifest = ArchiveManifest.parse(JSON.parse(manifestText));
    expect(manifest).toMatchObject({ sha256: result.sha256, compression: 'zstd', mountPath: PGDATA, consistency: 'pause' });
    expect(manifest.fileCount).toBeGreaterThan(500);
    expect(manifest.container?.envNames).toEqual(['APP_SECRET']);
    expect(manifest.container?.shmSize).toBe(256 * 1024 * 1024);
    expect(manifest.container?.restartPolicy).toBe('unless-stopped');

    // The host is lost.
    await removeAll([container], [volume]);
    expect(await volumeExists(volume)).toBe(false);
    // Env files live in the root-only /etc/lifeboat/env (root, 0600); only the named variables reach the container.
    await mkdir('/etc/lifeboat/env', { recursive: true, mode: 0o700 });
    const envFile = `/etc/lifeboat/env/${uniqueName('db')}.env`;
    await writeFile(envFile, `APP_SECRET=${secret}\n`, { mode: 0o600 });
    onTestFinished(() => rm(envFile, { force: true }));

    // Act: restore onto the bare host from the manifest alone.
    const restored = await restore({
      ArchiveUrl: await s3.presignGet(result.archiveKey ?? ''),
      ExpectedSha256: manifest.sha256,
      VolumeName: volume,
      ContainerName: container,
      ...recreateParameters(manifest),
      ContainerNetwork: 'none',
      ContainerEnvFile: envFile,
    });

    // Assess
    expect(restored.exitCode, explain(restored)).toBe(0);
    expect(restored.result).toMatchObject({ outcome: 'succeeded', compression: 'zstd', containerAction: 'created', verifyOutput: '1' });
    expect(await rowsFingerprint(container)).toBe(expectedRows);
    expect(await volumeRootStat(volume)).toBe(expectedRootStat);
    const inspect = JSON.parse(await docker('inspect', container)) as [
      { HostConfig: { ShmSize: number; RestartPolicy: { Name: string } }; Config: { Env: string[] } },
    ];
    expect(inspect[0].HostConfig.ShmSize).toBe(256 * 1024 * 1024);
    expect(inspect[0].HostConfig.RestartPolicy.Name).toBe('unless-stopped');
    expect(inspect[0].Config.Env).toContain(`APP_SECRET=${secret}`);
  });
});
