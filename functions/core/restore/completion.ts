import type { Catalog, RestoreRecord, RestoreState } from '../catalog/model.ts';
import type { RecoveryMemberSink } from '../recovery/model.ts';
import { RestoreResult, parseResultLine } from '../runbooks/results.ts';
import type { CommandRunner, InvocationOutput, Notifier, RestoreMetrics } from './ports.ts';

/** Invocation statuses after which nothing more happens on the host. */
export const TERMINAL_COMMAND_STATUSES = ['Success', 'Failed', 'TimedOut', 'Cancelled', 'Undeliverable', 'Terminated'] as const;

export interface CommandStatusChange {
  readonly commandId: string;
  readonly instanceId: string;
  readonly status: string;
}

export interface CompletionDeps {
  readonly catalog: Catalog;
  readonly runner: CommandRunner;
  readonly notifier?: Notifier;
  readonly metrics?: RestoreMetrics;
  /** Told of every finished restore that is a member of a whole-host recovery (it answers the member's task token). */
  readonly recovery?: RecoveryMemberSink;
  /** The end time recorded on a finished restore (a recovery member's end). @default the clock */
  readonly now?: () => Date;
}

export type CompletionOutcome =
  | { readonly action: 'ignored'; readonly reason: string }
  | { readonly action: 'running'; readonly restoreId: string }
  | { readonly action: 'duplicate'; readonly restoreId: string }
  | { readonly action: 'finished'; readonly restoreId: string; readonly record: RestoreRecord };

/** States in which a restore may still end (and its host may still be working). */
export const OPEN_STATES: readonly RestoreState[] = ['planned', 'sent', 'running'];

/**
 * An SSM invocation changed status. On a terminal status: read the host's
 * result line, record the outcome, release the lock, emit metrics, notify.
 * Duplicate and out-of-order events never move a finished restore.
 */
export async function completeRestore(deps: CompletionDeps, change: CommandStatusChange): Promise<CompletionOutcome> {
  let output: InvocationOutput | undefined;
  let restoreId = await deps.catalog.restoreIdForCommand(change.commandId);
  if (!restoreId) ({ restoreId, output } = await restoreIdFromComment(deps, change));
  if (!restoreId) return { action: 'ignored', reason: `command ${change.commandId} is not a Lifeboat restore` };
  if (!(TERMINAL_COMMAND_STATUSES as readonly string[]).includes(change.status)) {
    if (change.status === 'InProgress') await deps.catalog.updateRestore(restoreId, ['planned', 'sent'], { state: 'running', commandStatus: change.status });
    return { action: 'running', restoreId };
  }
  const record = await deps.catalog.getRestore(restoreId);
  if (!record) return { action: 'ignored', reason: `restore ${restoreId} has no record` };
  if (!OPEN_STATES.includes(record.state)) {
    await deps.catalog.releaseLock(record.instanceId, record.volume, restoreId);
    await answerRecovery(deps, record);
    return { action: 'duplicate', restoreId };
  }

  output ??= await deps.runner.invocationOutput(change.commandId, change.instanceId);
  const result = parseResultLine(RestoreResult, output.stdout);
  const status = output.status || change.status;
  if (status === 'Success' && result?.outcome === 'succeeded')
    return finishRestore(deps, record, { state: 'succeeded', error: null, commandStatus: status, result });
  if (status === 'Cancelled')
    return finishRestore(deps, record, {
      state: 'cancelled',
      error: result?.error ?? 'the command was cancelled before it started on the host',
      commandStatus: status,
      result,
    });
  if (record.cancelRequestedAt !== undefined && result?.outcome === 'failed' && result.error?.startsWith('interrupted by a signal')) {
    // Stopped on request (the cancel-restore document's TERM): the host reports what it put back.
    return finishRestore(deps, record, {
      state: 'cancelled',
      error: `cancelled by ${record.cancelRequestedBy ?? 'request'}: ${result.error}${result.rolledBack ? '; the host was put back' : ''}`,
      commandStatus: status,
      result,
    });
  }
  const error =
    result?.error ??
    (result
      ? `the host reported ${result.outcome}`
      : `the command ended ${status}${output.statusDetails ? ` (${output.statusDetails})` : ''} without a result line`);
  return finishRestore(deps, record, { state: 'failed', error, commandStatus: status, result });
}

/** How a restore ended, before the checks that may still turn a success into a failure. */
export interface Ending {
  readonly state: RestoreState;
  readonly error: string | null;
  /** SSM's final invocation status, or what the sweeper made of a command SSM cannot account for. */
  readonly commandStatus: string;
  /** The host's result line, when there was one. */
  readonly result?: RestoreResult;
}

