/**
 * The local recovery engine: Amazon States Language run in this process by
 * aws-local-stepfunctions, every Task state answered by the one task dispatcher, each
 * member's task token answered when its restore ends (as SendTaskSuccess/Failure do).
 */
import { describe, expect, it } from 'vitest';
import { LOCAL_TASKS_FUNCTION_ARN, LocalRecoveryEngine, LocalTaskCallback, taskStateNames, type RecoveryProgressEvent } from '#core/local/recovery.ts';
import { RECOVERY_ERRORS, type MemberTask, type RecoveryRecord, type RecoveryTasks, type WaveEnd } from '#core/recovery/model.ts';

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
