import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { IdempotencyConfig } from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { ROOT } from '#core/paths.ts';
import type { Catalog } from '#core/catalog/model.ts';
import type { RestoreService } from '#core/restore/service.ts';
import { handleApi, idempotentStart } from '#root/functions/restore-api/app.ts';
import { errorToResponse } from '#root/functions/commons/http-errors.ts';
import type { LocalDynamo } from '../../functions/core/local/dynamodb.ts';

/** A captured API Gateway event from test/events, with changes. */
export function apiEvent(changes: Partial<APIGatewayProxyEvent> & { bodyJson?: unknown }): APIGatewayProxyEvent {
  const base = JSON.parse(readFileSync(join(ROOT, 'test/events/apigw/post-restores.json'), 'utf8')) as APIGatewayProxyEvent;
  const { bodyJson, ...rest } = changes;
  return { ...base, ...rest, ...(bodyJson !== undefined ? { body: JSON.stringify(bodyJson) } : {}) };
}

/** The restore API as the Lambda wires it (idempotency on a DynamoDB-compatible table), minus middy. */
export async function localApi(service: RestoreService, catalog: Catalog, dynamo: LocalDynamo): Promise<(event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult>> {
  const config = new IdempotencyConfig({ eventKeyJmesPath: '[principal, key]', payloadValidationJmesPath: 'request', expiresAfterSeconds: 3600 });
  const startIdempotent = idempotentStart(service, new DynamoDBPersistenceLayer({ tableName: await dynamo.createIdempotencyTable(), awsSdkV3Client: dynamo.client }), config);
  return async (event) => {
    try {
      return await handleApi({ service, catalog, startIdempotent }, event);
    } catch (e) {
      return errorToResponse(e, 'test-request', (err) => { if (process.env.LIFEBOAT_TEST_VERBOSE) console.error(err); });
    }
  };
}