/**
 * The one way a restore or drill ends, whoever noticed (the completion event or the
 * sweeper): the record takes its final state (only from an open one, so a duplicate
 * changes nothing), the lock is released, drills are recorded on the catalog, metrics
 * and one notification go out.
 */
export async function finishRestore(deps: CompletionDeps, record: RestoreRecord, ending: Ending): Promise<CompletionOutcome> {
  const restoreId = record.id;
  const { result, commandStatus } = ending;
  let { state, error } = ending;
  if (state === 'succeeded' && result) {
    const contradiction = await contradicts(deps.catalog, record, result);
    if (contradiction) {
      state = 'failed';
      error = contradiction;
    }
  }
  if (record.drill && state === 'succeeded') {
    ({ state, error } = judgeDrill(record.drill, result));
  }
  const updated = await deps.catalog.updateRestore(restoreId, OPEN_STATES, {
    state,
    commandStatus,
    error,
    updatedAt: (deps.now?.() ?? new Date()).toISOString(),
    ...(result
      ? {
          phases: result.phases,
          bytes: result.bytes,
          totalSeconds: result.totalSeconds,
          preservedVolume: result.preservedVolume,
          failedPhase: result.failedPhase,
          verifyOutput: result.verifyOutput,
        }
      : {}),
  });
  await deps.catalog.releaseLock(record.instanceId, record.volume, restoreId);
  if (!updated) {
    const current = await deps.catalog.getRestore(restoreId);
    if (current) await answerRecovery(deps, current);
    return { action: 'duplicate', restoreId };
  }

  if (state === 'succeeded' && result) await recordRate(deps.catalog, updated, result);
  // The record is final: a recovery waiting for this member hears now. A recovery member sends no
  // notification of its own (the recovery's report does), but its metrics count like any other.
  await answerRecovery(deps, updated);
  const notify = updated.recovery ? undefined : deps.notifier;

  if (updated.drill) {
    await deps.catalog.recordDrill(updated.source, updated.drill.volume, {
      restoreId,
      archiveKey: updated.archiveKey,
      at: updated.updatedAt,
      outcome: state === 'succeeded' ? 'succeeded' : state === 'cancelled' ? 'cancelled' : 'failed',
      totalSeconds: updated.totalSeconds,
      phases: updated.phases,
      bytes: updated.bytes,
      verifyOutput: updated.verifyOutput,
      error: updated.error,
    });
    deps.metrics?.drillFinished?.({ source: updated.source, volume: updated.drill.volume, outcome: state, totalSeconds: result?.totalSeconds });
    // A passing drill is routine; a failing one is news (and whoever asked from Slack hears either way).
    if (state !== 'succeeded' || updated.notifySlack) {
      await notify?.restoreFinished({
        restoreId,
        state,
        subject: `Lifeboat drill ${state === 'succeeded' ? 'passed' : 'FAILED'}: ${updated.source}/${updated.drill.volume} (archive ${updated.archiveKey})`,
        text: describe(updated),
        record: updated,
      });
    }
    return { action: 'finished', restoreId, record: updated };
  }
  deps.metrics?.restoreFinished({ outcome: state, totalSeconds: result?.totalSeconds, bytes: result?.bytes, phases: result?.phases });
  await notify?.restoreFinished({
    restoreId,
    state,
    subject: `Lifeboat restore ${restoreId} ${state}: ${record.volume} on ${record.instanceId}`,
    text: describe(updated),
    record: updated,
  });
  return { action: 'finished', restoreId, record: updated };
}

/**
 * Tells the recovery a final member record. Also called again for a duplicate event: the first
 * answer may have been lost (the function failed after recording), and answering a task token
 * twice is harmless (the callback ignores a token that no longer waits).
 */
async function answerRecovery(deps: CompletionDeps, record: RestoreRecord): Promise<void> {
  if (!record.recovery || !deps.recovery || OPEN_STATES.includes(record.state)) return;
  await deps.recovery.memberFinished(record);
}

/**
 * Keeps a succeeded restore's or drill's timings for the protected volume, the basis of a
 * recovery's predicted times. Best effort: a lost sample only makes one prediction rest on fewer.
 */
async function recordRate(catalog: Catalog, record: RestoreRecord, result: RestoreResult): Promise<void> {
  try {
    await catalog.recordRestoreRate(record.source, record.drill?.volume ?? record.volume, {
      at: record.updatedAt,
      mode: record.mode,
      bytes: result.bytes,
      totalSeconds: result.totalSeconds,
      phases: result.phases,
    });
  } catch {
    // Nothing to undo: the restore's own record is final either way.
  }
}

