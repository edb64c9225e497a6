import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { firstUse } from '../commons/first-use.ts';

/** The function’s wiring (./wiring.ts), loaded on the first invocation (commons/first-use.ts). */
const wiring = firstUse(() => import('./wiring.ts'));

/** Loads the wiring now rather than on the first invocation. */
export const ready = async (): Promise<void> => {
  await wiring();
};

/** The restore API (API Gateway, IAM auth): restores, drills, backups and recoveries. */
export const handler = async (event: APIGatewayProxyEvent, context: Context): Promise<APIGatewayProxyResult> => (await wiring()).handler(event, context);
