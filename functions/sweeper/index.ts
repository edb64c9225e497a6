import type { Context } from 'aws-lambda';
import type { SweepOutcome } from '#core/restore/sweeper.ts';
import { firstUse } from '../commons/first-use.ts';

/** The function’s wiring (./wiring.ts), loaded on the first invocation (commons/first-use.ts). */
const wiring = firstUse(() => import('./wiring.ts'));

/** Loads the wiring now rather than on the first invocation. */
export const ready = async (): Promise<void> => {
  await wiring();
};

/** Scheduled: finishes restores whose completion event was lost, through the completion path. */
export const handler = async (event: unknown, context: Context): Promise<SweepOutcome[]> => (await wiring()).handler(event, context);
