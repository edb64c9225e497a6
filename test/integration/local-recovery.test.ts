/**
 * The local recovery engine: Amazon States Language run in this process by
 * aws-local-stepfunctions, every Task state answered by the one task dispatcher, each
 * member's task token answered when its restore ends (as SendTaskSuccess/Failure do).
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { S3ArchiveStore } from '#core/archive-store.ts';
import { DynamoDbCatalog } from '#core/catalog/dynamodb-catalog.ts';
import { ingestCreated } from '#core/catalog/ingest.ts';
import { startLocalDynamo, type LocalDynamo } from '#core/local/dynamodb.ts';
import {
  LOCAL_TASKS_FUNCTION_ARN,
  LocalRecoveryEngine,
  LocalTaskCallback,
  localRecovery,
  taskStateNames,
  type RecoveryProgressEvent,
} from '#core/local/recovery.ts';
import { startLocalS3, type LocalS3 } from '#core/local/s3.ts';
import { ProtectionPolicy } from '#core/protection.ts';
import { RECOVERY_ERRORS, RecoveryRequest, type MemberTask, type RecoveryRecord, type RecoveryTasks, type WaveEnd } from '#core/recovery/model.ts';
import { loadDocument, type CommandDocument } from '#core/runbooks/document.ts';
import { main, type Io } from '#root/cli/main.ts';
import { errorToResponse } from '#root/functions/commons/http-errors.ts';
import { handleApi, type ApiDeps } from '#root/functions/restore-api/app.ts';
import { routeEvent } from '../support/api.ts';

const ID = 'rc-20261201030000-1a2b3c4d';
const invoke = (task: string, input: Record<string, string>) => ({
  Type: 'Task',
  Resource: 'arn:aws:states:::lambda:invoke',
  Parameters: { FunctionName: LOCAL_TASKS_FUNCTION_ARN, Payload: { task, input } },
  ResultSelector: { 'value.$': '$.Payload' },
});

/** A small definition of the same shape as the real one: prepare, waves of members (callback tasks), wave ends, report. */
const DEFINITION = {
  StartAt: 'Prepare',
  States: {
    Prepare: { ...invoke('prepare', { 'recoveryId.$': '$.recoveryId' }), OutputPath: '$.value', Next: 'Waves' },
    Waves: {
      Type: 'Map',
      ItemsPath: '$.waves',
      MaxConcurrency: 1,
      ItemSelector: { 'recoveryId.$': '$.recoveryId', 'wave.$': '$$.Map.Item.Value' },
      ItemProcessor: {
        StartAt: 'Members',
        States: {
          Members: {
            Type: 'Map',
            ItemsPath: '$.wave.members',
            MaxConcurrency: 2,
            ItemSelector: { 'recoveryId.$': '$.recoveryId', 'volume.$': '$$.Map.Item.Value.volume', 'role.$': '$$.Map.Item.Value.role' },
            ItemProcessor: {
              StartAt: 'RestoreMember',
              States: {
                RestoreMember: {
                  Type: 'Task',
                  Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
                  Parameters: {
                    FunctionName: LOCAL_TASKS_FUNCTION_ARN,
                    Payload: { task: 'restoreMember', input: { 'recoveryId.$': '$.recoveryId', 'volume.$': '$.volume', 'taskToken.$': '$$.Task.Token' } },
                  },
                  Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'MemberFailed' }],
                  End: true,
                },
                MemberFailed: {
                  Type: 'Pass',
                  Parameters: { 'volume.$': '$.volume', 'role.$': '$.role', outcome: 'failed', 'error.$': '$.error.Error' },
                  End: true,
                },
              },
            },
            ResultPath: '$.results',
            Next: 'WaveEnded',
          },
          WaveEnded: {
            ...invoke('waveEnded', { 'recoveryId.$': '$.recoveryId', 'wave.$': '$.wave.wave', 'results.$': '$.results' }),
            End: true,
          },
        },
      },
      ResultPath: null,
      Next: 'Report',
    },
    Report: { ...invoke('report', { 'recoveryId.$': '$.recoveryId' }), OutputPath: '$.value', End: true },
  },
};

