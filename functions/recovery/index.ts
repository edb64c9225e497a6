import type { Context } from 'aws-lambda';
import { firstUse } from '../commons/first-use.ts';

export { recoveryMetrics, runTask } from './tasks.ts';

/** The function’s wiring (./wiring.ts), loaded on the first invocation (commons/first-use.ts). */
const wiring = firstUse(() => import('./wiring.ts'));

/** Loads the wiring now rather than on the first invocation. */
export const ready = async (): Promise<void> => {
  await wiring();
};

/**
 * Every Task state of the recovery state machine invokes this function with `{task, input}`
 * (./wiring.ts). A RecoveryTaskError keeps its name (Lifeboat.…) as the Lambda error type.
 */
export const handler = async (payload: unknown, context: Context): Promise<unknown> => (await wiring()).handler(payload, context);
