import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import {
  DescribeInstanceInformationCommand,
  GetCommandInvocationCommand,
  ListCommandInvocationsCommand,
  ListTagsForResourceCommand,
  SendCommandCommand,
  SSMClient,
} from '@aws-sdk/client-ssm';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
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

describe('restore-api handler: backups now (POST /sources/{source}/backups, GET …/backups/{id})', () => {
  let handler: (e: APIGatewayProxyEvent, c: Context) => Promise<APIGatewayProxyResult>;
  // A managed node: its lifeboat:sources tag is read through SSM (mocked), never EC2 over the network.
  const NODE = 'mi-0123456789abcdef0';
  const COMMAND = '0b6b7c6e-1f2a-4c3d-9e8f-001122334455';
  const post = (body: unknown, source = 'db1'): APIGatewayProxyEvent =>
    event({ resource: '/sources/{source}/backups', path: `/sources/${source}/backups`, pathParameters: { source }, body: JSON.stringify(body) });

  beforeAll(async () => {
    ({ handler } = await import('#root/functions/restore-api/index.ts'));
  });
  beforeEach(() => {
    ssmMock.reset();
    ssmMock.on(DescribeInstanceInformationCommand).resolves({ InstanceInformationList: [{ InstanceId: NODE, PingStatus: 'Online', PlatformType: 'Linux' }] });
    ssmMock.on(ListTagsForResourceCommand).resolves({ TagList: [{ Key: 'lifeboat:sources', Value: 'db1' }] });
    ssmMock.on(SendCommandCommand).resolves({ Command: { CommandId: COMMAND } });
  });

  it("202 with the command id, what was sent and where to follow it; the stack's bucket, prefix, region and helper image come from the environment", async () => {
    const res = await handler(post({ volume: 'pgdata', instanceId: NODE, containerName: 'db' }), context);
    expect(res.statusCode, res.body).toBe(202);
    const body = JSON.parse(res.body) as Record<string, unknown>;
    expect(res.headers?.location).toBe(`/sources/db1/backups/${COMMAND}`);
    expect(body).toMatchObject({
      commandId: COMMAND,
      source: 'db1',
      instanceId: NODE,
      consistency: 'pause',
      statusUrl: `/sources/db1/backups/${COMMAND}`,
      requestedBy: 'arn:aws:sts::123456789012:assumed-role/OnCall/oncall',
      parameters: { Bucket: 'archives-bucket', KeyPrefix: 'archives', Region: 'eu-west-1', HelperImage: 'local/lifeboat-helper:1', VolumeName: 'pgdata' },
    });
    expect(body.backupId).toMatch(/^b-[a-z0-9]+-[a-f0-9]{8}$/);
    expect(ssmMock).toHaveReceivedCommandWith(SendCommandCommand, {
      DocumentName: 'Lifeboat-Backup',
      InstanceIds: [NODE],
      CloudWatchOutputConfig: { CloudWatchOutputEnabled: true, CloudWatchLogGroupName: '/lifeboat/out' },
    });
  });

  it('a bad body is a 400 naming each field; a body naming another source is refused; nothing is sent', async () => {
    const bad = await handler(post({ volume: 'pg data', instanceId: 'i-nope', consistency: 'freeze' }), context);
    expect(bad.statusCode).toBe(400);
    const fields = (JSON.parse(bad.body) as { fields: { field: string; problem: string }[] }).fields;
    expect(fields.map((f) => f.field).sort()).toEqual(['consistency', 'instanceId', 'volume']);
    const other = await handler(post({ source: 'billing', volume: 'pgdata', instanceId: NODE }), context);
    expect(other.statusCode).toBe(400);
    expect(JSON.parse(other.body)).toMatchObject({ fields: [{ field: 'source' }] });
    expect(ssmMock).not.toHaveReceivedCommand(SendCommandCommand);
  });

  it('status: a command id that is not a UUID is a 400 naming id; a backup of this source answers its SSM status', async () => {
    const get = (id: string): APIGatewayProxyEvent =>
      event({
        httpMethod: 'GET',
        resource: '/sources/{source}/backups/{id}',
        path: `/sources/db1/backups/${id}`,
        pathParameters: { source: 'db1', id },
        body: null,
      });
    const bad = await handler(get('cmd-1'), context);
    expect(bad.statusCode).toBe(400);
    expect(JSON.parse(bad.body)).toMatchObject({ fields: [{ field: 'id', problem: expect.stringContaining('SSM command id') as unknown }] });
    ssmMock.on(ListCommandInvocationsCommand).resolves({
      CommandInvocations: [
        { CommandId: COMMAND, InstanceId: NODE, DocumentName: 'Lifeboat-Backup', Comment: 'lifeboat backup b-mfx2k1a0-1a2b3c4d db1', Status: 'InProgress' },
      ],
    });
    const res = await handler(get(COMMAND), context);
    expect(res.statusCode, res.body).toBe(200);
    expect(JSON.parse(res.body)).toMatchObject({ commandId: COMMAND, backupId: 'b-mfx2k1a0-1a2b3c4d', instanceId: NODE, status: 'InProgress', done: false });
    expect(ssmMock).not.toHaveReceivedCommand(GetCommandInvocationCommand);
  });
});

describe('errorToResponse', () => {
  it('never shows a stack trace', () => {
    const res = errorToResponse(new TypeError('x is undefined'), 'r-1');
    expect(res.body).not.toMatch(/TypeError|at .*\(/);
  });
});
