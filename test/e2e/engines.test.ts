/**
 * Engines other than PostgreSQL, on the real engine (images built with no registry):
 * MariaDB and Redis each backed up, the host lost, restored onto the bare host with no
 * engine named (told from the restored data) and the same rows or keys answering; a
 * drill of each with a check passes and leaves nothing behind; a check that fails
 * fails the drill.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { startLocalS3, type LocalS3 } from '#core/local/s3.ts';
import { ArchiveManifest, recreateParameters } from '#core/manifest.ts';
import { exec } from './support/exec.ts';
import { MARIADB_IMAGE, REDIS_IMAGE, containerState, docker, removeAll, uniqueName, volumeExists } from './support/docker.ts';
import { backup, explain, restore } from './support/runbooks.ts';

/** Runs `argv` in the container until it exits 0 (bounded). */
async function waitFor(container: string, argv: string[], timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if ((await exec('docker', ['exec', container, ...argv])).code === 0) return;
    if (Date.now() > deadline) throw new Error(`${container}: ${argv.join(' ')} did not succeed within ${timeoutMs.toString()} ms`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** A root-only env file (as the restore requires) holding `values`; removed when the test ends. */
async function envFile(values: Record<string, string>): Promise<string> {
  await mkdir('/etc/lifeboat/env', { recursive: true, mode: 0o700 });
  const file = `/etc/lifeboat/env/${uniqueName('engine')}.env`;
  await writeFile(
    file,
    Object.entries(values)
      .map(([k, v]) => `${k}=${v}\n`)
      .join(''),
    { mode: 0o600 },
  );
  onTestFinished(() => rm(file, { force: true }));
  return file;
}

async function archiveOf(s3: LocalS3, parameters: Record<string, string>): Promise<{ url: string; manifest: ArchiveManifest }> {
  const taken = await backup(s3, parameters);
  expect(taken.result?.outcome, explain(taken)).toBe('succeeded');
  const manifest = ArchiveManifest.parse(JSON.parse((await s3.get(taken.result?.manifestKey ?? '')).toString('utf8')));
  return { url: await s3.presignGet(taken.result?.archiveKey ?? ''), manifest };
}

const ROWS = 1_234;

describe('MariaDB: backup, host lost, restore with the engine told from the data, drills', () => {
  const password = 'Lifeboat-test-root-1';
  const volume = uniqueName('mariadb');
  const container = uniqueName('mariadb-db');
  let s3: LocalS3;
  let archive: { url: string; manifest: ArchiveManifest };

  const sql = (name: string, query: string): Promise<string> =>
    docker('exec', '-e', `MYSQL_PWD=${password}`, name, 'mariadb', '-uroot', '-N', '-B', '-e', query).then((s) => s.trim());
  const fingerprint = (name: string): Promise<string> => sql(name, "select count(*), md5(group_concat(v order by id separator ',')) from shop.items");

  beforeAll(async () => {
    s3 = await startLocalS3();
    await docker('volume', 'create', volume);
    await docker(
      'run',
      '-d',
      '--name',
      container,
      '--network',
      'none',
      '-e',
      `MARIADB_ROOT_PASSWORD=${password}`,
      '-e',
      'MARIADB_DATABASE=shop',
      '--mount',
      `type=volume,src=${volume},dst=/var/lib/mysql`,
      MARIADB_IMAGE,
    );
    await waitFor(container, ['sh', '-c', `MYSQL_PWD=${password} mariadb -uroot -e 'select 1' shop`]);
    await sql(
      container,
      `use shop; create table items (id int primary key, v varchar(64)); insert into items select seq, md5(seq) from seq_1_to_${ROWS.toString()}`,
    );
    archive = await archiveOf(s3, { VolumeName: volume, ContainerName: container, MountPath: '/var/lib/mysql', Consistency: 'stop' });
  });

  afterAll(async () => {
    await removeAll([container], [volume]);
    await s3.close();
  });

  it('restores onto the bare host with no engine given: mysql told from the data, the check counts the rows, the same rows answer', async () => {
    const expected = await fingerprint(container);
    expect(expected).toMatch(new RegExp(`^${ROWS.toString()}\\t[0-9a-f]{32}$`));
    await removeAll([container], [volume]); // the host is lost
    expect(await volumeExists(volume)).toBe(false);

    const restored = await restore({
      ArchiveUrl: archive.url,
      ExpectedSha256: archive.manifest.sha256,
      VolumeName: volume,
      ContainerName: container,
      ...recreateParameters(archive.manifest),
      ContainerNetwork: 'none',
      ContainerEnvFile: await envFile({ MARIADB_ROOT_PASSWORD: password, MARIADB_DATABASE: 'shop' }),
      VerifyQuery: 'select count(*) from shop.items',
      ExpectMinimum: ROWS.toString(),
    });
    expect(restored.result, explain(restored)).toMatchObject({
      outcome: 'succeeded',
      engine: 'mysql',
      containerAction: 'created',
      verifyOutput: ROWS.toString(),
    });
    expect(restored.stderr).toContain('engine: mysql, told from the restored data');
    expect(await fingerprint(container)).toBe(expected);
  });

  it('a drill with a check passes and leaves nothing behind; a check that fails fails the drill, and it too leaves nothing', async () => {
    const env = await envFile({ MARIADB_ROOT_PASSWORD: password });
    const drill = async (expectMinimum: string) => {
      const name = uniqueName('x').replace(/^lbt-/, 'lifeboat-drill-');
      const outcome = await restore({
        Mode: 'drill',
        ArchiveUrl: archive.url,
        ExpectedSha256: archive.manifest.sha256,
        VolumeName: name,
        ContainerName: name,
        ContainerImage: MARIADB_IMAGE,
        ContainerEnvNames: 'MARIADB_ROOT_PASSWORD',
        ContainerEnvFile: env,
        Verify: 'mysql',
        VerifyQuery: 'select count(*) from shop.items',
        ExpectMinimum: expectMinimum,
      });
      expect(await volumeExists(name)).toBe(false);
      expect(await containerState(name)).toBeUndefined();
      return outcome;
    };
    const passed = await drill(ROWS.toString());
    expect(passed.result, explain(passed)).toMatchObject({ outcome: 'succeeded', engine: 'mysql', verifyOutput: ROWS.toString() });
    const failed = await drill((ROWS + 1).toString());
    expect(failed.result, explain(failed)).toMatchObject({ outcome: 'failed', failedPhase: 'verify', verifyOutput: ROWS.toString() });
    expect(failed.result?.error).toContain(`expected a number of at least ${(ROWS + 1).toString()}`);
  });

  it('a write disguised as a check never runs: the host refuses it before anything is created', async () => {
    const name = uniqueName('x').replace(/^lbt-/, 'lifeboat-drill-');
    const outcome = await restore({
      Mode: 'drill',
      ArchiveUrl: archive.url,
      VolumeName: name,
      ContainerName: name,
      ContainerImage: MARIADB_IMAGE,
      Verify: 'mysql',
      VerifyQuery: "select 1 into outfile '/tmp/x'",
    });
    expect(outcome.result).toMatchObject({ outcome: 'refused' });
    expect(await volumeExists(name)).toBe(false);
  });
});

describe('Redis: backup, host lost, restore with the engine told from the data, drills', () => {
  const KEYS = 500;
  const volume = uniqueName('redis');
  const container = uniqueName('redis-db');
  let s3: LocalS3;
  let archive: { url: string; manifest: ArchiveManifest };

  const cli = (name: string, ...args: string[]): Promise<string> => docker('exec', name, 'redis-cli', '-e', ...args).then((s) => s.trim());

  beforeAll(async () => {
    s3 = await startLocalS3();
    await docker('volume', 'create', volume);
    await docker('run', '-d', '--name', container, '--network', 'none', '--mount', `type=volume,src=${volume},dst=/data`, REDIS_IMAGE);
    await waitFor(container, ['redis-cli', '-e', 'PING']);
    await docker('exec', container, 'sh', '-c', `for i in $(seq 1 ${KEYS.toString()}); do echo "SET key:$i value-$i"; done | redis-cli -e >/dev/null`);
    await cli(container, 'SADD', 'users:active', 'ann', 'bob', 'cy');
    archive = await archiveOf(s3, { VolumeName: volume, ContainerName: container, MountPath: '/data', Consistency: 'stop' });
  });

  afterAll(async () => {
    await removeAll([container], [volume]);
    await s3.close();
  });

  it('restores onto the bare host with no engine given: redis told from the data, DBSIZE counts the keys, the same keys answer', async () => {
    expect(await cli(container, 'DBSIZE')).toBe((KEYS + 1).toString());
    await removeAll([container], [volume]); // the host is lost

    const restored = await restore({
      ArchiveUrl: archive.url,
      ExpectedSha256: archive.manifest.sha256,
      VolumeName: volume,
      ContainerName: container,
      ...recreateParameters(archive.manifest),
      ContainerNetwork: 'none',
      VerifyQuery: 'DBSIZE',
      ExpectMinimum: (KEYS + 1).toString(),
    });
    expect(restored.result, explain(restored)).toMatchObject({ outcome: 'succeeded', engine: 'redis', verifyOutput: (KEYS + 1).toString() });
    expect(await cli(container, 'GET', 'key:42')).toBe('value-42');
    expect(await cli(container, 'SCARD', 'users:active')).toBe('3');
  });

  it('a drill with a check passes and leaves nothing; a check answering too little fails the drill', async () => {
    const drill = async (check: string, expectMinimum: string) => {
      const name = uniqueName('x').replace(/^lbt-/, 'lifeboat-drill-');
      const outcome = await restore({
        Mode: 'drill',
        ArchiveUrl: archive.url,
        VolumeName: name,
        ContainerName: name,
        ContainerImage: REDIS_IMAGE,
        Verify: 'redis',
        VerifyQuery: check,
        ExpectMinimum: expectMinimum,
      });
      expect(await volumeExists(name)).toBe(false);
      expect(await containerState(name)).toBeUndefined();
      return outcome;
    };
    const passed = await drill('SCARD users:active', '3');
    expect(passed.result, explain(passed)).toMatchObject({ outcome: 'succeeded', engine: 'redis', verifyOutput: '3' });
    const failed = await drill('SCARD users:gone', '1');
    expect(failed.result, explain(failed)).toMatchObject({ outcome: 'failed', failedPhase: 'verify', verifyOutput: '0' });
  });
});
