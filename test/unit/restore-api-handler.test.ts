import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { SSMClient } from '@aws-sdk/client-ssm';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeAll, describe, expect, it } from 'vitest';
import { tmpdir } from 'node:os';
import { ROOT } from '#core/paths.ts';
import { bundledDocumentsDir } from '#root/lib/lifeboat-function.ts';
import { errorToResponse } from '#root/functions/commons/http-errors.ts';

// The catalog talks through the document client; nothing here leaves the process.
const dynamoMock = mockClient(DynamoDBDocumentClient);
const ssmMock = mockClient(SSMClient);
const context = { awsRequestId: 'req-123', functionName: 'restore-api', getRemainingTimeInMillis: () => 20_000 } as unknown as Context;
const event = (changes: Partial<APIGatewayProxyEvent>): APIGatewayProxyEvent => ({
  ...(JSON.parse(readFileSync(join(ROOT, 'test/events/apigw/post-source-restores.json'), 'utf8')) as APIGatewayProxyEvent),
  ...changes,
});

describe('restore-api handler (middy wiring, one error mapping)', () => {
  let handler: (e: APIGatewayProxyEvent, c: Context) => Promise<APIGatewayProxyResult>;

  beforeAll(async () => {
    Object.assign(process.env, {
      AWS_REGION: 'eu-west-1',
      TABLE_NAME: 'catalog',
      IDEMPOTENCY_TABLE_NAME: 'idem',
      BUCKET_NAME: 'archives-bucket',
      ARCHIVE_PREFIX: 'archives',
      LIFEBOAT_POLICY: '{}',
      RESTORE_DOCUMENT_NAME: 'Lifeboat-Restore',
      CANCEL_DOCUMENT_NAME: 'Lifeboat-Cancel',
      BACKUP_DOCUMENT_NAME: 'Lifeboat-Backup',
      ARCHIVE_REGION: 'eu-west-1',
      OUTPUT_LOG_GROUP: '/lifeboat/out',
      HELPER_IMAGE: 'local/lifeboat-helper:1',
      LIFEBOAT_RUNBOOKS_DIR: bundledDocumentsDir(join(tmpdir(), 'lifeboat-unit-documents')),
      POWERTOOLS_LOG_LEVEL: 'CRITICAL',
      POWERTOOLS_METRICS_NAMESPACE: 'Lifeboat',
    });
    ({ handler } = await import('#root/functions/restore-api/index.ts'));
  });

  it('a body that is not JSON is a 400 and nothing is called', async () => {
    const res = await handler(event({ body: '{not json' }), context);
    expect(res.statusCode).toBe(400);
    expect(JSON.parse(res.body)).toEqual({ error: 'the body must be a JSON object', requestId: 'req-123' });
    expect(ssmMock).not.toHaveReceivedAnyCommand();
  });

  it('invalid fields are a 400 naming each field and what is allowed', async () => {
    const res = await handler(event({ body: JSON.stringify({ source: 'db1', volume: '-x', instanceId: 'i-1', containerName: 'db' }) }), context);
    expect(res.statusCode).toBe(400);
    const fields = (JSON.parse(res.body) as { fields: { field: string; problem: string }[] }).fields;
    expect(fields.map((f) => f.field).sort()).toEqual(['instanceId', 'volume']);
    expect(fields.find((f) => f.field === 'volume')?.problem).toMatch(/must be a Docker volume name/);
  });

  it('DynamoDB throttling is a 429 with Retry-After', async () => {
    const throttled = new ProvisionedThroughputExceededException({ message: 'Rate exceeded', $metadata: { httpStatusCode: 400 } });
    dynamoMock.on(GetCommand).rejects(throttled);
    const res = await handler(
      event({ httpMethod: 'GET', resource: '/sources/{source}/restores/{id}', body: null, pathParameters: { source: 'db1', id: 'r-abc-12345678' } }),
      context,
    );
    expect(res.statusCode).toBe(429);
    expect(res.headers?.['retry-after']).toBe('2');
  });

  it('an unexpected failure is a generic 500 with the request id and no internals', async () => {
    dynamoMock.on(GetCommand).rejects(new Error('socket hang up at /var/task/index.mjs:1:2345 secret=abc'));
    const res = await handler(
      event({ httpMethod: 'GET', resource: '/sources/{source}/restores/{id}', body: null, pathParameters: { source: 'db1', id: 'r-abc-12345678' } }),
      context,
    );
    expect(res.statusCode).toBe(500);
    expect(JSON.parse(res.body)).toEqual({ error: 'internal error', requestId: 'req-123' });
    expect(dynamoMock).toHaveReceivedCommandWith(GetCommand, { TableName: 'catalog', Key: { pk: 'RESTORE#r-abc-12345678', sk: 'RESTORE' } });
  });

  it('an unknown route is a 404, and the routes that bypassed per-source scoping are gone', async () => {
    for (const [httpMethod, resource] of [
      ['PUT', '/sources/{source}/restores'],
      ['POST', '/restores'],
      ['POST', '/drills'],
      ['GET', '/archives'],
      ['GET', '/restores/{id}'],
      ['DELETE', '/restores/{id}'],
    ] as const) {
      const res = await handler(event({ httpMethod, resource, pathParameters: { id: 'r-abc-12345678' } }), context);
      expect(res.statusCode, `${httpMethod} ${resource}`).toBe(404);
    }
    expect(ssmMock).not.toHaveReceivedAnyCommand();
  });
});

describe('errorToResponse', () => {
  it('never shows a stack trace', () => {
    const res = errorToResponse(new TypeError('x is undefined'), 'r-1');
    expect(res.body).not.toMatch(/TypeError|at .*\(/);
  });
});
