import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArchiveManifest, recreatePlan, recreateParameters } from '#core/manifest.ts';
import { startLocalS3, type LocalS3 } from '#core/local/s3.ts';
import { HELPER_IMAGE, PGDATA, POSTGRES_IMAGE, docker, removeAll, rowsFingerprint, seedRows, uniqueName, waitForPostgres } from './support/docker.ts';
import { exec, type ExecResult } from './support/exec.ts';
import { backup, explain, restore } from './support/runbooks.ts';

/**
 * A Docker Compose (v1, the one this host has) project: PostgreSQL on a named volume and
 * a second service, both on an internal user-defined network. Images are local: no pull.
 */
const COMPOSE_FILE = `version: '2.4'
services:
  db:
    image: ${POSTGRES_IMAGE}
    shm_size: 256mb
    volumes:
      - pgdata:${PGDATA}
    networks: [backend]
  web:
    image: ${HELPER_IMAGE}
    command: ["sleep", "86400"]
    networks: [backend]
volumes:
  pgdata: {}
networks:
  backend:
    internal: true
`;

const explainCompose = (r: ExecResult): string => `exit ${r.code.toString()}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;

describe('a Compose service is backed up, lost with its volume and network, restored, and docker-compose up -d adopts it', () => {
  const project = uniqueName('compose'); // lbt-compose-<hex>: a valid Compose v1 project name
  const db = `${project}_db_1`;
  const web = `${project}_web_1`;
  const volume = `${project}_pgdata`;
  const network = `${project}_backend`;
  let s3: LocalS3;
  let dir: string;
  let expectedRows: string;
  const compose = (...args: string[]): Promise<ExecResult> => exec('docker-compose', ['-p', project, ...args], { cwd: dir });
  const composeOk = async (...args: string[]): Promise<ExecResult> => {
    const r = await compose(...args);
    if (r.code !== 0) throw new Error(`docker-compose ${args.join(' ')}: ${explainCompose(r)}`);
    return r;
  };
  const inspect = async <T>(...args: string[]): Promise<T> => (JSON.parse(await docker(...args)) as [T])[0];

  beforeAll(async () => {
    s3 = await startLocalS3();
    dir = await mkdtemp(join(tmpdir(), 'lifeboat-compose-'));
    await writeFile(join(dir, 'docker-compose.yml'), COMPOSE_FILE);
    // Compose creates the volume and the network with its labels; initdb runs in a one-off container.
    await composeOk('run', '--rm', '--no-deps', 'db', 'initdb', '-D', PGDATA, '-A', 'trust', '-U', 'postgres');
    await composeOk('up', '-d');
    await waitForPostgres(db);
    await seedRows(db, 5_000);
    expectedRows = await rowsFingerprint(db);
  });

  afterAll(async () => {
    await compose('down', '-v', '--remove-orphans');
    await removeAll([db, web], [volume]);
    await exec('docker', ['network', 'rm', network]);
    await s3.close();
    await rm(dir, { recursive: true, force: true });
  });

  let manifest: ArchiveManifest;

  it('restores it so that up -d finds db up to date (same container, no warning), its alias resolves, and the rows are back', async () => {
    const taken = await backup(s3, { VolumeName: volume, ContainerName: db, Consistency: 'stop' });
    expect(taken.exitCode, explain(taken)).toBe(0);
    manifest = ArchiveManifest.parse(JSON.parse((await s3.get(taken.result?.manifestKey ?? '')).toString('utf8')));
    // The manifest records what Compose wrote: the container's and the volume's labels, the network as it was, the data's top level.
    expect(manifest.container?.labels).toMatchObject({
      'com.docker.compose.project': project,
      'com.docker.compose.service': 'db',
      'com.docker.compose.oneoff': 'False',
    });
    expect(manifest.volume?.labels).toEqual({
      'com.docker.compose.project': project,
      'com.docker.compose.volume': 'pgdata',
      'com.docker.compose.version': '1.29.2',
    });
    expect(manifest.container?.networks).toEqual([
      {
        name: network,
        aliases: ['db'],
        driver: 'bridge',
        internal: true,
        enableIPv6: false,
        labels: { 'com.docker.compose.network': 'backend', 'com.docker.compose.project': project, 'com.docker.compose.version': '1.29.2' },
        options: {},
      },
    ]);
    expect(manifest.dataMarkers).toEqual(expect.arrayContaining(['PG_VERSION', 'base', 'global']) as unknown);
    // Nothing recorded is left out: the image has no labels of its own, every Compose label fits.
    expect(recreatePlan(manifest)).toMatchObject({ otherMounts: [], dropped: [] });

    // The host loses the project: its containers, the data volume, the network.
    await removeAll([db, web], [volume]);
    await docker('network', 'rm', network);

    const restored = await restore({
      ArchiveUrl: await s3.presignGet(taken.result?.archiveKey ?? ''),
      ExpectedSha256: manifest.sha256,
      VolumeName: volume,
      ContainerName: db,
      ...recreateParameters(manifest),
    });
    expect(restored.exitCode, explain(restored)).toBe(0);
    expect(restored.result).toMatchObject({ outcome: 'succeeded', containerAction: 'created', engine: 'postgres' });
    // The volume carries Compose's labels alone (v1 warns about any other), the network is back as it was.
    expect((await inspect<{ Labels: Record<string, string> }>('volume', 'inspect', volume)).Labels).toEqual(manifest.volume?.labels);
    const net = await inspect<{ Internal: boolean; Driver: string; Labels: Record<string, string> }>('network', 'inspect', network);
    expect(net).toMatchObject({ Internal: true, Driver: 'bridge', Labels: manifest.container?.networks?.[0]?.labels });
    const before = await inspect<{ Id: string }>('inspect', db);

    // Act: Compose meets what the restore made.
    const up = await composeOk('up', '-d');

    // Assess
    const said = `${up.stdout}${up.stderr}`;
    expect(said).toContain(`${db} is up-to-date`);
    expect(said).not.toMatch(/Recreating|WARNING|warning/);
    expect(said).not.toContain(`Creating ${db}`);
    expect((await inspect<{ Id: string }>('inspect', db)).Id).toBe(before.Id);
    expect(await rowsFingerprint(db)).toBe(expectedRows);
    // The service name resolves on the network (the alias came back), from the other service.
    const ip = await docker('inspect', '-f', `{{(index .NetworkSettings.Networks "${network}").IPAddress}}`, db);
    expect(await docker('exec', web, 'getent', 'hosts', 'db')).toContain(ip.trim());
    // And a second up -d touches nothing at all.
    const again = await composeOk('up', '-d');
    expect(`${again.stdout}${again.stderr}`.trim().split('\n').sort()).toEqual([`${db} is up-to-date`, `${web} is up-to-date`]);
  });

  it('a recreate whose manifest records an extra bind mount is refused, naming it, and the host is unchanged', async () => {
    expect(manifest, 'the first test recorded the manifest').toBeDefined();
    const container = manifest.container;
    if (!container) throw new Error('no container in the manifest');
    const initScripts = { type: 'bind', source: `${dir}/initdb`, destination: '/docker-entrypoint-initdb.d', readOnly: true };
    const tampered = { ...manifest, container: { ...container, mounts: [...container.mounts, initScripts] } };
    const state = async (): Promise<string> =>
      [await docker('ps', '-aq', '--no-trunc'), await docker('volume', 'ls', '-q'), await docker('network', 'ls', '-q', '--no-trunc')].join('|');
    const host = await state();
    const lostVolume = uniqueName('compose-lost');

    const refused = await restore({
      ArchiveUrl: await s3.presignGet(manifest.archiveKey),
      ExpectedSha256: manifest.sha256,
      VolumeName: lostVolume,
      ContainerName: uniqueName('compose-lost'),
      ...recreateParameters(tampered),
    });

    expect(refused.exitCode).toBe(1);
    expect(refused.result).toMatchObject({ outcome: 'refused', failedPhase: 'preflight' });
    expect(refused.result?.error).toContain(`it also mounted bind ${dir}/initdb at /docker-entrypoint-initdb.d`);
    expect(await state()).toBe(host);
  });
});
