import { TERMINAL_STATES, type Catalog, type RestoreRecord } from '../catalog/model.ts';
import { ConflictError, NotFoundError } from './errors.ts';
import type { CommandRunner } from './ports.ts';

export interface CancelDeps {
  readonly catalog: Catalog;
  readonly runner: CommandRunner;
  readonly now?: () => Date;
  /**
   * How long a sender (the API, the Slack worker, a drill) may take between recording a
   * restore and SendCommand returning. A restore still `planned` after this, with no
   * command for it in SSM, was never sent. @default 900 (the longest a Lambda runs)
   */
  readonly sendWindowSeconds?: number;
}

/** What a cancel request did. */
export interface CancelOutcome {
  readonly restoreId: string;
  /** `cancelling`: SSM was asked to cancel; the record turns `cancelled` when the host has put things back. */
  readonly state: 'cancelling' | RestoreRecord['state'];
  readonly message: string;
}

export interface CancelOptions {
  /**
   * Only restores of these sources may be cancelled by this caller (the API path's
   * source; a Slack user's sources); any other is answered as not found.
   */
  readonly sources?: readonly string[];
}

const ended = (r: RestoreRecord): string =>
  `restore ${r.id} already ended: ${r.state} at ${r.updatedAt}${r.error ? ` (${r.error})` : ''}; there is nothing to cancel`;

/**
 * Cancels a restore or drill (API `DELETE /sources/{source}/restores/{id}`, `lifeboat cancel`,
 * Slack `cancel <id>`).
 *
 * A restore on a host: SSM is asked to cancel the command (TERM to the script, whose trap
 * puts the host back), the request is recorded (`cancelRequestedBy`/`At`), and the answer
 * is `cancelling`. The record turns `cancelled` and the lock is released only by the
 * completion path, when the command has ended: never while the host may still be writing.
 * Asking again answers `cancelling` again (and asks SSM again, which is harmless).
 *
 * A restore never sent (still `planned`, no command in SSM for it, and older than any
 * sender can take): recorded `cancelled` and its lock released at once.
 */
export async function cancelRestore(deps: CancelDeps, id: string, requestedBy: string, options: CancelOptions = {}): Promise<CancelOutcome> {
  const { catalog, runner } = deps;
  const now = deps.now?.() ?? new Date();
  let record = await catalog.getRestore(id);
  if (!record || (options.sources !== undefined && !options.sources.includes(record.source))) {
    throw new NotFoundError(options.sources?.length === 1 ? `no restore ${id} of source ${options.sources[0] ?? ''}` : `no restore ${id}`);
  }
  if (TERMINAL_STATES.includes(record.state)) return endedOutcome(record);

  if (record.commandId === undefined) {
    const found = await runner.commandFor(record.id, record.instanceId, new Date(record.createdAt));
    if (found === undefined) return cancelUnsent(deps, record, requestedBy, now);
    // Sent, but the sender stopped before recording it: record it now, then cancel as usual.
    await catalog.linkCommand(found, record.id);
    record = (await catalog.updateRestore(record.id, ['planned'], { state: 'sent', commandId: found })) ?? (await catalog.getRestore(record.id)) ?? record;
    if (TERMINAL_STATES.includes(record.state)) return endedOutcome(record);
  }
  const commandId = record.commandId ?? '';
  await runner.cancel(commandId, record.instanceId, record.id);
  const first = record.cancelRequestedAt === undefined;
  // A cancel request is not progress on the host: updatedAt stays as it was (the sweeper reads it).
  const updated = first
    ? await catalog.updateRestore(record.id, ['planned', 'sent', 'running'], {
        cancelRequestedBy: requestedBy,
        cancelRequestedAt: now.toISOString(),
        updatedAt: record.updatedAt,
      })
    : await catalog.getRestore(record.id);
  if (!updated || TERMINAL_STATES.includes(updated.state)) {
    // It ended while we asked: say how.
    const latest = await catalog.getRestore(record.id);
    if (latest && TERMINAL_STATES.includes(latest.state)) return endedOutcome(latest);
  }
  const by = updated?.cancelRequestedBy ?? requestedBy;
  return {
    restoreId: record.id,
    state: 'cancelling',
    message:
      `restore ${record.id} is cancelling: SSM was asked to stop command ${commandId} on ${record.instanceId}` +
      `${first ? '' : ` (first asked by ${by} at ${updated?.cancelRequestedAt ?? ''})`}; ` +
      `it becomes cancelled, and volume ${record.volume} is free again, once the host has put things back`,
  };
}

/** A cancelled restore answers the same whoever asks again; any other end is a conflict. */
function endedOutcome(record: RestoreRecord): CancelOutcome {
  if (record.state === 'cancelled' && record.cancelRequestedAt !== undefined) {
    return {
      restoreId: record.id,
      state: 'cancelled',
      message: `restore ${record.id} was cancelled (asked by ${record.cancelRequestedBy ?? 'unknown'} at ${record.cancelRequestedAt})`,
    };
  }
  throw new ConflictError(ended(record), { restoreId: record.id, state: record.state, endedAt: record.updatedAt, restoreError: record.error ?? null });
}

/** Nothing reached a host: recorded cancelled, lock released, now. Unless a sender may still be sending it. */
async function cancelUnsent(deps: CancelDeps, record: RestoreRecord, requestedBy: string, now: Date): Promise<CancelOutcome> {
  const window = deps.sendWindowSeconds ?? 900;
  const age = (now.getTime() - Date.parse(record.createdAt)) / 1000;
  if (age < window) {
    throw new ConflictError(
      `restore ${record.id} is being sent right now (recorded ${Math.floor(age).toString()} s ago, no command yet); nothing was changed: ask again in a few seconds`,
      { restoreId: record.id, state: record.state },
    );
  }
  const at = now.toISOString();
  const updated = await deps.catalog.updateRestore(record.id, ['planned'], {
    state: 'cancelled',
    cancelRequestedBy: requestedBy,
    cancelRequestedAt: at,
    error: 'cancelled before it was sent: nothing reached the host',
  });
  if (!updated) {
    const latest = await deps.catalog.getRestore(record.id);
    if (latest && TERMINAL_STATES.includes(latest.state)) return endedOutcome(latest);
    throw new ConflictError(`restore ${record.id} changed while it was being cancelled; nothing was changed: ask again`, { restoreId: record.id });
  }
  await deps.catalog.releaseLock(record.instanceId, record.volume, record.id);
  return {
    restoreId: record.id,
    state: 'cancelled',
    message: `restore ${record.id} was never sent: it is cancelled and volume ${record.volume} on ${record.instanceId} is free`,
  };
}
