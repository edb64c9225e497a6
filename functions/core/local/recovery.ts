/**
 * Whole-host recovery on this machine: the state machine definition that deploys
 * (lib/recovery-definition.ts), run by aws-local-stepfunctions in this process, its Task
 * states answered by the same dispatcher the recovery tasks Lambda uses, and each member's
 * task token answered by the completion path when the member's restore ends, as
 * SendTaskSuccess/SendTaskFailure do in AWS.
 */
import { ExecutionAbortedError, StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import { recoveryDefinition } from '#root/lib/recovery-definition.ts';
import type { ProtectionPolicy } from '../protection.ts';
import { MemberResult, type RecoveryEngine, type RecoveryRecord, type RecoveryTasks, type TaskCallback } from '../recovery/model.ts';
import { RecoveryService } from '../recovery/service.ts';
import { runRecoveryTask } from '../recovery/tasks.ts';
import { localRestore, type LocalRestore, type LocalRestoreOptions } from './restore.ts';

/** The tasks function the local definition names (nothing is invoked: every Task state is overridden). */
export const LOCAL_TASKS_FUNCTION_ARN = 'arn:aws:lambda:local:000000000000:function:lifeboat-recovery-tasks';

/** The token the local context gives `$$.Task.Token`; RestoreMember replaces it with a unique one. */
const CONTEXT_TOKEN = 'local';

/** What a local recovery reports while it runs (the CLI's per-member lines). */
export type RecoveryProgressEvent =
  | { readonly type: 'memberStarted'; readonly recoveryId: string; readonly volume: string }
  | {
      readonly type: 'memberEnded';
      readonly recoveryId: string;
      readonly volume: string;
      readonly outcome: 'succeeded' | 'failed' | 'skipped';
      /** false: the member was refused before anything reached the host. */
      readonly started: boolean;
      readonly error?: string | null;
    }
  | { readonly type: 'waveEnded'; readonly recoveryId: string; readonly wave: number; readonly stop: boolean; readonly reason?: string };

/** How a local execution ended, and the recovery's record once it had. */
export interface LocalExecutionEnd {
  /** As Step Functions names an execution's end. */
  readonly status: 'SUCCEEDED' | 'FAILED' | 'ABORTED';
  /** The Fail state's or the uncaught error's name and cause (FAILED only). */
  readonly error?: { readonly Error: string; readonly Cause?: string };
  readonly record: RecoveryRecord;
}

interface Waiter {
  resolve(output: MemberResult): void;
  reject(error: Error): void;
}

/**
 * Answers members' task tokens in this process: a RestoreMember task waits on its token's
 * promise, and the completion path settles it (succeed → the output, fail → an Error whose
 * name is the error, which the definition's Catch matches).
 */
export class LocalTaskCallback implements TaskCallback {
  private readonly waiting = new Map<string, Waiter>();

  constructor(private readonly warn: (message: string) => void = () => undefined) {}

  /** The promise a RestoreMember task waits on; register it before the member is started. */
  expect(taskToken: string): Promise<MemberResult> {
    return new Promise<MemberResult>((resolve, reject) => {
      this.waiting.set(taskToken, { resolve, reject });
    });
  }

  /** Nothing will answer this token (the member was never started). */
  forget(taskToken: string): void {
    this.waiting.delete(taskToken);
  }

  succeed(taskToken: string, output: MemberResult): Promise<void> {
    const waiter = this.take(taskToken);
    waiter?.resolve(MemberResult.parse(output));
    return Promise.resolve();
  }

  fail(taskToken: string, error: string, cause: string): Promise<void> {
    const waiter = this.take(taskToken);
    if (waiter) {
      const e = new Error(cause);
      e.name = error;
      waiter.reject(e);
    }
    return Promise.resolve();
  }

  /** Like SendTask*: a token nothing waits for any more (execution over, member timed out) is said and ignored. */
  private take(taskToken: string): Waiter | undefined {
    const waiter = this.waiting.get(taskToken);
    this.waiting.delete(taskToken);
    if (!waiter) this.warn(`the recovery task token ${taskToken} is no longer waiting (execution over or timed out)`);
    return waiter;
  }
}

/** Names of every Task state, nested Map and Parallel states included (each gets the local handler). */
export function taskStateNames(definition: Readonly<Record<string, unknown>>): string[] {
  const names: string[] = [];
  const walk = (machine: unknown): void => {
    if (typeof machine !== 'object' || machine === null) return;
    const states = (machine as { States?: Record<string, Record<string, unknown>> }).States ?? {};
    for (const [name, state] of Object.entries(states)) {
      if (state.Type === 'Task') names.push(name);
      walk(state.ItemProcessor);
      walk(state.Iterator);
      for (const branch of (state.Branches as unknown[] | undefined) ?? []) walk(branch);
    }
  };
  walk(definition);
  return names;
}

/** Names of every Wait state (local runs may shorten them). */
function waitStateNames(definition: Readonly<Record<string, unknown>>): string[] {
  const names: string[] = [];
  const walk = (machine: unknown): void => {
    if (typeof machine !== 'object' || machine === null) return;
    const states = (machine as { States?: Record<string, Record<string, unknown>> }).States ?? {};
    for (const [name, state] of Object.entries(states)) {
      if (state.Type === 'Wait') names.push(name);
      walk(state.ItemProcessor);
      walk(state.Iterator);
      for (const branch of (state.Branches as unknown[] | undefined) ?? []) walk(branch);
    }
  };
  walk(definition);
  return names;
}

const payloadOf = (params: unknown): Record<string, unknown> => {
  const payload = (params as { Payload?: unknown } | null)?.Payload;
  if (typeof payload !== 'object' || payload === null) throw new Error('a recovery Task state was called without a Payload (the definition is wrong)');
  return payload as Record<string, unknown>;
};

export interface LocalRecoveryEngineOptions {
  /**
   * The ASL definition (recoveryDefinition(…) with {@link LOCAL_TASKS_FUNCTION_ARN}), or how to
   * make it for a recorded recovery (its plan's `parallel` as the Members Map's MaxConcurrency).
   */
  readonly definition: Readonly<Record<string, unknown>> | ((record: RecoveryRecord) => Readonly<Record<string, unknown>>);
  /** The recovery service's task side (late-bound: the service is built with this engine). */
  readonly tasks: () => RecoveryTasks;
  /** A recovery's record (the recovery service's get). */
  readonly record: (recoveryId: string) => Promise<RecoveryRecord>;
  readonly callback: LocalTaskCallback;
  /** Told as members start and end and waves end. */
  readonly onProgress?: (event: RecoveryProgressEvent) => void;
  /** Milliseconds every Wait state waits instead of its Seconds (tests). @default the definition's */
  readonly waitMilliseconds?: number;
}

/**
 * Runs the recovery state machine here: {@link start} starts an execution in the background
 * and answers `local:<recoveryId>`, as StartExecution answers an ARN; {@link finished} says
 * how it ended. Task states call {@link runRecoveryTask} and answer `{Payload: result}` as a
 * Lambda invoke does; RestoreMember (waitForTaskToken) answers when its token is.
 */
export class LocalRecoveryEngine implements RecoveryEngine {
  private readonly executions = new Map<string, { readonly abort: () => void; readonly end: Promise<LocalExecutionEnd> }>();
  private readonly starting = new Set<string>();
  private tokens = 0;

  constructor(private readonly options: LocalRecoveryEngineOptions) {}

  async start(recoveryId: string): Promise<string> {
    if (this.executions.has(recoveryId) || this.starting.has(recoveryId))
      throw new Error(`an execution named ${recoveryId} already runs here (ExecutionAlreadyExists)`);
    this.starting.add(recoveryId);
    try {
      return await this.run(recoveryId);
    } finally {
      this.starting.delete(recoveryId);
    }
  }

  private async run(recoveryId: string): Promise<string> {
    const given = this.options.definition;
    const definition = typeof given === 'function' ? given(await this.options.record(recoveryId)) : given;
    // Validated (as CreateStateMachine would) before anything runs.
    const machine = new StateMachine(definition as unknown as StateMachineDefinition);
    const handlers = Object.fromEntries(taskStateNames(definition).map((name) => [name, (params: unknown) => this.task(params)]));
    const waits = this.options.waitMilliseconds;
    const execution = machine.run(
      { recoveryId },
      {
        context: {
          Execution: { Id: `local:${recoveryId}`, Name: recoveryId, StartTime: new Date().toISOString() },
          Task: { Token: CONTEXT_TOKEN },
        },
        overrides: {
          taskResourceLocalHandlers: handlers as never,
          ...(waits === undefined ? {} : { waitTimeOverrides: Object.fromEntries(waitStateNames(definition).map((n) => [n, waits])) }),
        },
      },
    );
    const end = execution.result.then(
      async (): Promise<LocalExecutionEnd> => ({ status: 'SUCCEEDED', record: await this.options.record(recoveryId) }),
      async (e: unknown): Promise<LocalExecutionEnd> => {
        const record = await this.options.record(recoveryId);
        if (e instanceof ExecutionAbortedError) return { status: 'ABORTED', record };
        const cause = e instanceof Error && e.cause instanceof Error ? e.cause : e;
        return {
          status: 'FAILED',
          error: cause instanceof Error ? { Error: cause.name, Cause: cause.message } : { Error: 'States.Runtime', Cause: String(cause) },
          record,
        };
      },
    );
    // Nobody may ask how it ended (a process closing): its end must not be an unhandled rejection.
    end.catch(() => undefined);
    this.executions.set(recoveryId, { abort: execution.abort, end });
    return `local:${recoveryId}`;
  }

  /** How the recovery's execution ended (after it has). Rejects for a recovery this engine never started. */
  finished(recoveryId: string): Promise<LocalExecutionEnd> {
    const execution = this.executions.get(recoveryId);
    if (!execution) return Promise.reject(new Error(`no local execution of recovery ${recoveryId} runs in this process`));
    return execution.end;
  }

  /** Stops every execution (StopExecution); members already sent go on until their restores end. */
  abortAll(): void {
    for (const execution of this.executions.values()) execution.abort();
  }

  /** Resolves when every execution started here has ended. */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.executions.values()].map((e) => e.end));
  }

  private async task(params: unknown): Promise<unknown> {
    const payload = payloadOf(params);
    if (payload.task !== 'restoreMember') {
      const result = await runRecoveryTask(this.options.tasks(), payload);
      if (payload.task === 'waveEnded') {
        const v = result as { recoveryId: string; wave: number; stop: boolean; reason?: string };
        this.options.onProgress?.({ type: 'waveEnded', recoveryId: v.recoveryId, wave: v.wave, stop: v.stop, ...(v.reason ? { reason: v.reason } : {}) });
      }
      // As Lambda's invoke integration answers: the function's result under Payload.
      return { Payload: result };
    }
    const input = (payload.input ?? {}) as { recoveryId?: string; volume?: string; taskToken?: string };
    const recoveryId = String(input.recoveryId);
    const volume = String(input.volume);
    // One context token for the whole run locally: each member gets its own, as Step Functions gives.
    const taskToken = input.taskToken === CONTEXT_TOKEN ? `local-${recoveryId}-${volume}-${(++this.tokens).toString()}` : String(input.taskToken);
    const answer = this.options.callback.expect(taskToken);
    try {
      await runRecoveryTask(this.options.tasks(), { ...payload, input: { ...input, taskToken } });
    } catch (e) {
      this.options.callback.forget(taskToken);
      this.options.onProgress?.({
        type: 'memberEnded',
        recoveryId,
        volume,
        outcome: 'failed',
        started: false,
        error: e instanceof Error ? e.message : String(e),
      });
      throw e;
    }
    this.options.onProgress?.({ type: 'memberStarted', recoveryId, volume });
    try {
      const result = await answer;
      this.options.onProgress?.({ type: 'memberEnded', recoveryId, volume, outcome: result.outcome, started: true, error: result.error ?? null });
      return result;
    } catch (e) {
      this.options.onProgress?.({
        type: 'memberEnded',
        recoveryId,
        volume,
        outcome: 'failed',
        started: true,
        error: e instanceof Error ? e.message : String(e),
      });
      throw e;
    }
  }
}

