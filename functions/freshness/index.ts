import type { Context } from 'aws-lambda';
import type { Freshness, FreshnessCheck } from '#core/protection.ts';
import { firstUse } from '../commons/first-use.ts';

/** The function’s wiring (./wiring.ts), loaded on the first invocation (commons/first-use.ts). */
const wiring = firstUse(() => import('./wiring.ts'));

/** Loads the wiring now rather than on the first invocation. */
export const ready = async (): Promise<void> => {
  await wiring();
};

/** EventBridge Scheduler target: per protected volume, the newest archive’s age and whether it is over the RPO. */
export const handler = async (event: FreshnessCheck, context: Context): Promise<Freshness[]> => (await wiring()).handler(event, context);
