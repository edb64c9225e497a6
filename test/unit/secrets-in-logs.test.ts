/**
 * Threat: a secret copied into CloudWatch Logs, where far more people can read
 * it than may use it. The presigned archive URL's query string (read access to
 * the archive until it expires), Slack response URLs (post into the channel),
 * the Slack signing secret and request signatures never appear in a log line,
 * whoever logs them and however (message, error, extra keys). Checked on the
 * real handlers with every log level on, capturing what they write.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { ROOT } from '#core/paths.ts';
import { slackSignature } from '#core/slack/signature.ts';
import { lifeboatLogger, redact } from '#root/functions/commons/logger.ts';
import { bundledDocumentsDir } from '#root/lib/lifeboat-function.ts';

const dynamoMock = mockClient(DynamoDBDocumentClient);
const secrets = mockClient(SecretsManagerClient);
const sqs = mockClient(SQSClient);
const SIGNING_SECRET = 'logs-test-signing-secret-5f3a9c';
const RESPONSE_URL = 'https://hooks.slack.com/commands/T0LIFE/123456/AbCdEfSecretToken';
const context = { awsRequestId: 'req-logs', functionName: 'f', getRemainingTimeInMillis: () => 9000 } as unknown as Context;
const baseEvent = JSON.parse(readFileSync(join(ROOT, 'test/events/apigw/post-restores.json'), 'utf8')) as APIGatewayProxyEvent;

/** A real presigned GET URL, made the way the restore API makes it (signing is local: no request is sent). */
const presigned = (): Promise<string> =>
  getSignedUrl(
    new S3Client({
      region: 'eu-west-1',
      credentials: { accessKeyId: 'ASIAEXAMPLEKEY00', secretAccessKey: 'secret', sessionToken: 'IQoJb3JpZ2luSessionTokenExample' },
    }),
    new GetObjectCommand({ Bucket: 'archives-bucket', Key: 'archives/db1/pgdata/20261127T031500Z.tar.zst' }),
    { expiresIn: 900 },
  );

// The API event's own X-Amz-Security-Token header (the caller's session token) counts too: events are logged here (LOG_EVENT on).
const SECRET_SHAPES = [
  /X-Amz-Signature=[0-9a-f]{8}/i,
  /X-Amz-Credential=ASIA/i,
  /X-Amz-Security-Token=IQo/i,
  /IQoJb3JpZ2lu/,
  /AbCdEfSecretToken/,
  new RegExp(SIGNING_SECRET),
  /v0=[0-9a-f]{64}/,
];