export interface LocalRecoveryOptions extends Omit<LocalRestoreOptions, 'recovery'> {
  /** The protected volumes (the configuration's `protect`): the members of a source's recovery and their roles. */
  readonly protect: readonly ProtectionPolicy[];
  /** Told as members start and end and waves end. */
  readonly onProgress?: (event: RecoveryProgressEvent) => void;
  /** How long one member may take before its task times out. @default 6 hours */
  readonly memberTimeoutSeconds?: number;
  /** Milliseconds every Wait state waits instead of its Seconds (tests). @default the definition's */
  readonly waitMilliseconds?: number;
  /** The recovery service's clock and ids (tests). */
  readonly now?: () => Date;
  readonly newId?: () => string;
}

export interface LocalRecovery extends LocalRestore {
  readonly recovery: RecoveryService;
  readonly engine: LocalRecoveryEngine;
}

/**
 * Lifeboat's whole-host recovery on this machine (the CLI's local mode, the end-to-end tests):
 * {@link localRestore} with its completions reporting to the recovery service, and the
 * recovery service starting the deployed definition on the {@link LocalRecoveryEngine}.
 */
export function localRecovery(options: LocalRecoveryOptions): LocalRecovery {
  const late: { recovery?: RecoveryService } = {};
  const local = localRestore({ ...options, recovery: () => late.recovery });
  const service = (): RecoveryService => {
    if (!late.recovery) throw new Error('the local recovery service is not built yet');
    return late.recovery;
  };
  const callback = new LocalTaskCallback();
  const engine = new LocalRecoveryEngine({
    definition: (record) =>
      recoveryDefinition({
        tasksFunctionArn: LOCAL_TASKS_FUNCTION_ARN,
        parallel: record.plan.parallel,
        // Local mode has no launcher: a launch template target is refused when planned.
        hostWait: { seconds: 10, attempts: 30 },
        memberTimeoutSeconds: options.memberTimeoutSeconds ?? 6 * 3600,
      }),
    tasks: service,
    record: (recoveryId) => service().get(recoveryId),
    callback,
    ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
    ...(options.waitMilliseconds === undefined ? {} : { waitMilliseconds: options.waitMilliseconds }),
  });
  late.recovery = new RecoveryService({
    catalog: options.catalog,
    restores: local.service,
    instances: local.runner,
    protect: options.protect,
    engine,
    callback,
    ...(options.completion?.notifier === undefined ? {} : { notifier: options.completion.notifier }),
    ...(options.now === undefined ? {} : { now: options.now }),
    ...(options.newId === undefined ? {} : { newId: options.newId }),
  });
  return { ...local, recovery: late.recovery, engine };
}
