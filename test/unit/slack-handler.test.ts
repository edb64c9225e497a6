import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { tmpdir } from 'node:os';
import { ROOT } from '#core/paths.ts';
import { bundledDocumentsDir } from '#root/lib/lifeboat-function.ts';
import { slackSignature } from '#core/slack/signature.ts';

// The deployed handler as API Gateway calls it: signature first, secret from Secrets Manager (cached).
const secrets = mockClient(SecretsManagerClient);
const sqs = mockClient(SQSClient);
const dynamo = mockClient(DynamoDBDocumentClient);
const SECRET = 'handler-test-signing-secret-0123';
const context = { awsRequestId: 'req-1', functionName: 'slack', getRemainingTimeInMillis: () => 9000 } as unknown as Context;

describe('slack handler (Lambda wiring)', () => {
  let handler: (e: APIGatewayProxyEvent, c: Context) => Promise<APIGatewayProxyResult>;
  beforeAll(async () => {
    Object.assign(process.env, {
      AWS_REGION: 'eu-west-1',
      TABLE_NAME: 'catalog',
      BUCKET_NAME: 'archives-bucket',
      RESTORE_DOCUMENT_NAME: 'Lifeboat-Restore',
      CANCEL_DOCUMENT_NAME: 'Lifeboat-Cancel',
      OUTPUT_LOG_GROUP: '/lifeboat/out',
      HELPER_IMAGE: 'local/lifeboat-helper:1',
      LIFEBOAT_RUNBOOKS_DIR: bundledDocumentsDir(join(tmpdir(), 'lifeboat-unit-documents')),
      POWERTOOLS_LOG_LEVEL: 'CRITICAL',
      SIGNING_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:slack-AbCdEf',
      WORK_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/work',
      SLACK_TEAM_IDS: 'T0LIFE',
      SLACK_CHANNEL_IDS: 'C0ONCALL',
      SLACK_USER_IDS: 'U0ALICE',
      LIFEBOAT_POLICY: '{}',
    });
    ({ handler } = await import('#root/functions/slack/index.ts'));
  });
  beforeEach(() => {
    secrets.reset();
    sqs.reset();
    dynamo.reset();
    dynamo.on(PutCommand).resolves({});
    secrets.on(GetSecretValueCommand).resolves({ SecretString: SECRET });
    sqs.on(SendMessageCommand).resolves({ MessageId: 'm-1' });
  });

  const body = new URLSearchParams({
    command: '/lifeboat',
    text: 'volumes',
    team_id: 'T0LIFE',
    channel_id: 'C0ONCALL',
    user_id: 'U0ALICE',
    response_url: 'https://hooks.slack.com/commands/T0LIFE/1/x',
  }).toString();
  const event = (headers: Record<string, string>, raw = body): APIGatewayProxyEvent => ({
    ...(JSON.parse(readFileSync(join(ROOT, 'test/events/apigw/post-restores.json'), 'utf8')) as APIGatewayProxyEvent),
    resource: '/slack/commands',
    path: '/slack/commands',
    headers,
    body: raw,
  });

  it('an unsigned request is 401 and nothing is queued', async () => {
    const res = await handler(event({ 'Content-Type': 'application/x-www-form-urlencoded' }), context);
    expect(res.statusCode).toBe(401);
    expect(sqs).not.toHaveReceivedCommand(SendMessageCommand);
  });

  it('a signed command is acknowledged at once and its work queued; the secret is fetched once and cached', async () => {
    const now = Math.floor(Date.now() / 1000);
    for (let i = 0; i < 2; i++) {
      const ts = (now - i).toString();
      const res = await handler(event({ 'X-Slack-Request-Timestamp': ts, 'X-Slack-Signature': slackSignature(SECRET, ts, body) }), context);
      expect(res.statusCode).toBe(200);
      // The acknowledgement names the region Lambda runs in (AWS_REGION): the primary's app and the DR stack's are told apart.
      expect(JSON.parse(res.body)).toMatchObject({
        response_type: 'ephemeral',
        text: `Working on \`volumes\`…\n_Lifeboat in ${process.env.AWS_REGION ?? ''}_`,
      });
      expect(process.env.AWS_REGION).toBe('eu-west-1');
    }
    expect(sqs).toHaveReceivedCommandTimes(SendMessageCommand, 2);
    expect(JSON.parse(sqs.commandCalls(SendMessageCommand)[0]?.args[0].input.MessageBody ?? '{}')).toMatchObject({
      kind: 'command',
      command: { verb: 'volumes' },
      who: { userId: 'U0ALICE' },
    });
    expect(secrets.commandCalls(GetSecretValueCommand).length).toBeLessThanOrEqual(1);
  });

  it('each signed request is recorded once in the catalog table by a conditional put; a replay is 401 and nothing is queued', async () => {
    const ts = Math.floor(Date.now() / 1000).toString();
    const signature = slackSignature(SECRET, ts, body);
    expect((await handler(event({ 'X-Slack-Request-Timestamp': ts, 'X-Slack-Signature': signature }), context)).statusCode).toBe(200);
    const put = dynamo.commandCalls(PutCommand)[0]?.args[0].input;
    expect(put).toMatchObject({
      TableName: 'catalog',
      Item: { pk: `SLACKSEEN#${ts}#${signature}`, sk: 'SLACKSEEN' },
      ConditionExpression: 'attribute_not_exists(pk)',
    });
    // Kept (TTL) until after the request could no longer pass the five-minute check anyway.
    expect(put?.Item?.expiration).toBeGreaterThan(Number(ts) + 300);
    dynamo.on(PutCommand).rejects(new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} }));
    const replay = await handler(event({ 'X-Slack-Request-Timestamp': ts, 'X-Slack-Signature': signature }), context);
    expect(replay.statusCode).toBe(401);
    expect(sqs).toHaveReceivedCommandTimes(SendMessageCommand, 1);
  });
});
