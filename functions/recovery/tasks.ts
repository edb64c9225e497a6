import { RECOVERY_ERRORS, type RecoveryTasks } from '#core/recovery/model.ts';
import { runRecoveryTask } from '#core/recovery/tasks.ts';
import { EXECUTION_ENDED_ERROR_PREFIX } from './env.ts';

/** The recovery id of a report the execution-ended rule sent (not the state machine), else undefined. */
function executionEndedReport(payload: unknown): string | undefined {
  const p = payload as { task?: unknown; input?: { recoveryId?: unknown; error?: { Error?: unknown } } } | null;
  const error = p?.input?.error?.Error;
  return p?.task === 'report' && typeof error === 'string' && error.startsWith(EXECUTION_ENDED_ERROR_PREFIX) && typeof p.input?.recoveryId === 'string'
    ? p.input.recoveryId
    : undefined;
}

/**
 * The function's business: one state machine task, dispatched by runRecoveryTask (the local runner
 * calls the same). A report from the execution-ended rule for an execution that is no recovery (a
 * scheduled drill's execution has a generated name, its recovery another id) is ignored, not an
 * error: the rule fires for every failed, timed-out or aborted execution.
 */
export const runTask =
  (tasks: RecoveryTasks, log?: (message: string, recoveryId: string) => void) =>
  async (payload: unknown): Promise<unknown> => {
    try {
      return await runRecoveryTask(tasks, payload);
    } catch (e) {
      const ended = executionEndedReport(payload);
      if (ended === undefined || !(e instanceof Error) || e.name !== RECOVERY_ERRORS.notRunnable) throw e;
      log?.('an ended execution names no recovery: nothing to report', ended);
      return { ignored: `no recovery ${ended}` };
    }
  };
