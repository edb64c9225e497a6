import type { Context } from 'aws-lambda';
import type { ScheduledDrill } from '#core/protection.ts';
import type { DrillStart } from './app.ts';
import { firstUse } from '../commons/first-use.ts';

/** The function’s wiring (./wiring.ts), loaded on the first invocation (commons/first-use.ts). */
const wiring = firstUse(() => import('./wiring.ts'));

/** Loads the wiring now rather than on the first invocation. */
export const ready = async (): Promise<void> => {
  await wiring();
};

/** EventBridge Scheduler target: one protected volume’s drill (the schedule’s input is a ScheduledDrill). */
export const handler = async (event: ScheduledDrill, context: Context): Promise<DrillStart> => (await wiring()).handler(event, context);
