/**
 * Whole-host recovery on the real Docker engine, through the CLI in local mode, which runs the
 * state machine definition that deploys (lib/recovery-definition.ts) on aws-local-stepfunctions:
 * a host runs three services (PostgreSQL, MariaDB, and a plain data volume verified as running),
 * each backed up; the host is lost (containers, volumes and network removed); one `lifeboat
 * recover` brings all three back in the configured order with the same data; then, lost again
 * with a corrupt archive in the critical member of wave 1, the recovery stops before wave 2 and
 * leaves that member's host side as it was.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '#core/paths.ts';
import { RecoveryPlan, RecoveryReport } from '#core/recovery/model.ts';
import {
  HELPER_IMAGE,
  MARIADB_IMAGE,
  PGDATA,
  POSTGRES_IMAGE,
  containerState,
  docker,
  initPostgresVolume,
  removeAll,
  rowsFingerprint,
  seedRows,
  uniqueName,
  volumeDigest,
  volumeExists,
  waitForPostgres,
} from './support/docker.ts';
import { exec, type ExecResult } from './support/exec.ts';

// The Node.js these tests run on (.nvmrc's major), not whatever `node` the PATH has.
const NODE = process.execPath;
const CLI = join(ROOT, 'bin/lifeboat.mjs');
const ROWS = 2_000;
const MARIA_ROWS = 777;
const PASSWORD = 'Lifeboat-recovery-1';

/** Runs `argv` in the container until it exits 0 (bounded). */
async function waitFor(container: string, argv: string[], timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if ((await exec('docker', ['exec', container, ...argv])).code === 0) return;
    if (Date.now() > deadline) throw new Error(`${container}: ${argv.join(' ')} did not succeed within ${timeoutMs.toString()} ms`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** Every file under `dir` (recursively). */
async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await filesUnder(p)));
    else out.push(p);
  }
  return out;
}

