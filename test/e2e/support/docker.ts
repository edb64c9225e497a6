import { randomBytes } from 'node:crypto';
import { exec, run } from './exec.ts';

export const HELPER_IMAGE = process.env.LIFEBOAT_HELPER_IMAGE ?? 'local/lifeboat-helper:1';
export const POSTGRES_IMAGE = process.env.LIFEBOAT_POSTGRES_IMAGE ?? 'local/postgres:15';
export const PGDATA = '/var/lib/postgresql/data';
export const MARIADB_IMAGE = process.env.LIFEBOAT_MARIADB_IMAGE ?? 'local/mariadb:10.11';
export const REDIS_IMAGE = process.env.LIFEBOAT_REDIS_IMAGE ?? 'local/redis:7';

export const docker = (...args: string[]): Promise<string> => run('docker', args);

/** A short unique name for this test's volumes and containers. */
export const uniqueName = (prefix: string): string => `lbt-${prefix}-${randomBytes(4).toString('hex')}`;

export async function volumeExists(name: string): Promise<boolean> {
  return (await exec('docker', ['volume', 'inspect', name])).code === 0;
}

export async function containerState(name: string): Promise<string | undefined> {
  const r = await exec('docker', ['inspect', '-f', '{{.State.Status}}', name]);
  return r.code === 0 ? r.stdout.trim() : undefined;
}

/** Runs a command in the helper image with the volume mounted read-only at /data, no network. */
export async function inVolume(volume: string, script: string): Promise<string> {
  return docker(
    'run',
    '--rm',
    '--network',
    'none',
    '--mount',
    `type=volume,src=${volume},dst=/data,readonly,volume-nocopy`,
    '--entrypoint',
    '/bin/sh',
    HELPER_IMAGE,
    '-c',
    script,
  );
}

/**
 * A digest of a volume's whole tree: every path with its type, mode, owner,
 * size and mtime, and every file's content. Equal digests = byte-for-byte the same.
 */
export async function volumeDigest(volume: string): Promise<string> {
  const out = await inVolume(
    volume,
    // A directory's own size is a filesystem artifact (it never shrinks), so it is left out.
    "cd /data && { stat -c '%n %f %u %g' .; find . -mindepth 1 -type d -exec stat -c '%n %f %u %g %Y' {} + | LC_ALL=C sort; " +
      "find . -mindepth 1 ! -type d -exec stat -c '%n %f %u %g %s %Y' {} + | LC_ALL=C sort; find . -type f -exec sha256sum {} + | LC_ALL=C sort -k2; } | sha256sum",
  );
  return out.slice(0, 64);
}

/** Mode, uid and gid of the volume root (PGDATA must stay 0700, owned by postgres). */
export async function volumeRootStat(volume: string): Promise<string> {
  return (await inVolume(volume, "stat -c '%a %u %g' /data")).trim();
}

export async function volumesWithLabel(label: string): Promise<string[]> {
  return lines(await docker('volume', 'ls', '-q', '--filter', `label=${label}`));
}

export async function containersWithLabel(label: string): Promise<string[]> {
  return lines(await docker('ps', '-aq', '--filter', `label=${label}`));
}

const lines = (text: string): string[] =>
  text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);

/** Creates a volume and initialises a PostgreSQL cluster in it (trust auth, superuser postgres). */
export async function initPostgresVolume(volume: string): Promise<void> {
  await docker('volume', 'create', volume);
  await docker('run', '--rm', '--network', 'none', '-v', `${volume}:${PGDATA}`, POSTGRES_IMAGE, 'initdb', '-D', PGDATA, '-A', 'trust', '-U', 'postgres');
}

/** Starts a PostgreSQL container on the volume, no network, and waits until it answers. */
export async function startPostgres(name: string, volume: string, extra: string[] = []): Promise<void> {
  await docker(
    'run',
    '-d',
    '--name',
    name,
    '--network',
    'none',
    '--shm-size',
    '256m',
    '--mount',
    `type=volume,src=${volume},dst=${PGDATA}`,
    ...extra,
    POSTGRES_IMAGE,
  );
  await waitForPostgres(name);
}

export async function waitForPostgres(name: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await exec('docker', ['exec', name, 'pg_isready', '-q', '-h', '/var/run/postgresql']);
    if (r.code === 0) return;
    if (Date.now() > deadline) throw new Error(`postgres in ${name} did not answer within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

export async function psql(container: string, sql: string): Promise<string> {
  return (
    await docker('exec', container, 'psql', '-h', '/var/run/postgresql', '-U', 'postgres', '-d', 'postgres', '-v', 'ON_ERROR_STOP=1', '-XAtq', '-c', sql)
  ).trim();
}

/** Known rows: `rows` rows in table lifeboat_test. */
export async function seedRows(container: string, rows: number): Promise<void> {
  await psql(
    container,
    `create table lifeboat_test(id int primary key, v text); insert into lifeboat_test select g, md5(g::text) from generate_series(1, ${rows}) g; checkpoint;`,
  );
}

/** Row count and a checksum over every row, as the user would check. */
export const ROWS_QUERY = "select count(*) || ' ' || md5(string_agg(v, ',' order by id)) from lifeboat_test";

export async function rowsFingerprint(container: string): Promise<string> {
  return psql(container, ROWS_QUERY);
}

/** Removes containers and volumes by name; ignores ones already gone. */
export async function removeAll(containers: string[], volumes: string[]): Promise<void> {
  if (containers.length > 0) await exec('docker', ['rm', '-f', ...containers]);
  for (const v of volumes) await exec('docker', ['volume', 'rm', '-f', v]);
}

/**
 * A PostgreSQL database on a new volume holding `rows` known rows, stopped so its
 * bytes are still. Returns the rows' fingerprint.
 */
export async function stoppedDatabase(volume: string, container: string, rows: number): Promise<string> {
  await initPostgresVolume(volume);
  await startPostgres(container, volume);
  await seedRows(container, rows);
  const fingerprint = await rowsFingerprint(container);
  await docker('stop', container);
  return fingerprint;
}

/** The classic recipe: `tar czf` of the whole volume through the helper, written to `<dir>/<file>`. */
export async function recipeArchive(volume: string, dir: string, file: string): Promise<void> {
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
    `/backup/${file}`,
    '-C',
    '/data',
    '.',
  );
}