/** Tasks that record what the state machine asked, and finish members through the callback (ok or failed by volume). */
function fakeTasks(callback: LocalTaskCallback, failing: readonly string[]) {
  const calls: string[] = [];
  const tokens: string[] = [];
  const waveResults: WaveEnd[] = [];
  const tasks: RecoveryTasks = {
    prepare: () => {
      calls.push('prepare');
      return Promise.resolve({
        recoveryId: ID,
        waves: [
          {
            wave: 1,
            members: [
              { volume: 'pgdata', role: 'critical' },
              { volume: 'cache', role: 'optional' },
            ],
          },
          { wave: 2, members: [{ volume: 'files', role: 'critical' }] },
        ],
      });
    },
    launch: () => Promise.reject(new Error('no launch here')),
    checkHost: () => Promise.reject(new Error('no launch here')),
    startMember: (task: MemberTask) => {
      calls.push(`start ${task.volume}`);
      tokens.push(task.taskToken);
      if (task.volume === 'refused') return Promise.reject(new Error('refused'));
      // The restore ends later, and the completion path answers the token.
      setTimeout(() => {
        calls.push(`end ${task.volume}`);
        void (failing.includes(task.volume)
          ? callback.fail(task.taskToken, RECOVERY_ERRORS.memberFailed, `${task.volume}: checksum mismatch`)
          : callback.succeed(task.taskToken, { volume: task.volume, role: 'critical', outcome: 'succeeded', restoreId: `r-x-${task.volume}` }));
      }, 20);
      return Promise.resolve();
    },
    waveEnded: (input: WaveEnd) => {
      calls.push(`wave ${input.wave.toString()} ended`);
      waveResults.push(input);
      return Promise.resolve({ recoveryId: input.recoveryId, wave: input.wave, stop: false });
    },
    report: () => {
      calls.push('report');
      return Promise.resolve({ recoveryId: ID, outcome: 'succeeded' } as never);
    },
  };
  return { tasks, calls, tokens, waveResults };
}

const record = { id: ID, state: 'succeeded' } as unknown as RecoveryRecord;

