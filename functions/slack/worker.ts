import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { firstUse } from '../commons/first-use.ts';

/** The worker’s wiring (./worker-wiring.ts), loaded on the first invocation (commons/first-use.ts). */
const wiring = firstUse(() => import('./worker-wiring.ts'));

/** Loads the wiring now rather than on the first invocation. */
export const ready = async (): Promise<void> => {
  await wiring();
};

/** The queue’s consumer: does what a Slack request asked and posts the answer to its response_url. */
export const handler = async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => (await wiring()).handler(event, context);
