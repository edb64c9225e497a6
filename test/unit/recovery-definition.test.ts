/**
 * The recovery state machine's definition, executed: aws-local-stepfunctions runs the exact JSON
 * that deploys, with every Task state overridden by a fake standing for the tasks function
 * (runRecoveryTask over fake RecoveryTasks), so the paths between states — order of waves, what
 * stops them, what Report receives — are proven without AWS.
 */
import { createRequire } from 'node:module';
import { ExecutionError, StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import { describe, expect, it } from 'vitest';
import {
  RECOVERY_ERRORS,
  RecoveryTaskError,
  type ExecutionInput,
  type HostCheck,
  type HostCheckResult,
  type MemberResult,
  type MemberTask,
  type PreparedRecovery,
  type RecoveryReport,
  type RecoveryTasks,
  type ReportInput,
  type WaveEnd,
  type WaveVerdict,
} from '#core/recovery/model.ts';
import { runRecoveryTask } from '#core/recovery/tasks.ts';
import { LAMBDA_SERVICE_ERRORS, RECOVERY_FAILED_ERROR, recoveryDefinition } from '#root/lib/recovery-definition.ts';

type Json = Parameters<StateMachine['run']>[0];
type Validator = (definition: unknown) => { isValid: boolean; errorsText: (separator?: string) => string };
const aslValidator = createRequire(import.meta.url)('asl-validator') as Validator;

const ARN = 'arn:aws:lambda:eu-west-1:123456789012:function:lifeboat-recovery-tasks';
const ID = 'rc-20261201030000-0123abcd';
const options = { tasksFunctionArn: ARN, parallel: 2, hostWait: { seconds: 30, attempts: 3 }, memberTimeoutSeconds: 7200 };

type Member = {
  volume: string;
  role: 'critical' | 'optional';
  wave: number;
  fails?: boolean;
  /** startMember throws this error name, this many times (then starts it). */
  startFails?: { name: string; times: number };
};

/** Fake tasks: record every call in order; members end when their "completion" arrives (a resolved promise). */
class FakeTasks implements RecoveryTasks {
  readonly events: string[] = [];
  readonly reports: ReportInput[] = [];
  readonly waveInputs: WaveEnd[] = [];
  constructor(
    private readonly members: Member[],
    private readonly opts: {
      launch?: boolean;
      onlineAfter?: number;
      /** Prepare throws an error of this name (Lifeboat.RecoveryNotRunnable when true). */
      prepareFails?: boolean | string;
      parallel?: number;
      /** Report throws a plain Error this many times first. */
      reportFails?: number;
    } = {},
  ) {}

  prepare(input: ExecutionInput): Promise<PreparedRecovery> {
    this.events.push('prepare');
    if (this.opts.prepareFails === true) return Promise.reject(new RecoveryTaskError(RECOVERY_ERRORS.notRunnable, 'no drill host online'));
    if (typeof this.opts.prepareFails === 'string') {
      const e = new Error('the recovery could not be loaded');
      e.name = this.opts.prepareFails;
      return Promise.reject(e);
    }
    expect(input).toEqual({ recoveryId: ID });
    const waves = [...new Set(this.members.map((m) => m.wave))].sort((a, b) => a - b);
    return Promise.resolve({
      recoveryId: ID,
      ...(this.opts.launch ? { launch: { id: 'lt-0123456789abcdef0' } } : {}),
      ...(this.opts.parallel === undefined ? {} : { parallel: this.opts.parallel }),
      waves: waves.map((wave) => ({ wave, members: this.members.filter((m) => m.wave === wave).map(({ volume, role }) => ({ volume, role })) })),
    });
  }
  launch(input: { recoveryId: string; launch: { id: string } }): Promise<HostCheck> {
    this.events.push(`launch:${input.launch.id}`);
    return Promise.resolve({ recoveryId: input.recoveryId, instanceId: 'i-0fedcba9876543210', attempts: 0 });
  }
  checkHost(input: HostCheck): Promise<HostCheckResult> {
    const attempts = input.attempts + 1;
    this.events.push(`checkHost:${attempts.toString()}`);
    return Promise.resolve({ ...input, attempts, online: this.opts.onlineAfter !== undefined && attempts >= this.opts.onlineAfter });
  }
  startMember(task: MemberTask): Promise<void> {
    expect(task).toMatchObject({ recoveryId: ID, taskToken: 'local' });
    this.events.push(`start:${task.volume}`);
    const m = this.members.find((x) => x.volume === task.volume);
    if (m?.startFails && m.startFails.times > 0) {
      m.startFails.times -= 1;
      const e = new Error(`${task.volume} could not start`);
      e.name = m.startFails.name;
      return Promise.reject(e);
    }
    return Promise.resolve();
  }
  /** What the completion path answers for a member's token (after its restore ran). */
  async finish(volume: string): Promise<MemberResult> {
    // Let the other members of the wave start first: a wave runs its members in parallel.
    await new Promise((r) => setTimeout(r, 5));
    const m = this.members.find((x) => x.volume === volume);
    if (!m) throw new Error(`unknown member ${volume}`);
    this.events.push(`end:${volume}`);
    if (m.fails) {
      const e = new Error(`restore of ${volume} failed: sha256 mismatch`);
      e.name = RECOVERY_ERRORS.memberFailed;
      throw e;
    }
    return { volume, role: m.role, outcome: 'succeeded', restoreId: `rs-${volume}` };
  }
  waveEnded(input: WaveEnd): Promise<WaveVerdict> {
    this.events.push(`waveEnded:${input.wave.toString()}`);
    this.waveInputs.push(input);
    const failed = input.results.filter((r) => (r as { outcome: string }).outcome === 'failed') as { role: string }[];
    return Promise.resolve({ recoveryId: input.recoveryId, wave: input.wave, stop: failed.some((r) => r.role === 'critical') });
  }
  report(input: ReportInput): Promise<RecoveryReport> {
    this.events.push('report');
    this.reports.push(input);
    if (this.opts.reportFails) {
      this.opts.reportFails -= 1;
      return Promise.reject(new Error('ProvisionedThroughputExceededException: the report could not be recorded'));
    }
    const stopped = input.error?.Error === RECOVERY_ERRORS.criticalFailed;
    const outcome = input.error
      ? stopped
        ? 'stopped'
        : 'failed'
      : this.waveInputs.flatMap((w) => w.results).some((r) => (r as MemberResult).outcome === 'failed')
        ? 'partial'
        : 'succeeded';
    const now = '2026-12-01T03:00:00.000Z';
    return Promise.resolve({
      recoveryId: input.recoveryId,
      source: 'db1',
      mode: 'restore',
      outcome,
      startedAt: now,
      endedAt: now,
      totalSeconds: 1,
      predictedSeconds: null,
      members: [],
      text: `recovery ${input.recoveryId}: ${outcome}`,
    });
  }
}

/** Runs the definition with every Task state overridden the way the local runner does it (Lambda's {Payload} envelope included). */
async function execute(tasks: FakeTasks, input: unknown = { recoveryId: ID }, o = options) {
  const definition = recoveryDefinition(o);
  const invoke = async (params: unknown) => {
    const p = params as { FunctionName: string; Payload: unknown };
    expect(p.FunctionName).toBe(ARN);
    return { Payload: (await runRecoveryTask(tasks, p.Payload)) as Json };
  };
  const sm = new StateMachine(definition as unknown as StateMachineDefinition);
  const run = sm.run(input as Json, {
    context: { Task: { Token: 'local' } },
    overrides: {
      taskResourceLocalHandlers: {
        Prepare: invoke,
        Launch: invoke,
        CheckHost: invoke,
        WaveEnded: invoke,
        Report: invoke,
        // waitForTaskToken: the function only starts the member; the task's result is what answers the token.
        RestoreMember: async (params) => {
          const p = params as { FunctionName: string; Payload: { input: { volume: string } } };
          expect(p.FunctionName).toBe(ARN);
          await runRecoveryTask(tasks, p.Payload);
          return await tasks.finish(p.Payload.input.volume);
        },
      },
      waitTimeOverrides: { WaitForHost: 0 },
      retryIntervalOverrides: { RestoreMember: 0, Prepare: 0, Launch: 0, CheckHost: 0, WaveEnded: 0, Report: 0 },
    },
  });
  return run.result;
}

/** How an execution failed: the Fail state's (or the uncaught) error name and cause. */
async function failure(run: Promise<unknown>): Promise<{ error: string; cause: string }> {
  const e = await run.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(ExecutionError);
  const caught = (e as ExecutionError).cause as Error;
  return { error: caught.name, cause: caught.message };
}

const indexOf = (events: string[], e: string): number => {
  const i = events.indexOf(e);
  expect(i, `${e} in ${events.join(', ')}`).toBeGreaterThanOrEqual(0);
  return i;
};

describe('recoveryDefinition', () => {
  it('is valid Amazon States Language (asl-validator)', () => {
    const result = aslValidator(recoveryDefinition({ ...options, timeoutSeconds: 86_400 }));
    expect(result.errorsText('\n')).toBe('');
    expect(result.isValid).toBe(true);
  });

  it('calls the one tasks function from every Task state; RestoreMember waits for its token, bounded', () => {
    const def = recoveryDefinition(options) as { States: Record<string, Record<string, unknown>> };
    const members = def.States.Members as { MaxConcurrencyPath: string; ItemProcessor: { States: Record<string, Record<string, unknown>> } };
    expect(members.MaxConcurrencyPath).toBe('$.parallel');
    expect(def.States.DefaultParallel).toMatchObject({ Result: 2, ResultPath: '$.parallel' });
    const restore = members.ItemProcessor.States.RestoreMember as Record<string, unknown>;
    expect(restore).toMatchObject({
      Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
      TimeoutSeconds: 7200,
      Parameters: { FunctionName: ARN, Payload: { task: 'restoreMember', input: { 'taskToken.$': '$$.Task.Token' } } },
    });
    // First matching retrier wins: a member's own verdicts (not started, restore failed, timed out) are never retried;
    // the Lambda service's errors are; then any other error of the function twice (startMember is idempotent).
    expect(restore.Retry).toEqual([
      { ErrorEquals: [RECOVERY_ERRORS.memberNotStarted, RECOVERY_ERRORS.memberFailed, 'States.Timeout'], MaxAttempts: 0 },
      expect.objectContaining({ ErrorEquals: [...LAMBDA_SERVICE_ERRORS] }),
      expect.objectContaining({ ErrorEquals: ['States.ALL'], MaxAttempts: 2, BackoffRate: expect.any(Number) as unknown }),
    ]);
    // Report retries anything: it is idempotent on a final record.
    expect(def.States.Report?.Retry).toEqual([
      expect.objectContaining({ ErrorEquals: [...LAMBDA_SERVICE_ERRORS] }),
      expect.objectContaining({ ErrorEquals: ['States.ALL'], MaxAttempts: 3, BackoffRate: expect.any(Number) as unknown }),
    ]);
    // Prepare's refusal ends the execution without Report; other failures of a recorded recovery are reported.
    expect(def.States.Prepare?.Catch).toEqual([
      { ErrorEquals: [RECOVERY_ERRORS.notRunnable], ResultPath: '$.error', Next: 'NotPrepared' },
      { ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'Prepared?' },
    ]);
    const tasks = [def.States, members.ItemProcessor.States].flatMap((s) => Object.entries(s)).filter(([, s]) => s.Type === 'Task');
    expect(tasks.map(([n]) => n).sort()).toEqual(['CheckHost', 'Launch', 'Prepare', 'Report', 'RestoreMember', 'WaveEnded']);
    for (const [, s] of tasks) expect((s.Parameters as { FunctionName: string }).FunctionName).toBe(ARN);
    for (const [name, s] of tasks.filter(([n]) => n !== 'RestoreMember')) {
      expect(s.Resource, name).toBe('arn:aws:states:::lambda:invoke');
      expect(JSON.stringify(s.ResultSelector), name).toMatch(/\$\.Payload/);
    }
    expect(recoveryDefinition({ ...options, timeoutSeconds: 86_400 }).TimeoutSeconds).toBe(86_400);
  });

  it.each([
    [{ ...options, parallel: 0 }, /parallel must be a whole number from 1/],
    [{ ...options, hostWait: { seconds: 30, attempts: 0 } }, /hostWait\.attempts/],
    [{ ...options, memberTimeoutSeconds: 1.5 }, /memberTimeoutSeconds/],
    [{ ...options, tasksFunctionArn: '' }, /tasksFunctionArn/],
  ])('refuses options it cannot honour (%#)', (o, message) => {
    expect(() => recoveryDefinition(o)).toThrow(message);
  });

  it('runs the waves in order: wave 2’s members start after wave 1’s members ended, members of a wave in parallel', async () => {
    const tasks = new FakeTasks([
      { volume: 'pgdata', role: 'critical', wave: 1 },
      { volume: 'redisdata', role: 'critical', wave: 1 },
      { volume: 'appdata', role: 'optional', wave: 2 },
    ]);
    const output = await execute(tasks);
    const e = tasks.events;
    expect(e[0]).toBe('prepare');
    // Both wave-1 members started before either ended (parallel within the wave).
    expect(Math.max(indexOf(e, 'start:pgdata'), indexOf(e, 'start:redisdata'))).toBeLessThan(Math.min(indexOf(e, 'end:pgdata'), indexOf(e, 'end:redisdata')));
    expect(indexOf(e, 'waveEnded:1')).toBeGreaterThan(Math.max(indexOf(e, 'end:pgdata'), indexOf(e, 'end:redisdata')));
    expect(indexOf(e, 'start:appdata')).toBeGreaterThan(indexOf(e, 'waveEnded:1'));
    expect(e.slice(-2)).toEqual(['waveEnded:2', 'report']);
    expect(tasks.waveInputs[0]).toEqual({
      recoveryId: ID,
      wave: 1,
      results: [
        { volume: 'pgdata', role: 'critical', outcome: 'succeeded', restoreId: 'rs-pgdata' },
        { volume: 'redisdata', role: 'critical', outcome: 'succeeded', restoreId: 'rs-redisdata' },
      ],
    });
    expect(tasks.reports).toEqual([{ recoveryId: ID }]);
    expect(output).toMatchObject({ outcome: 'succeeded', text: `recovery ${ID}: succeeded` });
  });

  it('the recovery’s own parallel bounds its waves: 1 restores the members of a wave one after the other', async () => {
    const tasks = new FakeTasks(
      [
        { volume: 'pgdata', role: 'critical', wave: 1 },
        { volume: 'redisdata', role: 'critical', wave: 1 },
      ],
      { parallel: 1 },
    );
    await execute(tasks);
    expect(tasks.events).toEqual(['prepare', 'start:pgdata', 'end:pgdata', 'start:redisdata', 'end:redisdata', 'waveEnded:1', 'report']);
  });

  it('a critical failure in wave 1 stops wave 2; the rest of wave 1 still ends; Report gets the error; the execution fails', async () => {
    const tasks = new FakeTasks([
      { volume: 'pgdata', role: 'critical', wave: 1, fails: true },
      { volume: 'redisdata', role: 'optional', wave: 1 },
      { volume: 'appdata', role: 'critical', wave: 2 },
    ]);
    // The execution fails (the state machine's failed-executions alarm), its cause the report's text.
    expect(await failure(execute(tasks))).toEqual({ error: RECOVERY_FAILED_ERROR, cause: `recovery ${ID}: stopped` });
    expect(tasks.events).toContain('end:redisdata');
    expect(tasks.events).not.toContain('start:appdata');
    expect(tasks.events.at(-1)).toBe('report');
    // The failed member became its result, with the restore's error as the catch gave it.
    expect(tasks.waveInputs[0]?.results).toContainEqual({
      volume: 'pgdata',
      role: 'critical',
      outcome: 'failed',
      error: { Error: RECOVERY_ERRORS.memberFailed, Cause: expect.stringContaining('sha256 mismatch') as unknown },
    });
    expect(tasks.reports).toEqual([
      { recoveryId: ID, error: { Error: RECOVERY_ERRORS.criticalFailed, Cause: 'a critical member of wave 1 failed: later waves do not run' } },
    ]);
  });

  it('an optional failure does not stop later waves, and the recovery ends partial (succeeded execution)', async () => {
    const tasks = new FakeTasks([
      { volume: 'pgdata', role: 'critical', wave: 1 },
      { volume: 'cache', role: 'optional', wave: 1, fails: true },
      { volume: 'appdata', role: 'critical', wave: 2 },
    ]);
    const output = await execute(tasks);
    expect(tasks.events).toContain('start:appdata');
    expect(tasks.reports).toEqual([{ recoveryId: ID }]);
    expect(output).toMatchObject({ outcome: 'partial' });
  });

  it('only the Lambda service’s own errors are retried; a member that could not start is that member’s failure, caught', async () => {
    const tasks = new FakeTasks([
      { volume: 'pgdata', role: 'critical', wave: 1, startFails: { name: 'Lambda.TooManyRequestsException', times: 1 } },
      { volume: 'cache', role: 'optional', wave: 1, startFails: { name: RECOVERY_ERRORS.memberNotStarted, times: 1 } },
    ]);
    const output = await execute(tasks);
    expect(tasks.events.filter((e) => e === 'start:pgdata')).toHaveLength(2);
    expect(tasks.events.filter((e) => e === 'start:cache')).toHaveLength(1);
    expect(tasks.events).not.toContain('end:cache');
    expect(tasks.waveInputs[0]?.results).toEqual([
      { volume: 'pgdata', role: 'critical', outcome: 'succeeded', restoreId: 'rs-pgdata' },
      {
        volume: 'cache',
        role: 'optional',
        outcome: 'failed',
        error: { Error: RECOVERY_ERRORS.memberNotStarted, Cause: expect.stringContaining('could not start') as unknown },
      },
    ]);
    expect(output).toMatchObject({ outcome: 'partial' });
  });

  it('launches the replacement, checks it until online, then restores', async () => {
    const tasks = new FakeTasks([{ volume: 'pgdata', role: 'critical', wave: 1 }], { launch: true, onlineAfter: 2 });
    await execute(tasks);
    expect(tasks.events.slice(0, 5)).toEqual(['prepare', 'launch:lt-0123456789abcdef0', 'checkHost:1', 'checkHost:2', 'start:pgdata']);
  });

  it('gives up on a replacement that never comes online after hostWait.attempts checks: Report gets Lifeboat.HostNotOnline', async () => {
    const tasks = new FakeTasks([{ volume: 'pgdata', role: 'critical', wave: 1 }], { launch: true });
    expect(await failure(execute(tasks))).toEqual({ error: RECOVERY_FAILED_ERROR, cause: `recovery ${ID}: failed` });
    expect(tasks.events).toEqual(['prepare', 'launch:lt-0123456789abcdef0', 'checkHost:1', 'checkHost:2', 'checkHost:3', 'report']);
    expect(tasks.reports).toEqual([
      {
        recoveryId: ID,
        error: { Error: RECOVERY_ERRORS.hostNotOnline, Cause: 'the launched instance i-0fedcba9876543210 was not online in SSM after 3 checks 30 s apart' },
      },
    ]);
  });

  it('a transient error of the function starting a member is retried: the member succeeds (its restore was running)', async () => {
    const tasks = new FakeTasks([
      { volume: 'pgdata', role: 'critical', wave: 1, startFails: { name: 'Error', times: 1 } },
      { volume: 'appdata', role: 'critical', wave: 2 },
    ]);
    const output = await execute(tasks);
    expect(tasks.events.filter((e) => e === 'start:pgdata')).toHaveLength(2);
    expect(tasks.waveInputs[0]?.results).toEqual([{ volume: 'pgdata', role: 'critical', outcome: 'succeeded', restoreId: 'rs-pgdata' }]);
    expect(tasks.events).toContain('start:appdata');
    expect(output).toMatchObject({ outcome: 'succeeded' });
  });

  it('a function error that persists past its two retries is the member’s failure', async () => {
    const tasks = new FakeTasks([{ volume: 'pgdata', role: 'optional', wave: 1, startFails: { name: 'Error', times: 5 } }]);
    await execute(tasks);
    expect(tasks.events.filter((e) => e === 'start:pgdata')).toHaveLength(3);
    expect(tasks.waveInputs[0]?.results).toEqual([
      { volume: 'pgdata', role: 'optional', outcome: 'failed', error: { Error: 'Error', Cause: expect.stringContaining('could not start') as unknown } },
    ]);
  });

  it('a restore that failed on the host is not retried (its answer is the member’s failure)', async () => {
    const tasks = new FakeTasks([{ volume: 'pgdata', role: 'optional', wave: 1, fails: true }]);
    await execute(tasks);
    expect(tasks.events.filter((e) => e === 'start:pgdata')).toHaveLength(1);
  });

  it('Prepare refusing (not runnable: e.g. a second execution of a live recovery) ends the execution without Report', async () => {
    const tasks = new FakeTasks([], { prepareFails: true });
    expect(await failure(execute(tasks))).toEqual({ error: RECOVERY_ERRORS.notRunnable, cause: 'no drill host online' });
    expect(tasks.events).toEqual(['prepare']);
    expect(tasks.reports).toEqual([]);

    const drill = new FakeTasks([], { prepareFails: true });
    expect(await failure(execute(drill, { scheduledDrill: { source: 'db1' } }))).toEqual({ error: RECOVERY_ERRORS.notRunnable, cause: 'no drill host online' });
    expect(drill.events).toEqual(['prepare']);
  });

  it('any other Prepare failure of a recorded recovery is reported; a scheduled drill’s ends the execution with Prepare’s error', async () => {
    const recorded = new FakeTasks([], { prepareFails: 'Error' });
    expect((await failure(execute(recorded))).error).toBe(RECOVERY_FAILED_ERROR);
    expect(recorded.reports).toEqual([{ recoveryId: ID, error: { Error: 'Error', Cause: expect.stringContaining('could not be loaded') as unknown } }]);

    const drill = new FakeTasks([], { prepareFails: 'Error' });
    expect(await failure(execute(drill, { scheduledDrill: { source: 'db1' } }))).toEqual({ error: 'Error', cause: 'the recovery could not be loaded' });
    expect(drill.reports).toEqual([]);
  });

  it('Report is retried on any error: the recovery is still reported', async () => {
    const tasks = new FakeTasks([{ volume: 'pgdata', role: 'critical', wave: 1 }], { reportFails: 2 });
    const output = await execute(tasks);
    expect(tasks.events.filter((e) => e === 'report')).toHaveLength(3);
    expect(output).toMatchObject({ outcome: 'succeeded' });
  });
});