describe('a lost host: every service back on a replacement, in order, with one lifeboat recover', () => {
  const source = uniqueName('rec-host').replace(/^lbt-/, 'lbt');
  const network = uniqueName('rec-net');
  const pg = { volume: uniqueName('rec-pg'), container: uniqueName('rec-pg-db') };
  const maria = { volume: uniqueName('rec-maria'), container: uniqueName('rec-maria-db') };
  const files = { volume: uniqueName('rec-files'), container: uniqueName('rec-files-app') };
  const containers = [pg.container, maria.container, files.container];
  const volumes = [pg.volume, maria.volume, files.volume];
  let dir: string;
  let envFile: string;
  let configFile: string;
  const fingerprints: Record<string, string> = {};

  const env = (): NodeJS.ProcessEnv => {
    const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !['LIFEBOAT_API_URL', 'LIFEBOAT_OUTPUTS', 'AWS_ENDPOINT_URL'].includes(k)));
    return {
      ...clean,
      LIFEBOAT_HOME: join(dir, 'state'),
      LIFEBOAT_ALLOWED_IMAGES: ['local/postgres', 'local/mariadb', HELPER_IMAGE.split(':')[0]].join(','),
    };
  };
  const lifeboat = (args: string[]): Promise<ExecResult> => exec(NODE, [CLI, ...args], { cwd: dir, env: env(), timeoutMs: 600_000 });
  const explain = (out: ExecResult): string => `exit ${out.code.toString()}\n${out.stdout}\n${out.stderr}`;
  const mariaSql = (query: string): Promise<string> =>
    docker('exec', '-e', `MYSQL_PWD=${PASSWORD}`, maria.container, 'mariadb', '-uroot', '-N', '-B', '-e', query).then((s) => s.trim());
  const mariaFingerprint = (): Promise<string> => mariaSql("select count(*), md5(group_concat(v order by id separator ',')) from shop.items");
  const filesDigest = (): Promise<string> => volumeDigest(files.volume);
  const loseHost = async (): Promise<void> => {
    await removeAll(containers, volumes);
    await exec('docker', ['network', 'rm', network]);
    for (const v of volumes) expect(await volumeExists(v)).toBe(false);
  };
  const recover = async (extra: string[] = []): Promise<ExecResult> =>
    lifeboat(['--json', '--config', configFile, 'recover', source, '--env-file', envFile, ...extra]);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lifeboat-recovery-'));
    await mkdir('/etc/lifeboat/env', { recursive: true, mode: 0o700 });
    envFile = `/etc/lifeboat/env/${uniqueName('recovery')}.env`;
    await writeFile(envFile, `MARIADB_ROOT_PASSWORD=${PASSWORD}\nMARIADB_DATABASE=shop\n`, { mode: 0o600 });
    // The protect config: wave 1 = PostgreSQL (critical) and the files volume (optional), in
    // parallel; MariaDB after PostgreSQL (so in wave 2).
    configFile = join(dir, 'lifeboat.json');
    const drillHost = { instanceId: 'i-000000000010ca1' };
    await writeFile(
      configFile,
      JSON.stringify({
        allowedImages: ['local/postgres', 'local/mariadb', HELPER_IMAGE.split(':')[0]],
        protect: [
          {
            source,
            volume: pg.volume,
            drillHost,
            rpoMinutes: 60,
            verify: { engine: 'postgres' },
            recovery: { wave: 1, role: 'critical', container: pg.container },
          },
          {
            source,
            volume: maria.volume,
            drillHost,
            rpoMinutes: 60,
            verify: { engine: 'mysql' },
            recovery: { after: [pg.volume], container: maria.container },
          },
          {
            source,
            volume: files.volume,
            drillHost,
            rpoMinutes: 60,
            verify: { engine: 'running' },
            recovery: { role: 'optional', container: files.container },
          },
        ],
      }),
    );

    // The host: three services on one internal network (no route out).
    await docker('network', 'create', '--internal', network);
    await initPostgresVolume(pg.volume);
    await docker(
      'run',
      '-d',
      '--name',
      pg.container,
      '--network',
      network,
      '--shm-size',
      '256m',
      '--mount',
      `type=volume,src=${pg.volume},dst=${PGDATA}`,
      POSTGRES_IMAGE,
    );
    await waitForPostgres(pg.container);
    await seedRows(pg.container, ROWS);
    fingerprints.pg = await rowsFingerprint(pg.container);

    await docker('volume', 'create', maria.volume);
    await docker(
      'run',
      '-d',
      '--name',
      maria.container,
      '--network',
      network,
      '-e',
      `MARIADB_ROOT_PASSWORD=${PASSWORD}`,
      '-e',
      'MARIADB_DATABASE=shop',
      '--mount',
      `type=volume,src=${maria.volume},dst=/var/lib/mysql`,
      MARIADB_IMAGE,
    );
    await waitFor(maria.container, ['sh', '-c', `MYSQL_PWD=${PASSWORD} mariadb -uroot -e 'select 1' shop`]);
    await mariaSql(
      `use shop; create table items (id int primary key, v varchar(64)); insert into items select seq, md5(seq) from seq_1_to_${MARIA_ROWS.toString()}`,
    );
    fingerprints.maria = await mariaFingerprint();

    await docker('volume', 'create', files.volume);
    await docker(
      'run',
      '--rm',
      '--network',
      'none',
      '--mount',
      `type=volume,src=${files.volume},dst=/data`,
      '--entrypoint',
      '/bin/sh',
      HELPER_IMAGE,
      '-c',
      'mkdir -p /data/uploads && seq 1 5000 > /data/uploads/numbers.txt && echo hello > /data/readme',
    );
    await docker(
      'run',
      '-d',
      '--name',
      files.container,
      '--network',
      network,
      '--mount',
      `type=volume,src=${files.volume},dst=/srv/files`,
      HELPER_IMAGE,
      'sleep',
      'infinity',
    );
    fingerprints.files = await filesDigest();

    for (const s of [pg, maria, files]) {
      const b = await lifeboat(['--json', 'backup', s.volume, '--source', source]);
      expect(b.code, explain(b)).toBe(0);
    }
  }, 600_000);

  afterAll(async () => {
    await removeAll(containers, volumes);
    await exec('docker', ['network', 'rm', network]);
    await rm(envFile, { force: true });
    await rm(dir, { recursive: true, force: true });
  });

  it('plans, then brings all three back in wave order with the same data, and reports RPO and RTO', async () => {
    await loseHost();

    const dry = await recover(['--dry-run']);
    expect(dry.code, explain(dry)).toBe(0);
    const plan = RecoveryPlan.parse((JSON.parse(dry.stdout) as { plan: unknown }).plan);
    expect(plan.problems).toEqual([]);
    expect(plan.waves.map((w) => w.members.map((m) => m.volume).sort())).toEqual([[pg.volume, files.volume].sort(), [maria.volume]]);
    for (const m of plan.waves.flatMap((w) => w.members)) {
      expect(m.archive?.ageSeconds).toBeGreaterThanOrEqual(0);
      expect(m.predicted.seconds).toBeNull(); // nothing was ever restored: said, not guessed
      expect(m.predicted.basis).toMatch(/no restore or drill/);
    }
    for (const v of volumes) expect(await volumeExists(v)).toBe(false); // a dry run changes nothing

    const run = await recover(['--yes']);
    expect(run.code, explain(run)).toBe(0);
    const report = RecoveryReport.parse((JSON.parse(run.stdout) as { record: { report: unknown } }).record.report);
    expect(report.outcome).toBe('succeeded');
    expect(report.members.map((m) => [m.volume, m.outcome]).sort()).toEqual(
      [
        [pg.volume, 'succeeded'],
        [maria.volume, 'succeeded'],
        [files.volume, 'succeeded'],
      ].sort(),
    );
    for (const m of report.members) {
      expect(m.rpoSeconds).toBeGreaterThanOrEqual(0);
      expect(m.rtoSeconds).toBeGreaterThan(0);
      expect(m.phases?.download).toBeGreaterThanOrEqual(0);
    }
    expect(report.totalSeconds).toBeGreaterThan(0);

    // Order, from the recorded times: wave 2 starts after every member of wave 1 ended.
    const status = await lifeboat(['--json', 'status', report.recoveryId, '--source', source]);
    expect(status.code, explain(status)).toBe(0);
    const members = (JSON.parse(status.stdout) as { record: { members: Record<string, { startedAt: string; endedAt: string }> } }).record.members;
    const t = (v: string, k: 'startedAt' | 'endedAt'): number => Date.parse(members[v]?.[k] ?? 'x');
    expect(t(maria.volume, 'startedAt')).toBeGreaterThanOrEqual(Math.max(t(pg.volume, 'endedAt'), t(files.volume, 'endedAt')));

    // The same data, in the recreated containers, on the recreated network.
    await waitForPostgres(pg.container);
    expect(await rowsFingerprint(pg.container)).toBe(fingerprints.pg);
    await waitFor(maria.container, ['sh', '-c', `MYSQL_PWD=${PASSWORD} mariadb -uroot -e 'select 1' shop`]);
    expect(await mariaFingerprint()).toBe(fingerprints.maria);
    expect(await containerState(files.container)).toBe('running');
    expect(await filesDigest()).toBe(fingerprints.files);
    expect((await docker('network', 'inspect', '-f', '{{.Internal}}', network)).trim()).toBe('true');
    // Created once: two members of wave 1 missing it at the same moment must not make two of that name (Docker would).
    expect((await docker('network', 'ls', '-q', '--filter', `name=^${network}$`)).trim().split('\n')).toHaveLength(1);
  });

  it('a corrupt archive in the critical member of wave 1 stops wave 2; that member’s host side is as it was; predictions now come from history', async () => {
    await loseHost();
    // Corrupt PostgreSQL's archive in the local bucket: same size, other bytes.
    const objects = (await filesUnder(join(dir, 'state'))).filter(
      (f) => f.includes(`/${pg.volume}/`) && f.endsWith('._S3rver_object') && !f.includes('manifest'),
    );
    expect(objects.length).toBe(1);
    const archive = objects[0] ?? '';
    const bytes = await readFile(archive);
    const size = (await stat(archive)).size;
    for (let i = Math.floor(size / 2); i < Math.min(size, Math.floor(size / 2) + 64); i++) bytes[i] = (bytes[i] ?? 0) ^ 0xff;
    await writeFile(archive, bytes);

    const dry = await recover(['--dry-run']);
    expect(dry.code, explain(dry)).toBe(0);
    const plan = RecoveryPlan.parse((JSON.parse(dry.stdout) as { plan: unknown }).plan);
    const predicted = plan.waves.flatMap((w) => w.members).map((m) => m.predicted.seconds);
    expect(predicted.every((s) => s !== null && s > 0)).toBe(true);
    expect(plan.predicted.seconds).toBeGreaterThan(0);

    const run = await recover(['--yes']);
    expect(run.code, explain(run)).not.toBe(0);
    const report = RecoveryReport.parse((JSON.parse(run.stdout) as { record: { report: unknown } }).record.report);
    expect(report.outcome).toBe('stopped');
    const outcome = Object.fromEntries(report.members.map((m) => [m.volume, m]));
    expect(outcome[pg.volume]?.outcome).toBe('failed');
    // The corrupt stream fails extraction (or, were it still a valid stream, the sha256 check): rolled back either way.
    expect(outcome[pg.volume]?.error).toMatch(/extract failed|sha256/);
    expect(outcome[files.volume]?.outcome).toBe('succeeded'); // same wave: it ends
    expect(outcome[files.volume]?.predictedSeconds).toBeGreaterThan(0);
    expect(outcome[files.volume]?.rtoSeconds).toBeGreaterThan(0);
    expect(outcome[maria.volume]?.outcome).toBe('skipped'); // wave 2 never ran
    expect(report.predictedSeconds).toBeGreaterThan(0);

    // PostgreSQL's side of the host is as it was (nothing), and wave 2 touched nothing.
    expect(await volumeExists(pg.volume)).toBe(false);
    expect(await containerState(pg.container)).toBeUndefined();
    expect(await volumeExists(maria.volume)).toBe(false);
    expect(await containerState(maria.container)).toBeUndefined();
    expect(await filesDigest()).toBe(fingerprints.files);
  });
});
