import type { ActiveRestore, RestoreRecord } from '../catalog/model.ts';
import { OPEN_STATES, TERMINAL_COMMAND_STATUSES, adoptCommand, completeRestore, finishRestore, restoreIdInComment, type CompletionDeps } from './completion.ts';

/** What SSM says of one command invocation. */
export interface InvocationStatus {
  readonly commandId: string;
  readonly instanceId: string;
  /** Pending, InProgress, Delayed, Success, Cancelled, TimedOut, Failed, Cancelling (or Undeliverable, Terminated). */
  readonly status: string;
  readonly comment?: string;
}

/**
 * The sweeper's questions to SSM (the CommandRunner port sends and reads results;
 * it has no way to ask "what became of this command?").
 */
export interface CommandStatusReader {
  /** GetCommandInvocation; undefined when SSM does not know that invocation. */
  invocation(commandId: string, instanceId: string): Promise<InvocationStatus | undefined>;
  /** ListCommandInvocations of one command, on whatever instances it went to. */
  invocationsOf(commandId: string): Promise<InvocationStatus[]>;
  /** ListCommandInvocations of the restore document on one instance since a time (with their comments). */
  invocationsOn(instanceId: string, since: Date): Promise<InvocationStatus[]>;
}

export interface SweeperConfig {
  /** A restore without progress (no record change) for this long is checked with SSM. */
  readonly staleSeconds: number;
  /** The command's timeout on the host, for records that do not carry theirs. @default 7200 */
  readonly commandTimeoutSeconds?: number;
  /** Grace after that timeout before a command SSM still calls running is treated as lost. @default 900 */
  readonly marginSeconds?: number;
}

export interface SweeperDeps extends CompletionDeps {
  readonly ssm: CommandStatusReader;
  readonly now?: () => Date;
}

export type SweepAction =
  /** Changed recently: the completion event may still come. */
  | 'fresh'
  /** SSM says the host may still be working: left alone, lock kept. */
  | 'in-flight'
  /** SSM had a final status the completion event never delivered: finished through the completion path. */
  | 'finished'
  /** SSM cannot account for the command: recorded failed, lock released. */
  | 'lost'
  /** The index entry of a restore that is already final (or has no record) was removed. */
  | 'tidied';

export interface SweepOutcome {
  readonly restoreId: string;
  readonly action: SweepAction;
  readonly detail: string;
}

/** One or more restores could not be swept; the others were. */
export class SweepError extends AggregateError {
  override readonly name = 'SweepError';
}

/** How much older than its record a command can be and still be the record's (SendCommand comes right after). */
const SEND_WINDOW_MS = 5 * 60_000;

/**
 * Finds restores and drills that stopped making progress (a lost or failed
 * completion event, a crash while sending) and finishes them through the same
 * path as the completion event. Never frees a lock while SSM says the host may
 * still be writing, until the command's own timeout plus the margin has passed.
 * Finds them with a Query on the index of active restores, never a Scan.
 */
export async function sweep(deps: SweeperDeps, config: SweeperConfig): Promise<SweepOutcome[]> {
  const outcomes: SweepOutcome[] = [];
  const errors: unknown[] = [];
  for (const entry of await deps.catalog.listActiveRestores()) {
    try {
      outcomes.push(await sweepOne(deps, config, entry));
    } catch (e) {
      errors.push(e);
    }
  }
  // The others are done; the failures surface (function errors alarm, the schedule retries).
  if (errors.length > 0) throw new SweepError(errors, `${errors.length.toString()} restore(s) could not be swept`);
  return outcomes;
}

