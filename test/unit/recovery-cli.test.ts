/**
 * `lifeboat recover` against a deployed Lifeboat: the flags become one RecoveryRequest (each
 * usage error names its flag, and nothing is sent), the plan is printed (waves, members, archive
 * and age = RPO, predictions, problems), then per-member progress from polling the record, then
 * the report; the exit code is 0 only for a recovery that succeeded. A local HTTP server stands in
 * for the API (answers as the handler gives them; the handler has its own tests).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RecoveryRecord } from '#core/recovery/model.ts';
import { main, type Io } from '#root/cli/main.ts';
import { JsonOutput } from '#root/cli/schema.ts';
import { recoveryPlanText, recoveryReportText } from '#root/cli/output.ts';
import { PLAN, RECOVERY_ID, TARGET, recoveryRecord } from '../support/recovery-fixtures.ts';

interface Request {
  method: string;
  path: string;
  body: unknown;
}
const requests: Request[] = [];
/** What the stand-in answers, per `METHOD /path` (a queue: the last answer repeats). */
const answers = new Map<string, { status: number; body: unknown }[]>();
const answer = (route: string, ...bodies: { status: number; body: unknown }[]): void => {
  answers.set(route, bodies);
};

let server: Server;
let base: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    let text = '';
    req.setEncoding('utf8').on('data', (c: string) => (text += c));
    req.on('end', () => {
      const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname.replace(/^\/v1/, '');
      const body = text === '' ? undefined : (JSON.parse(text) as unknown);
      requests.push({ method: req.method ?? '', path, body });
      const dry = (body as { dryRun?: boolean } | undefined)?.dryRun === true ? ' dryRun' : '';
      const queue = answers.get(`${req.method ?? ''} ${path}${dry}`) ?? answers.get(`${req.method ?? ''} ${path}`);
      const next = queue && queue.length > 1 ? queue.shift() : queue?.[0];
      res.writeHead(next?.status ?? 404, { 'content-type': 'application/json' }).end(JSON.stringify(next?.body ?? { error: `no route ${path}` }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port.toString()}/v1/`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});
beforeEach(() => {
  requests.length = 0;
  answers.clear();
  answer('POST /sources/db1/recoveries dryRun', { status: 200, body: { dryRun: true, plan: PLAN } });
});

async function lifeboat(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c: Buffer) => (out += c.toString()));
  stderr.on('data', (c: Buffer) => (err += c.toString()));
  const io: Io = { stdout, stderr: stderr as unknown as NodeJS.WriteStream, stdin: new PassThrough() as unknown as NodeJS.ReadStream, env: {} };
  const code = await main(['--api', base, '--region', 'eu-west-1', ...args], io);
  return { code, out, err };
}

const started = { recoveryId: RECOVERY_ID, state: 'planned', executionArn: `arn:aws:states:eu-west-1:1:execution:R:${RECOVERY_ID}`, plan: PLAN };
const member = (state: 'running' | 'succeeded' | 'failed', seconds?: number, error?: string): RecoveryRecord['members'][string] => ({
  state,
  restoreId: 'r-mwzx1k2a-1a2b3c4d',
  startedAt: '2026-12-01T03:00:02.000Z',
  ...(state === 'running' ? {} : { endedAt: '2026-12-01T03:00:12.000Z', totalSeconds: seconds, phases: { download: 1.5, extract: 2, verify: 0.5 } }),
  ...(error ? { error } : {}),
});

describe('lifeboat recover: the plan', () => {
  it('--dry-run prints every member by wave with its archive, age (RPO) and predicted time, the total and the warnings; nothing is started', async () => {
    const r = await lifeboat('recover', 'db1', '--to', TARGET, '--dry-run');
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain('Recovery of db1: 3 volumes in 2 waves, 4 at a time per wave');
    expect(r.out).toMatch(/Wave 1\n.*VOLUME +ROLE +TARGET +CONTAINER +AFTER +ARCHIVE TAKEN +RPO +SIZE +PREDICTED/);
    expect(r.out).toMatch(/pgdata +critical +i-0123456789abcdef0 +db +- +2026-12-01T02:00:00Z +60 min +4\.3 MB +12\.5 s/);
    expect(r.out).toMatch(/Wave 2\n[^]*files +critical +i-0123456789abcdef0 +\(data only\) +pgdata/);
    expect(r.out).toContain('cache: archives/db1/cache/20261201T020000Z.tar.zst; no restore or drill of db1/cache recorded yet');
    expect(r.out).toContain('Predicted total: 15.5 s');
    expect(r.out).toContain('Warning:   no restore or drill of db1/cache recorded yet');
    expect(r.out).toContain('This was a plan; nothing was started.');
    expect(requests).toEqual([
      { method: 'POST', path: '/sources/db1/recoveries', body: { target: { instanceId: TARGET }, ifVolumeExists: 'fail', parallel: 4, dryRun: true } },
    ]);
  });

  it('--json --dry-run prints the plan as one JSON document; --at, --parallel, --if-volume-exists and --env-file go into the request', async () => {
    const r = await lifeboat(
      '--json',
      'recover',
      'db1',
      '--to',
      TARGET,
      '--dry-run',
      '--at',
      '2026-12-01T02:30:00Z',
      '--parallel',
      '2',
      '--if-volume-exists',
      'preserve',
      '--env-file',
      '/etc/lifeboat/env/db1.env',
    );
    expect(r.code, r.err).toBe(0);
    expect(JsonOutput.recoveryPlan.parse(JSON.parse(r.out)).plan.source).toBe('db1');
    expect(requests[0]?.body).toEqual({
      target: { instanceId: TARGET },
      at: '2026-12-01T02:30:00Z',
      ifVolumeExists: 'preserve',
      parallel: 2,
      containerEnvFile: '/etc/lifeboat/env/db1.env',
      dryRun: true,
    });
  });

  it('a plan with problems: the dry run says a recovery would be refused (exit 4); a recovery is refused before anything starts', async () => {
    answer('POST /sources/db1/recoveries dryRun', { status: 200, body: { dryRun: true, plan: { ...PLAN, problems: ['pgdata (critical) has no archive'] } } });
    const dry = await lifeboat('recover', 'db1', '--to', TARGET, '--dry-run');
    expect(dry.code).toBe(4);
    expect(dry.out).toContain('Problem:   pgdata (critical) has no archive');
    expect(dry.out).toContain('A recovery would be refused until the problems are fixed.');
    const run = await lifeboat('recover', 'db1', '--to', TARGET, '--yes');
    expect(run.code).toBe(4);
    expect(run.err).toContain('the recovery plan has problems; nothing was started: pgdata (critical) has no archive');
    expect(requests.filter((q) => (q.body as { dryRun?: boolean } | undefined)?.dryRun === false)).toEqual([]);
  });

  it('usage errors name the flag and send nothing', async () => {
    for (const [args, said] of [
      [['--to', 'i-0123;reboot'], /--to "i-0123;reboot" must be an EC2 instance/],
      [['--volume-target', 'pgdata'], /--volume-target "pgdata" must be <volume>=<instance>/],
      [['--volume-target', 'pgdata=i-1'], /--volume-target pgdata= "i-1" must be an EC2 instance/],
      [['--to', TARGET, '--parallel', '11'], /--parallel must be a whole number from 1 to 10/],
      [['--to', TARGET, '--at', 'yesterday'], /--at must be an ISO 8601 time/],
      [['--to', TARGET, '--if-volume-exists', 'overwrite'], /'--if-volume-exists <how>' argument 'overwrite' is invalid/],
      [['--to', TARGET, '--env-file', '/root/.ssh/id_rsa'], /--env-file must be a file in/],
      [[], /--to is required/],
    ] as const) {
      const r = await lifeboat('recover', 'db1', '--yes', ...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err, args.join(' ')).toMatch(said);
    }
    // A recovery no one can confirm (stdin is not a terminal here; --json) needs --yes.
    const unconfirmed = await lifeboat('recover', 'db1', '--to', TARGET);
    expect(unconfirmed.code).toBe(2);
    expect(unconfirmed.err).toContain('recover restores every protected volume of db1 and asks first, but stdin is not a terminal: add --yes');
    const json = await lifeboat('--json', 'recover', 'db1', '--to', TARGET);
    expect(json.code).toBe(2);
    expect(json.out).toContain('--json was given: add --yes');
    const source = await lifeboat('recover', '../etc', '--to', TARGET, '--yes');
    expect(source.code).toBe(2);
    expect(source.err).toContain('<source> "../etc" is not allowed');
    expect(requests).toEqual([]);
  });

  it('--volume-target with --to: named volumes go where named, the rest to --to; a volume that is not a member is named', async () => {
    answer('POST /sources/db1/recoveries', { status: 202, body: started });
    answer('GET /sources/db1/recoveries/' + RECOVERY_ID, {
      status: 200,
      body: recoveryRecord('succeeded', { pgdata: member('succeeded', 10), cache: member('succeeded', 2), files: member('succeeded', 1) }),
    });
    const r = await lifeboat('recover', 'db1', '--to', TARGET, '--volume-target', 'cache=i-0fedcba9876543210', '--yes');
    expect(r.code, r.err).toBe(0);
    const start = requests.find((q) => (q.body as { dryRun?: boolean }).dryRun === false);
    expect((start?.body as { target: unknown }).target).toEqual({ volumes: { pgdata: TARGET, cache: 'i-0fedcba9876543210', files: TARGET } });
    const bad = await lifeboat('recover', 'db1', '--to', TARGET, '--volume-target', 'redis=i-0fedcba9876543210', '--dry-run');
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('--volume-target names redis, which is not a protected volume of source db1 (its volumes: pgdata, cache, files)');
  });
});

describe('lifeboat recover: progress and the report', () => {
  it('prints each member as it starts and ends, then the report; a partial recovery exits non-zero and says which member', async () => {
    answer('POST /sources/db1/recoveries', { status: 202, body: started });
    answer(
      `GET /sources/db1/recoveries/${RECOVERY_ID}`,
      { status: 200, body: recoveryRecord('running', { pgdata: member('running'), cache: member('running'), files: { state: 'pending' } }) },
      {
        status: 200,
        body: recoveryRecord('partial', {
          pgdata: member('succeeded', 10),
          cache: member('failed', 4, 'verify: redis did not answer PING'),
          files: member('succeeded', 1.25),
        }),
      },
    );
    const r = await lifeboat('recover', 'db1', '--to', TARGET, '--yes');
    expect(r.code).toBe(1);
    // The plan first, then the start, then one line per member change.
    expect(r.err).toContain('Recovery of db1: 3 volumes in 2 waves');
    expect(r.err).toContain(`Recovery ${RECOVERY_ID} started (arn:aws:states:eu-west-1:1:execution:R:${RECOVERY_ID}).`);
    expect(r.err).toMatch(/recover db1: pgdata: started\n/);
    expect(r.err).toMatch(/recover db1: pgdata: SUCCEEDED after 10\.0 s\n/);
    expect(r.err).toMatch(/recover db1: cache: FAILED after 4\.0 s: verify: redis did not answer PING\n/);
    expect(r.err).toMatch(/recover db1: files: started\n[^]*files: SUCCEEDED after 1\.3 s/);
    expect(r.out).toContain(`Recovery ${RECOVERY_ID} of db1: PARTIAL`);
    expect(r.out).toContain('total RTO 30.0 s, predicted 15.5 s');
    expect(r.out).toMatch(/WAVE +VOLUME +ROLE +OUTCOME +RPO +RTO +PREDICTED +PHASES/);
    expect(r.out).toMatch(/1 +pgdata +critical +SUCCEEDED +60 min +10\.0 s +12\.5 s +download 1\.5, extract 2\.0, verify 0\.5/);
    expect(r.out).toContain('PARTIAL: every critical member is back; not recovered: cache (optional, failed)');
    const gets = requests.filter((q) => q.method === 'GET');
    expect(gets).toHaveLength(2);
  });

  it('a succeeded recovery exits 0; --json prints what was started and the final record with its report', async () => {
    answer('POST /sources/db1/recoveries', { status: 202, body: started });
    answer(`GET /sources/db1/recoveries/${RECOVERY_ID}`, {
      status: 200,
      body: recoveryRecord('succeeded', { pgdata: member('succeeded', 10), cache: member('succeeded', 2), files: member('succeeded', 1) }),
    });
    const r = await lifeboat('--json', 'recover', 'db1', '--to', TARGET, '--yes');
    expect(r.code, r.err).toBe(0);
    const out = JsonOutput.recovery.parse(JSON.parse(r.out));
    expect(out.recoveryId).toBe(RECOVERY_ID);
    expect(out.record?.report?.outcome).toBe('succeeded');
    expect(r.err).toBe('');
  });

  it('a stopped recovery (a critical member failed) exits 1 and says later waves did not run; `lifeboat status <rc-…>` shows the same report', async () => {
    const record = recoveryRecord('stopped', { pgdata: member('failed', 3, 'sha256 mismatch'), cache: member('succeeded', 2), files: { state: 'skipped' } });
    answer(`GET /sources/db1/recoveries/${RECOVERY_ID}`, { status: 200, body: record });
    const r = await lifeboat('status', RECOVERY_ID, '--source', 'db1');
    expect(r.code).toBe(1);
    expect(r.out).toBe(`${recoveryReportText(record)}\n`);
    expect(r.out).toContain(
      'STOPPED: a critical member failed, so later waves did not run; not recovered: pgdata (critical, failed), files (critical, skipped)',
    );
    expect(r.out).toContain('pgdata: sha256 mismatch');
    const noSource = await lifeboat('status', RECOVERY_ID);
    expect(noSource.code).toBe(2);
    expect(noSource.err).toContain('--source is required to find recovery');
  });

  it('the plan text is the same in the dry run and before a recovery', () => {
    expect(recoveryPlanText(PLAN)).toContain('Target:    i-0123456789abcdef0');
    expect(recoveryPlanText({ ...PLAN, target: { launchTemplate: { id: 'lt-0123456789abcdef0' } } })).toContain(
      'a new instance from launch template lt-0123456789abcdef0 ($Default)',
    );
  });
});
