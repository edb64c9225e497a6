import type { Context } from 'aws-lambda';
import type { RecoveryTasks } from '#core/recovery/model.ts';
import { firstUse } from '../commons/first-use.ts';

export { recoveryMetrics } from './metrics.ts';

/** The function’s wiring (./wiring.ts), loaded on the first invocation (commons/first-use.ts). */
const wiring = firstUse(() => import('./wiring.ts'));

/** Loads the wiring now rather than on the first invocation. */
export const ready = async (): Promise<void> => {
  await wiring();
};

/** The function’s business, one state machine task (./tasks.ts), loaded on first use as the wiring is. */
export const runTask =
  (tasks: RecoveryTasks, log?: (message: string, recoveryId: string) => void) =>
  async (payload: unknown): Promise<unknown> =>
    (await import('./tasks.ts')).runTask(tasks, log)(payload);

/**
 * Every Task state of the recovery state machine invokes this function with `{task, input}`
 * (./wiring.ts). A RecoveryTaskError keeps its name (Lifeboat.…) as the Lambda error type.
 */
export const handler = async (payload: unknown, context: Context): Promise<unknown> => (await wiring()).handler(payload, context);