async function sweepOne(deps: SweeperDeps, config: SweeperConfig, entry: ActiveRestore): Promise<SweepOutcome> {
  const now = deps.now?.() ?? new Date();
  const secondsSince = (iso: string): number => (now.getTime() - Date.parse(iso)) / 1000;
  const restoreId = entry.id;
  const record = await deps.catalog.getRestore(restoreId);
  if (!record) {
    // createRestore writes the index entry just before the record.
    if (secondsSince(entry.createdAt) < config.staleSeconds) return { restoreId, action: 'fresh', detail: 'being created' };
    await deps.catalog.forgetActiveRestore(restoreId);
    return { restoreId, action: 'tidied', detail: 'no record' };
  }
  if (!OPEN_STATES.includes(record.state)) {
    // Final already (a crash between the final update and the lock release or index removal).
    await deps.catalog.releaseLock(record.instanceId, record.volume, restoreId);
    await deps.catalog.forgetActiveRestore(restoreId);
    return { restoreId, action: 'tidied', detail: `already ${record.state}` };
  }
  const quiet = secondsSince(record.updatedAt);
  if (quiet < config.staleSeconds) return { restoreId, action: 'fresh', detail: `changed ${Math.round(quiet).toString()} s ago` };

  const what = `${record.mode} ${restoreId}`;
  let commandId = record.commandId;
  let invocation: InvocationStatus | undefined;
  if (commandId === undefined) {
    // Never linked: the request failed while sending, or after. The command's comment names the restore.
    const since = new Date(Date.parse(record.createdAt) - SEND_WINDOW_MS);
    invocation = (await deps.ssm.invocationsOn(record.instanceId, since)).find((i) => restoreIdInComment(i.comment) === restoreId);
    if (!invocation) {
      return lost(
        deps,
        record,
        `no command was ever sent for ${what}: SSM has no command of the restore document with its comment on ${record.instanceId} (the request failed before sending); recorded failed, lock released`,
        'NotSent',
      );
    }
    commandId = invocation.commandId;
    await adoptCommand(deps.catalog, commandId, restoreId);
  } else {
    invocation =
      (await deps.ssm.invocation(commandId, record.instanceId)) ?? (await deps.ssm.invocationsOf(commandId)).find((i) => i.instanceId === record.instanceId);
    if (!invocation) {
      return lost(
        deps,
        record,
        `SSM does not know command ${commandId} of ${what} on ${record.instanceId} (never delivered, or aged out of SSM's history); recorded failed, lock released`,
        'Unknown',
      );
    }
  }

  const { status } = invocation;
  if ((TERMINAL_COMMAND_STATUSES as readonly string[]).includes(status)) {
    // The completion event was lost (or its function failed): the same path finishes it now.
    const outcome = await completeRestore(deps, { commandId, instanceId: record.instanceId, status });
    if (outcome.action === 'finished') return { restoreId, action: 'finished', detail: `SSM says ${status}; recorded ${outcome.record.state}` };
    return { restoreId, action: 'tidied', detail: `SSM says ${status}; completion answered ${outcome.action}` };
  }

  // Pending, InProgress, Delayed, Cancelling: the host may still be writing.
  const timeout = record.commandTimeoutSeconds ?? config.commandTimeoutSeconds ?? 7200;
  const margin = config.marginSeconds ?? 900;
  const age = secondsSince(record.createdAt);
  if (age <= timeout + margin) {
    if (status === 'InProgress') await completeRestore(deps, { commandId, instanceId: record.instanceId, status });
    return { restoreId, action: 'in-flight', detail: `SSM says ${status}` };
  }
  return lost(
    deps,
    record,
    `SSM still reported ${status} for command ${commandId} of ${what} ${Math.round(age).toString()} s after it was requested, beyond its timeout of ${timeout.toString()} s plus ${margin.toString()} s; treated as lost, lock released`,
    status,
  );
}

async function lost(deps: SweeperDeps, record: RestoreRecord, error: string, commandStatus: string): Promise<SweepOutcome> {
  const outcome = await finishRestore(deps, record, { state: 'failed', error, commandStatus });
  return { restoreId: record.id, action: outcome.action === 'finished' ? 'lost' : 'tidied', detail: error };
}
