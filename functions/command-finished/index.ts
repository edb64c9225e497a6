import type { Context } from 'aws-lambda';
import type { CompletionOutcome } from '#core/restore/completion.ts';
import type { CommandInvocationEvent } from './schema.ts';
import { firstUse } from '../commons/first-use.ts';

/** The function’s wiring (./wiring.ts), loaded on the first invocation (commons/first-use.ts). */
const wiring = firstUse(() => import('./wiring.ts'));

/** Loads the wiring now rather than on the first invocation. */
export const ready = async (): Promise<void> => {
  await wiring();
};

/** SSM “Command Status-change Notification” (EventBridge): finishes the restore the command ran. */
export const handler = async (event: CommandInvocationEvent, context: Context): Promise<CompletionOutcome> => (await wiring()).handler(event, context);