describe('LocalRecoveryEngine (a small definition of the real shape)', () => {
  it('finds every Task state, nested Maps included', () => {
    expect(taskStateNames(DEFINITION).sort()).toEqual(['Prepare', 'Report', 'RestoreMember', 'WaveEnded']);
  });

  it('runs waves in order, members in parallel, each member ending when its token is answered; unique tokens; progress told', async () => {
    const callback = new LocalTaskCallback();
    const fake = fakeTasks(callback, []);
    const events: RecoveryProgressEvent[] = [];
    const engine = new LocalRecoveryEngine({
      definition: DEFINITION,
      tasks: () => fake.tasks,
      record: () => Promise.resolve(record),
      callback,
      onProgress: (e) => events.push(e),
    });
    expect(await engine.start(ID)).toBe(`local:${ID}`);
    const end = await engine.finished(ID);
    expect(end.status).toBe('SUCCEEDED');
    expect(end.record).toBe(record);
    // wave 2's member starts only after both members of wave 1 ended and the wave was closed.
    const at = (c: string): number => fake.calls.indexOf(c);
    expect(at('start files')).toBeGreaterThan(at('wave 1 ended'));
    expect(at('wave 1 ended')).toBeGreaterThan(Math.max(at('end pgdata'), at('end cache')));
    expect(at('start cache')).toBeLessThan(at('end pgdata')); // parallel within the wave
    expect(fake.calls.at(-1)).toBe('report');
    expect(new Set(fake.tokens).size).toBe(3);
    for (const t of fake.tokens) expect(t).toMatch(new RegExp(`^local-${ID}-(pgdata|cache|files)-[0-9]+$`));
    expect(fake.waveResults[0]?.results).toEqual(
      expect.arrayContaining([expect.objectContaining({ volume: 'pgdata', outcome: 'succeeded', restoreId: 'r-x-pgdata' })]),
    );
    expect(events.filter((e) => e.type === 'memberStarted').map((e) => e.volume)).toEqual(expect.arrayContaining(['pgdata', 'cache', 'files']));
    expect(events).toContainEqual({ type: 'waveEnded', recoveryId: ID, wave: 1, stop: false });
  });

  it("a failed member's token rejects with its error name, which the definition's Catch matches", async () => {
    const callback = new LocalTaskCallback();
    const fake = fakeTasks(callback, ['cache']);
    const events: RecoveryProgressEvent[] = [];
    const engine = new LocalRecoveryEngine({
      definition: DEFINITION,
      tasks: () => fake.tasks,
      record: () => Promise.resolve(record),
      callback,
      onProgress: (e) => events.push(e),
    });
    await engine.start(ID);
    expect((await engine.finished(ID)).status).toBe('SUCCEEDED');
    expect(fake.waveResults[0]?.results).toContainEqual({ volume: 'cache', role: 'optional', outcome: 'failed', error: RECOVERY_ERRORS.memberFailed });
    expect(events).toContainEqual({
      type: 'memberEnded',
      recoveryId: ID,
      volume: 'cache',
      outcome: 'failed',
      started: true,
      error: 'cache: checksum mismatch',
    });
  });

  it('a token answered after nothing waits for it is ignored (as a stopped execution)', async () => {
    const warned: string[] = [];
    const callback = new LocalTaskCallback((m) => warned.push(m));
    await callback.succeed('local-gone-1', { volume: 'v', role: 'critical', outcome: 'succeeded' });
    expect(warned[0]).toMatch(/no longer waiting/);
  });

  it('a second start of the same recovery is refused, as an execution name is unique', async () => {
    const callback = new LocalTaskCallback();
    const fake = fakeTasks(callback, []);
    const engine = new LocalRecoveryEngine({ definition: DEFINITION, tasks: () => fake.tasks, record: () => Promise.resolve(record), callback });
    await engine.start(ID);
    await expect(engine.start(ID)).rejects.toThrow(/already runs/);
    await engine.settled();
  });
});

// ---------------------------------------------------------------------------------------------
// The real thing, but for the host: the definition that deploys (recoveryDefinition), the
// recovery service, the restore service, completion, the catalog and the store, with the local
// runner executing a restore document whose script only records when it ran and prints the
// host's result line (the real script on real Docker is the e2e tests' job).
// ---------------------------------------------------------------------------------------------

const HOST_SCRIPT = [
  'set -Eeuo pipefail',
  'started=$(date +%s.%N)',
  'printf "%s\\n" "$started" >"$LIFEBOAT_TEST_DIR/$SSM_VolumeName.start"',
  'sleep 0.3',
  'outcome=succeeded; error=null; phase=null',
  'case ",$FAIL_VOLUMES," in *",$SSM_VolumeName,"*) outcome=failed; error=\'"sha256 mismatch: the archive is corrupt; nothing was changed"\'; phase=\'"download"\' ;; esac',
  'printf "%s\\n" "$(date +%s.%N)" >"$LIFEBOAT_TEST_DIR/$SSM_VolumeName.end"',
  'printf \'{"lifeboat":"restore-result","version":1,"restoreId":"%s","mode":"%s","outcome":"%s","failedPhase":%s,"error":%s,"volume":"%s","hostPath":null,"container":null,"containerAction":"none","bytes":4096,"sha256":null,"compression":"zstd","preservedVolume":null,"rolledBack":false,"verifyOutput":null,"phases":{"preflight":0.1,"download":0.1,"extract":0.05,"swap":0,"start":0,"verify":0,"cleanup":0},"totalSeconds":0.3}\\n\' "$SSM_RestoreId" "${SSM_Mode:-restore}" "$outcome" "$phase" "$error" "$SSM_VolumeName"',
  '[ "$outcome" = succeeded ]',
];