/** A drill passes only if the host ran it as a drill and the check (if any) saw enough rows. */
function judgeDrill(drill: NonNullable<RestoreRecord['drill']>, result: RestoreResult | undefined): { state: RestoreState; error: string | null } {
  if (result?.mode !== 'drill') return { state: 'failed', error: 'the host did not run the restore document in drill mode (an old document version?)' };
  if (drill.expectMinimum === undefined) return { state: 'succeeded', error: null };
  const answer = (result.verifyOutput ?? '').trim();
  const n = /^[0-9]{1,15}$/.test(answer) ? Number(answer) : Number.NaN;
  if (Number.isFinite(n) && n >= drill.expectMinimum) return { state: 'succeeded', error: null };
  return {
    state: 'failed',
    error: `the database answered, but the verification query returned ${JSON.stringify(answer.slice(0, 80))} where at least ${drill.expectMinimum.toString()} was expected`,
  };
}

/**
 * A result line is the host's word. A success that contradicts what the catalog
 * knows of the archive (its size, its checksum) is not trusted: a truncated or
 * substituted download, or a line that is not this restore's.
 */
async function contradicts(catalog: Catalog, record: RestoreRecord, result: RestoreResult): Promise<string | null> {
  const archive = await catalog.getArchive(record.archiveKey);
  if (!archive) return null;
  if (result.bytes !== archive.size) {
    return `the host reported success after receiving ${result.bytes.toString()} bytes, but ${record.archiveKey} has ${archive.size.toString()}: not trusted`;
  }
  if (archive.sha256 && result.sha256 && result.sha256 !== archive.sha256) {
    return `the host reported success with sha256 ${result.sha256}, but ${record.archiveKey} has ${archive.sha256}: not trusted`;
  }
  return null;
}

/**
 * If the API failed after sending (before it linked the command), the command's
 * comment still names the restore; the link is repaired here.
 */
async function restoreIdFromComment(deps: CompletionDeps, change: CommandStatusChange): Promise<{ restoreId?: string; output?: InvocationOutput }> {
  if (!(TERMINAL_COMMAND_STATUSES as readonly string[]).includes(change.status)) return {};
  const output = await deps.runner.invocationOutput(change.commandId, change.instanceId);
  const id = restoreIdInComment(output.comment);
  if (!id) return {};
  const record = await deps.catalog.getRestore(id);
  if (record?.instanceId !== change.instanceId) return {};
  await adoptCommand(deps.catalog, change.commandId, id);
  return { restoreId: id, output };
}

/** The restore a Lifeboat command's comment names (`lifeboat restore <id>` / `lifeboat drill <id>`). */
export function restoreIdInComment(comment: string | undefined): string | undefined {
  return /^lifeboat (?:restore|drill) (r-[a-z0-9]{1,16}-[a-f0-9]{8})$/.exec(comment ?? '')?.[1];
}

/** Links a command found by its comment to its restore, which moves from planned to sent. */
export async function adoptCommand(catalog: Catalog, commandId: string, restoreId: string): Promise<void> {
  await catalog.linkCommand(commandId, restoreId);
  await catalog.updateRestore(restoreId, ['planned'], { state: 'sent', commandId });
}

/** One human paragraph: what happened, how long each phase took, where old data went. */
export function describe(r: RestoreRecord): string {
  const what = r.drill ? `Drill ${r.id} of ${r.drill.volume} (throwaway ${r.volume})` : `Restore ${r.id} of ${r.volume}`;
  const lines = [`${what} on ${r.instanceId}: ${r.state.toUpperCase()}.`, `Archive: ${r.archiveKey}.`];
  if (r.verifyOutput) lines.push(`The database answered: ${r.verifyOutput}.`);
  if (r.phases) {
    lines.push(
      `Phases (s): ${Object.entries(r.phases)
        .map(([k, v]) => `${k} ${v.toFixed(1)}`)
        .join(', ')}; total ${(r.totalSeconds ?? 0).toFixed(1)} s; ${r.bytes ?? 0} bytes.`,
    );
    if (typeof r.predictedSeconds === 'number') lines.push(`Predicted ${r.predictedSeconds.toFixed(1)} s, measured ${(r.totalSeconds ?? 0).toFixed(1)} s.`);
  }
  if (r.preservedVolume) lines.push(`Previous data kept in volume ${r.preservedVolume}.`);
  if (r.error) lines.push(`Error${r.failedPhase ? ` in ${r.failedPhase}` : ''}: ${r.error}`);
  return lines.join('\n');
}
