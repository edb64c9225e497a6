/**
 * The disaster day starts from a replacement host: a Docker engine with no Lifeboat image
 * and no database image. With a registry on 127.0.0.1 holding both, the restore pulls them;
 * with no registry reachable, it makes the helper from the host's own tools. Either way the
 * database answers with its rows, and the result says which path ran.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArchiveManifest, recreateParameters } from '#core/manifest.ts';
import { RestorePolicy, imageAllowed } from '#core/policy.ts';
import { startLocalS3, type LocalS3 } from '#core/local/s3.ts';
import { exec } from './support/exec.ts';
import {
  HELPER_IMAGE,
  PGDATA,
  POSTGRES_IMAGE,
  ROWS_QUERY,
  docker,
  initPostgresVolume,
  removeAll,
  rowsFingerprint,
  seedRows,
  uniqueName,
  waitForPostgres,
} from './support/docker.ts';
import { FreshEngine, LocalRegistry } from './support/fresh-engine.ts';
import { backup, explain, restore } from './support/runbooks.ts';

describe('fresh host: a restore on an engine with no Lifeboat image and no database image', () => {
  const volume = uniqueName('pgdata');
  const container = uniqueName('db');
  let s3: LocalS3;
  let dir: string;
  let engine: FreshEngine | undefined;
  let registry: LocalRegistry | undefined;
  let helperRef: string;
  let postgresRef: string;
  let manifest: ArchiveManifest;
  let archiveKey: string;
  let expectedRows: string;

  /** The rows as a user would check them, asked on the fresh engine. */
  const freshRows = (name: string): Promise<string> =>
    (engine as FreshEngine)
      .docker('exec', name, 'psql', '-h', '/var/run/postgresql', '-U', 'postgres', '-d', 'postgres', '-v', 'ON_ERROR_STOP=1', '-XAtq', '-c', ROWS_QUERY)
      .then((out) => out.trim());

  const restoreOnFreshHost = async (name: string): Promise<Awaited<ReturnType<typeof restore>>> => {
    const fresh = engine as FreshEngine;
    return restore(
      {
        ArchiveUrl: await s3.presignGet(archiveKey),
        ExpectedSha256: manifest.sha256,
        VolumeName: name,
        ContainerName: name,
        ...recreateParameters(manifest),
        ContainerNetwork: 'none',
        HelperImage: helperRef,
      },
      { env: fresh.env },
    );
  };

  beforeAll(async () => {
    s3 = await startLocalS3();
    dir = await mkdtemp(join(tmpdir(), 'lifeboat-fresh-'));
    registry = await LocalRegistry.start();
    // The registry holds the helper and the database image, pushed from the main engine.
    helperRef = await registry.push(HELPER_IMAGE, 'lifeboat-helper', 'e2e');
    postgresRef = await registry.push(POSTGRES_IMAGE, 'lifeboat-e2e/postgres', '15');
    // A real PostgreSQL volume on the main engine, its container run from the registry's image
    // by digest (so the manifest names it), backed up with the backup document.
    await initPostgresVolume(volume);
    await docker(
      'run',
      '-d',
      '--name',
      container,
      '--network',
      'none',
      '--shm-size',
      '256m',
      '--mount',
      `type=volume,src=${volume},dst=${PGDATA}`,
      postgresRef,
    );
    await waitForPostgres(container);
    await seedRows(container, 5_000);
    expectedRows = await rowsFingerprint(container);
    const taken = await backup(s3, { VolumeName: volume, ContainerName: container, Consistency: 'pause' });
    if (taken.result?.outcome !== 'succeeded' || !taken.result.manifestKey || !taken.result.archiveKey) throw new Error(explain(taken));
    expect(taken.result.helper).toEqual({ image: HELPER_IMAGE, source: 'present' });
    archiveKey = taken.result.archiveKey;
    manifest = ArchiveManifest.parse(JSON.parse((await s3.get(taken.result.manifestKey)).toString('utf8')));
    engine = await FreshEngine.start();
  });

  afterAll(async () => {
    await engine?.close();
    await registry?.close();
    await removeAll([container], [volume]);
    for (const ref of [helperRef, postgresRef]) if (ref) await exec('docker', ['rmi', ref]);
    await s3.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('leaves the main engine alone: its docker0 bridge is still there and a container still gets it', async () => {
    // dockerd --bridge none deletes docker0 at start; the fresh engine has a bridge of its own instead.
    expect((await exec('ip', ['link', 'show', 'docker0'])).code).toBe(0);
    const probe = uniqueName('bridge-probe');
    try {
      expect((await exec('docker', ['create', '--name', probe, HELPER_IMAGE, 'true'])).code).toBe(0);
      expect((await exec('docker', ['start', probe])).code).toBe(0);
    } finally {
      await exec('docker', ['rm', '-f', probe]);
    }
  });

  it('the manifest names the registry’s image by digest, and the operator’s policy allows exactly that digest', () => {
    expect(manifest.container?.image).toBe(postgresRef);
    const policy = RestorePolicy.parse({ allowedImages: [postgresRef] });
    expect(imageAllowed(policy, postgresRef)).toBe(true);
    expect(imageAllowed(policy, postgresRef.replace(/@sha256:.*/, ':15'))).toBe(false); // a tag moves: not allowed
    expect(imageAllowed(RestorePolicy.parse({ allowedImages: [`${(registry as LocalRegistry).address}/`] }), postgresRef)).toBe(true);
  });

  it('with the registry reachable: pulls the helper and the database image, restores, and the rows are there', async () => {
    const fresh = engine as FreshEngine;
    expect((await fresh.docker('images', '-q')).trim()).toBe(''); // a replacement host: no image at all

    const name = uniqueName('pulled');
    const restored = await restoreOnFreshHost(name);

    expect(restored.exitCode, explain(restored)).toBe(0);
    expect(restored.result).toMatchObject({
      outcome: 'succeeded',
      containerAction: 'created',
      helper: { image: helperRef, source: 'pulled' },
      containerImage: { image: postgresRef, digest: postgresRef, source: 'pulled' },
    });
    expect(restored.stderr).toContain(`helper image ${helperRef} was not on this host: pulled it`);
    expect(await freshRows(name)).toBe(expectedRows);
    // The main engine was not used: the restored volume exists on the fresh engine only.
    expect((await exec('docker', ['volume', 'inspect', name])).code).not.toBe(0);
  });

  it('with no registry reachable and no helper image: makes the helper from the host’s tools, restores, and says so', async () => {
    const fresh = engine as FreshEngine;
    await (registry as LocalRegistry).stop();
    expect(await (registry as LocalRegistry).answers()).toBe(false);
    await fresh.docker('image', 'rm', helperRef);
    expect((await fresh.exec('image', 'inspect', helperRef)).code).not.toBe(0);

    const name = uniqueName('provisioned');
    const restored = await restoreOnFreshHost(name);

    expect(restored.exitCode, explain(restored)).toBe(0);
    expect(restored.result).toMatchObject({
      outcome: 'succeeded',
      containerAction: 'created',
      helper: { source: 'provisioned' },
      containerImage: { image: postgresRef, digest: postgresRef, source: 'present' },
    });
    const made = restored.result?.helper?.image ?? '';
    expect(made).toMatch(/^local\/lifeboat-helper-host:[a-f0-9]{16}$/);
    expect(restored.stderr).toContain(`helper image ${helperRef}: it is not on this host and cannot be used from its registry`);
    expect(restored.stderr).toContain(`made helper image ${made} from this host's own tools`);
    expect(await freshRows(name)).toBe(expectedRows);
    // The image made is labelled as Lifeboat's helper.
    expect((await fresh.docker('image', 'inspect', '-f', '{{index .Config.Labels "org.opencontainers.image.title"}}', made)).trim()).toBe('lifeboat-helper');
  });
});