describe('secrets never reach the logs', () => {
  let written = '';
  beforeAll(() => {
    Object.assign(process.env, {
      TABLE_NAME: 'catalog',
      IDEMPOTENCY_TABLE_NAME: 'idem',
      BUCKET_NAME: 'archives-bucket',
      ARCHIVE_PREFIX: 'archives',
      LIFEBOAT_POLICY: '{}',
      RESTORE_DOCUMENT_NAME: 'Lifeboat-Restore',
      CANCEL_DOCUMENT_NAME: 'Lifeboat-Cancel',
      OUTPUT_LOG_GROUP: '/lifeboat/out',
      HELPER_IMAGE: 'local/lifeboat-helper:1',
      LIFEBOAT_RUNBOOKS_DIR: bundledDocumentsDir(join(tmpdir(), 'lifeboat-unit-documents')),
      POWERTOOLS_LOG_LEVEL: 'DEBUG',
      POWERTOOLS_LOGGER_LOG_EVENT: 'true',
      POWERTOOLS_METRICS_NAMESPACE: 'Lifeboat',
      POWERTOOLS_METRICS_DISABLED: 'true',
      SIGNING_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:slack-AbCdEf',
      WORK_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/work',
      SLACK_TEAM_IDS: 'T0LIFE',
      SLACK_CHANNEL_IDS: 'C0ONCALL',
      SLACK_USER_IDS: 'U0ALICE',
    });
  });
  beforeEach(() => {
    written = '';
    const capture = (chunk: unknown): boolean => {
      written += String(chunk);
      return true;
    };
    vi.spyOn(process.stdout, 'write').mockImplementation(capture);
    vi.spyOn(process.stderr, 'write').mockImplementation(capture);
    dynamoMock.reset();
    secrets.reset();
    sqs.reset();
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });
  const expectNoSecrets = (): void => {
    expect(written.length, 'the handler logged something to check').toBeGreaterThan(0);
    for (const shape of SECRET_SHAPES) expect(written).not.toMatch(shape);
  };

  it('the logger redacts presigned query strings, Slack response URLs and signatures, in messages, errors and extra keys', async () => {
    const url = await presigned();
    expect(url).toMatch(SECRET_SHAPES[0] as RegExp); // the URL really carries what must not leak
    const logger = lifeboatLogger('lifeboat-test');
    logger.info(`sending ${url}`, { archiveUrl: url, nested: { responseUrl: RESPONSE_URL, signature: slackSignature(SIGNING_SECRET, '1', 'body') } });
    logger.error('send failed', new Error(`InvalidParameters: ArchiveUrl ${url} rejected; reply to ${RESPONSE_URL}`));
    expectNoSecrets();
    // What an operator needs stays: which archive, which bucket.
    expect(written).toContain('archives/db1/pgdata/20261127T031500Z.tar.zst');
    expect(written).toContain('X-Amz-Signature=[redacted]');
  });

  it('redact leaves ordinary text alone', () => {
    const text = 'restore r-abc-12345678 of archives/db1/pgdata/20261127T031500Z.tar.zst failed: checksum mismatch';
    expect(redact(text)).toBe(text);
  });

  it('restore API: an error carrying a presigned URL is logged without its query string (500 to the caller, no internals)', async () => {
    const { handler } = (await import('#root/functions/restore-api/index.ts')) as {
      handler: (e: APIGatewayProxyEvent, c: Context) => Promise<APIGatewayProxyResult>;
    };
    dynamoMock.on(GetCommand).rejects(new Error(`upstream said: ${await presigned()}`));
    const res = await handler(
      { ...baseEvent, httpMethod: 'GET', resource: '/sources/{source}/restores/{id}', body: null, pathParameters: { source: 'db1', id: 'r-abc-12345678' } },
      context,
    );
    expect(res.statusCode).toBe(500);
    expect(res.body).not.toMatch(/X-Amz/);
    expectNoSecrets();
  });

  it('Slack: neither the signing secret, nor a signature, nor the response URL is logged, for refused and accepted requests', async () => {
    secrets.on(GetSecretValueCommand).resolves({ SecretString: SIGNING_SECRET });
    sqs.on(SendMessageCommand).resolves({ MessageId: 'm-1' });
    const { handler } = (await import('#root/functions/slack/index.ts')) as {
      handler: (e: APIGatewayProxyEvent, c: Context) => Promise<APIGatewayProxyResult>;
    };
    const body = new URLSearchParams({
      command: '/lifeboat',
      text: 'volumes',
      team_id: 'T0LIFE',
      channel_id: 'C0ONCALL',
      user_id: 'U0ALICE',
      response_url: RESPONSE_URL,
    }).toString();
    const ts = Math.floor(Date.now() / 1000).toString();
    const event = (signature: string): APIGatewayProxyEvent => ({
      ...baseEvent,
      resource: '/slack/commands',
      path: '/slack/commands',
      headers: { 'X-Slack-Request-Timestamp': ts, 'X-Slack-Signature': signature },
      body,
    });
    expect((await handler(event(`v0=${'0'.repeat(64)}`), context)).statusCode).toBe(401);
    expect((await handler(event(slackSignature(SIGNING_SECRET, ts, body)), context)).statusCode).toBe(200);
    expectNoSecrets();
  });
});