describe('localRecovery: the deployed definition, run here against the local runner', () => {
  const SOURCE = 'host1';
  const VOLUMES = ['pgdata', 'cache', 'files'] as const;
  let s3: LocalS3;
  let dynamo: LocalDynamo;
  let catalog: DynamoDbCatalog;
  let store: S3ArchiveStore;
  let dir: string;
  let instance = 0;
  const document = ((): CommandDocument => {
    const real = loadDocument('restore-volume');
    const [step] = real.mainSteps;
    if (!step) throw new Error('restore-volume has no step');
    return { ...real, mainSteps: [{ ...step, inputs: { ...step.inputs, runCommand: HOST_SCRIPT } }] };
  })();
  // pgdata and cache in wave 1 (cache optional), files after pgdata (wave 2).
  const protect = [
    { volume: 'pgdata', recovery: { wave: 1 } },
    { volume: 'cache', recovery: { role: 'optional' } },
    { volume: 'files', recovery: { after: ['pgdata'] } },
  ].map((p) => ProtectionPolicy.parse({ source: SOURCE, drillHost: { instanceId: 'i-0000000000000d1a1' }, rpoMinutes: 60, ...p }));

  beforeAll(async () => {
    s3 = await startLocalS3();
    dynamo = await startLocalDynamo();
    catalog = new DynamoDbCatalog(dynamo.doc, await dynamo.createCatalogTable());
    store = new S3ArchiveStore(s3.client, s3.bucket);
    dir = await mkdtemp(join(tmpdir(), 'lifeboat-recovery-'));
    for (const volume of VOLUMES) {
      const key = `archives/${SOURCE}/${volume}/20261201T020000Z.tar.zst`;
      await s3.put(key, Buffer.alloc(4096, 1));
      await s3.put(
        `${key}.manifest.json`,
        JSON.stringify({
          lifeboat: 'archive-manifest',
          version: 1,
          archiveKey: key,
          createdAt: '2026-12-01T02:00:02Z',
          source: SOURCE,
          backupId: `b-${volume}`,
          sha256: 'ab'.repeat(32),
          compression: 'zstd',
          compressedBytes: 4096,
          uncompressedBytes: 9000,
          fileCount: 3,
          consistency: 'none',
          volume: { name: volume, driver: 'local', driverOpts: null, labels: null },
          hostPath: null,
          mountPath: '/data',
          container: null,
        }),
      );
      await ingestCreated({ store, catalog }, key, { decoded: true });
      await ingestCreated({ store, catalog }, `${key}.manifest.json`, { decoded: true });
    }
  });
  afterAll(async () => {
    await s3.close();
    await dynamo.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** A fresh local Lifeboat (its own instance id, so no lock of an earlier test is in the way) failing these volumes on the host. */
  async function localLifeboat(failing: readonly string[], events: RecoveryProgressEvent[] = []) {
    const instanceId = `i-00000000000000a${(++instance).toString()}`;
    const hostDir = await mkdtemp(join(dir, 'host-'));
    const local = localRecovery({
      catalog,
      store,
      instanceId,
      helperImage: 'local/lifeboat-helper:1',
      document,
      protect,
      env: { LIFEBOAT_TEST_DIR: hostDir, FAIL_VOLUMES: failing.join(',') },
      onProgress: (e) => events.push(e),
    });
    return { instanceId, hostDir, local };
  }

  async function recoverWith(failing: readonly string[]) {
    const events: RecoveryProgressEvent[] = [];
    const { instanceId, hostDir, local } = await localLifeboat(failing, events);
    const plan = await local.recovery.plan(RecoveryRequest.parse({ source: SOURCE, target: { instanceId }, dryRun: true }));
    const started = await local.recovery.start(RecoveryRequest.parse({ source: SOURCE, target: { instanceId } }), 'local:test');
    const end = await local.engine.finished(started.recoveryId);
    await local.runner.settled();
    const times = async (volume: string) => {
      const read = async (what: string) => Number((await readFile(join(hostDir, `${volume}.${what}`), 'utf8').catch(() => 'NaN')).trim());
      return { start: await read('start'), end: await read('end') };
    };
    return { plan, started, end, events, times };
  }

  it('the dry run plans the waves from wave/after, with each archive and its age', async () => {
    const { plan } = await recoverWith([]);
    expect(plan.waves.map((w) => [w.wave, w.members.map((m) => m.volume).sort()])).toEqual([
      [1, ['cache', 'pgdata']],
      [2, ['files']],
    ]);
    expect(plan.problems).toEqual([]);
    for (const m of plan.waves.flatMap((w) => w.members)) expect(m.archive?.key).toBe(`archives/${SOURCE}/${m.volume}/20261201T020000Z.tar.zst`);
  });

  it('every member is restored, wave 2 only after wave 1 ended; the record and report say succeeded; the execution succeeded', async () => {
    const { started, end, events, times } = await recoverWith([]);
    expect(started.executionArn).toBe(`local:${started.recoveryId}`);
    expect(end.status).toBe('SUCCEEDED');
    expect(end.record.state).toBe('succeeded');
    expect(Object.fromEntries(Object.entries(end.record.members).map(([v, m]) => [v, m.state]))).toEqual({
      pgdata: 'succeeded',
      cache: 'succeeded',
      files: 'succeeded',
    });
    const [pgdata, cache, files] = await Promise.all(VOLUMES.map(times));
    expect(files?.start).toBeGreaterThan(Math.max(pgdata?.end ?? Infinity, cache?.end ?? Infinity));
    expect(end.record.report?.outcome).toBe('succeeded');
    expect(end.record.report?.members.map((m) => m.volume).sort()).toEqual(['cache', 'files', 'pgdata']);
    for (const restoreId of Object.values(end.record.members).map((m) => m.restoreId ?? '')) {
      const restore = await catalog.getRestore(restoreId);
      expect(restore?.recovery?.id).toBe(started.recoveryId);
      expect(restore?.state).toBe('succeeded');
    }
    expect(
      events
        .filter((e) => e.type === 'memberStarted')
        .map((e) => e.volume)
        .sort(),
    ).toEqual(['cache', 'files', 'pgdata']);
    expect(events.flatMap((e) => (e.type === 'waveEnded' ? [[e.wave, e.stop]] : []))).toEqual([
      [1, false],
      [2, false],
    ]);
  });

  it('a critical member failing in wave 1 stops wave 2 (never started on the host): stopped, the execution failed', async () => {
    const { end, events, times } = await recoverWith(['pgdata']);
    expect(end.record.state).toBe('stopped');
    expect(end.status).toBe('FAILED');
    expect(end.error?.Error).toBe('Lifeboat.RecoveryFailed');
    expect(end.record.members.pgdata?.state).toBe('failed');
    expect(end.record.members.pgdata?.error).toContain('sha256 mismatch');
    expect(end.record.members.cache?.state).toBe('succeeded'); // the rest of its wave still ends
    expect(end.record.members.files?.state).not.toBe('succeeded');
    expect(Number.isNaN((await times('files')).start)).toBe(true);
    expect(events).toContainEqual(expect.objectContaining({ type: 'waveEnded', wave: 1, stop: true }));
  });

  it('an optional member failing is reported and the recovery goes on: partial, the execution succeeded', async () => {
    const { end, times } = await recoverWith(['cache']);
    expect(end.record.state).toBe('partial');
    expect(end.status).toBe('SUCCEEDED');
    expect(end.record.members.cache?.state).toBe('failed');
    expect(end.record.members.files?.state).toBe('succeeded');
    expect(Number.isNaN((await times('files')).start)).toBe(false);
  });
  it('the CLI through the API: a dry run and a start POSTed, the record polled to its end with per-member lines, the report; partial exits 1', async () => {
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIDLIFEBOATTEST');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'lifeboat-test-secret');
    vi.stubEnv('AWS_SESSION_TOKEN', '');
    vi.stubEnv('AWS_PROFILE', '');
    const { instanceId, local } = await localLifeboat(['cache']);
    const notIdempotent = () => Promise.reject(new Error('no Idempotency-Key in this test'));
    const deps = {
      service: local.service,
      catalog,
      runner: local.runner,
      startIdempotent: notIdempotent,
      recoveries: { service: local.recovery, startIdempotent: notIdempotent },
    };
    const seen: string[] = [];
    const server = createServer((req, res) => {
      let text = '';
      req.setEncoding('utf8').on('data', (c: string) => (text += c));
      req.on('end', () => {
        void (async () => {
          const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname.replace(/^\/v1/, '');
          seen.push(`${req.method ?? ''} ${path}`);
          const event = routeEvent(req.method ?? 'GET', path, { body: text === '' ? null : text });
          const answer = await handleApi(deps as unknown as ApiDeps, event).catch((e: unknown) => errorToResponse(e, 'test'));
          res.writeHead(answer.statusCode, { 'content-type': 'application/json' }).end(answer.body);
        })();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port.toString()}/v1/`;
      const r = await runCli('--api', base, '--region', 'eu-west-1', 'recover', SOURCE, '--to', instanceId, '--yes');
      expect(r.code, r.err).toBe(1);
      expect(r.err).toContain('Recovery of host1: 3 volumes in 2 waves');
      expect(r.err).toMatch(/recover host1: pgdata: started\n/);
      expect(r.err).toMatch(/recover host1: cache: FAILED after [0-9.]+ s: .*sha256 mismatch/);
      expect(r.err).toMatch(/recover host1: files: SUCCEEDED after [0-9.]+ s\n/);
      expect(r.out).toMatch(/Recovery rc-[0-9]{14}-[a-f0-9]{8} of host1: PARTIAL/);
      expect(r.out).toContain('PARTIAL: every critical member is back; not recovered: cache (optional, failed)');
      expect(seen.slice(0, 2)).toEqual(['POST /sources/host1/recoveries', 'POST /sources/host1/recoveries']);
      expect(seen.slice(2).every((s) => /^GET \/sources\/host1\/recoveries\/rc-/.test(s))).toBe(true);
    } finally {
      await new Promise((resolve) => server.close(resolve));
      await local.runner.settled();
      vi.unstubAllEnvs();
    }
  });
});

const runCli = async (...args: string[]): Promise<{ code: number; out: string; err: string }> => {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c: Buffer) => (out += c.toString()));
  stderr.on('data', (c: Buffer) => (err += c.toString()));
  const io: Io = { stdout, stderr: stderr as unknown as NodeJS.WriteStream, stdin: new PassThrough() as unknown as NodeJS.ReadStream, env: {} };
  return { code: await main(args, io), out, err };
};

describe('lifeboat recover in local mode (no Docker needed for a plan)', () => {
  const run = (...args: string[]) => runCli('--local', ...args);

  it("--config's protect list gives the members and waves; a critical member without an archive is a problem (exit 4); a bad after is named", async () => {
    const home = await mkdtemp(join(tmpdir(), 'lifeboat-home-'));
    try {
      const config = join(home, 'lifeboat.json');
      const entry = (volume: string, recovery: Record<string, unknown>) => ({
        source: 'host1',
        volume,
        rpoMinutes: 60,
        drillHost: { instanceId: 'i-000000000010ca1' },
        recovery,
      });
      await writeFile(config, JSON.stringify({ protect: [entry('pgdata', {}), entry('files', { after: ['pgdata'], role: 'optional' })] }));
      const r = await run('--home', join(home, 'state'), '--config', config, 'recover', 'host1', '--dry-run');
      expect(r.code, r.err).toBe(4);
      expect(r.out).toMatch(/Wave 1\n[^]*pgdata +critical +i-000000000010ca1/);
      expect(r.out).toMatch(/Wave 2\n[^]*files +optional +i-000000000010ca1 .* pgdata +NONE/);
      expect(r.out).toMatch(/Problem: +pgdata/);
      await writeFile(config, JSON.stringify({ protect: [entry('pgdata', { after: ['nothere'] })] }));
      const bad = await run('--home', join(home, 'state'), '--config', config, 'recover', 'host1', '--dry-run');
      expect(bad.code).toBe(2);
      expect(bad.err).toMatch(/--config .*lifeboat\.json: .*nothere/);
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  });
});
