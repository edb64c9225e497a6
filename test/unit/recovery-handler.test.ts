/**
 * The recovery tasks function as the state machine calls it: the payload `{task, input}` is
 * dispatched by runRecoveryTask to the RecoveryService wired with the AWS adapters; AWS is
 * mocked at the SDK clients, so nothing leaves the process.
 */
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { EC2Client, RunInstancesCommand } from '@aws-sdk/client-ec2';
import { DescribeInstanceInformationCommand, ListTagsForResourceCommand, SendCommandCommand, SSMClient } from '@aws-sdk/client-ssm';
import { DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Ec2HostLauncher } from '#core/adapters/ec2-launch.ts';
import { RECOVERY_ERRORS } from '#core/recovery/model.ts';
import { bundledDocumentsDir } from '#root/lib/lifeboat-function.ts';

const dynamoMock = mockClient(DynamoDBDocumentClient);
const ssmMock = mockClient(SSMClient);
const ec2Mock = mockClient(EC2Client);
const context = { awsRequestId: 'req-1', functionName: 'recovery-tasks', getRemainingTimeInMillis: () => 50_000 } as unknown as Context;
const ID = 'rc-20261201030000-0123abcd';
const INSTANCE = 'i-0fedcba9876543210';

describe('recovery tasks function', () => {
  let handler: (payload: unknown, context: Context) => Promise<unknown>;
  let recoveryMetrics: typeof import('#root/functions/recovery/index.ts').recoveryMetrics;

  beforeAll(async () => {
    Object.assign(process.env, {
      AWS_REGION: 'eu-west-1',
      TABLE_NAME: 'catalog',
      BUCKET_NAME: 'archives-bucket',
      RESTORE_DOCUMENT_NAME: 'Lifeboat-Restore',
      OUTPUT_LOG_GROUP: '/lifeboat/out',
      HELPER_IMAGE: 'local/lifeboat-helper:1',
      TOPIC_ARN: 'arn:aws:sns:eu-west-1:123456789012:lifeboat',
      LIFEBOAT_POLICY: '{}',
      LIFEBOAT_PROTECT: JSON.stringify([{ source: 'db1', volume: 'pgdata', drillHost: { instanceId: 'i-0123456789abcdef0' }, rpoMinutes: 60 }]),
      RECOVERY_DRILLS: JSON.stringify([{ source: 'db1', drillHost: { instanceId: 'i-0123456789abcdef0' } }]),
      INSTANCE_TAG_KEY: 'lifeboat:managed',
      INSTANCE_TAG_VALUE: 'true',
      LAUNCH_TEMPLATES: JSON.stringify(['lt-0123456789abcdef0']),
      LIFEBOAT_RUNBOOKS_DIR: bundledDocumentsDir(join(tmpdir(), 'lifeboat-unit-documents')),
      POWERTOOLS_LOG_LEVEL: 'CRITICAL',
      POWERTOOLS_METRICS_NAMESPACE: 'Lifeboat',
    });
    ({ handler, recoveryMetrics } = (await import('#root/functions/recovery/index.ts')) as unknown as {
      handler: typeof handler;
      recoveryMetrics: typeof recoveryMetrics;
    });
  });

  beforeEach(() => {
    dynamoMock.reset();
    ssmMock.reset();
    ec2Mock.reset();
  });

  it('checkHost: asks SSM whether the launched instance is online and counts the attempt', async () => {
    ssmMock.on(DescribeInstanceInformationCommand).resolves({ InstanceInformationList: [] });
    const out = await handler({ task: 'checkHost', input: { recoveryId: ID, instanceId: INSTANCE, attempts: 2 } }, context);
    expect(out).toEqual({ recoveryId: ID, instanceId: INSTANCE, attempts: 3, online: false });
    expect(ssmMock).toHaveReceivedCommand(DescribeInstanceInformationCommand);
    // Not online: the recovery's record is left as it is.
    expect(dynamoMock).not.toHaveReceivedCommand(UpdateCommand);
  });

  it('an online replacement asks the catalog to move the recovery from launching to running (once: a recovery already running is left)', async () => {
    // A managed node (mi-…): its tags come from SSM, so no EC2 call is made.
    const node = 'mi-0123456789abcdef0';
    ssmMock.on(DescribeInstanceInformationCommand).resolves({ InstanceInformationList: [{ InstanceId: node, PingStatus: 'Online', PlatformType: 'Linux' }] });
    ssmMock.on(ListTagsForResourceCommand).resolves({ TagList: [] });
    // The condition (state launching) fails: the recovery was already running.
    dynamoMock.on(UpdateCommand).rejects(new ConditionalCheckFailedException({ $metadata: {}, message: 'state' }));
    const out = await handler({ task: 'checkHost', input: { recoveryId: ID, instanceId: node, attempts: 0 } }, context);
    expect(out).toMatchObject({ attempts: 1, online: true });
    expect(dynamoMock).toHaveReceivedCommandWith(UpdateCommand, {
      TableName: 'catalog',
      Key: { pk: `RECOVERY#${ID}`, sk: 'RECOVERY' },
      ExpressionAttributeValues: expect.objectContaining({ ':from0': 'launching' }) as unknown as Record<string, unknown>,
    });
  });

  it('a member of an unknown recovery fails with the error name the state machine’s Catch matches, and sends nothing', async () => {
    dynamoMock.on(GetCommand).resolves({});
    const run = handler({ task: 'restoreMember', input: { recoveryId: ID, volume: 'pgdata', taskToken: 'token-1' } }, context);
    await expect(run).rejects.toMatchObject({ name: RECOVERY_ERRORS.memberNotStarted });
    expect(ssmMock).not.toHaveReceivedCommand(SendCommandCommand);
  });

  it('the execution-ended rule’s report of an execution that is no recovery (a scheduled drill’s generated name) is ignored, not an error', async () => {
    dynamoMock.on(GetCommand).resolves({});
    const ended = (recoveryId: string, status: string) => ({
      task: 'report',
      input: { recoveryId, error: { Error: `Lifeboat.Execution${status}`, Cause: `the execution ended ${status} before its report` } },
    });
    await expect(handler(ended('6b1f0c1e-0000-4000-8000-000000000000', 'FAILED'), context)).resolves.toEqual({
      ignored: 'no recovery 6b1f0c1e-0000-4000-8000-000000000000',
    });
    await expect(handler(ended(ID, 'TIMED_OUT'), context)).resolves.toEqual({ ignored: `no recovery ${ID}` });
    // The state machine's own Report of an unknown recovery is still an error (a bug somewhere).
    await expect(handler({ task: 'report', input: { recoveryId: ID } }, context)).rejects.toMatchObject({ name: RECOVERY_ERRORS.notRunnable });
    await expect(
      handler({ task: 'report', input: { recoveryId: ID, error: { Error: RECOVERY_ERRORS.criticalFailed, Cause: 'x' } } }, context),
    ).rejects.toMatchObject({ name: RECOVERY_ERRORS.notRunnable });
    // Any other error of the rule's report (the catalog failing) is an error: EventBridge's async invoke retries it.
    dynamoMock.on(GetCommand).rejects(new Error('ProvisionedThroughputExceededException'));
    await expect(handler(ended(ID, 'ABORTED'), context)).rejects.toThrow(/ProvisionedThroughputExceeded/);
  });

  it('a payload the definition could not have sent is refused before anything is called', async () => {
    await expect(handler({ task: 'format', input: {} }, context)).rejects.toThrow();
    await expect(handler({ task: 'checkHost', input: { recoveryId: ID } }, context)).rejects.toThrow(/instanceId/);
    expect(ssmMock).not.toHaveReceivedAnyCommand();
    expect(dynamoMock).not.toHaveReceivedAnyCommand();
  });

  it('publishes a recovery drill’s outcome per source (the alarm’s metric) and a recovery’s without it', () => {
    const published: { dims: Record<string, string>; name: string; value: number }[] = [];
    const single = () => {
      let dims: Record<string, string> = {};
      return {
        addDimensions: (d: Record<string, string>) => {
          dims = { ...dims, ...d };
        },
        addMetric: (name: string, _unit: string, value: number) => {
          published.push({ dims, name, value });
        },
      };
    };
    const fake = { singleMetric: single, addMetric: (name: string, _unit: string, value: number) => published.push({ dims: {}, name, value }) };
    const m = recoveryMetrics(fake as unknown as Metrics);
    m.recoveryFinished({ source: 'db1', mode: 'drill', outcome: 'stopped', totalSeconds: 120 });
    m.recoveryFinished({ source: 'db1', mode: 'drill', outcome: 'succeeded', totalSeconds: 90 });
    m.recoveryFinished({ source: 'db1', mode: 'restore', outcome: 'partial', totalSeconds: 60 });
    expect(published).toEqual([
      { dims: { Source: 'db1' }, name: 'RecoveryDrillFailed', value: 1 },
      { dims: { Source: 'db1' }, name: 'RecoveryDrillSeconds', value: 120 },
      { dims: { Source: 'db1' }, name: 'RecoveryDrillFailed', value: 0 },
      { dims: { Source: 'db1' }, name: 'RecoveryDrillSeconds', value: 90 },
      { dims: {}, name: 'RecoveryNotSucceeded', value: 1 },
      { dims: {}, name: 'RecoverySeconds', value: 60 },
    ]);
  });
});

describe('Ec2HostLauncher', () => {
  const launcher = new Ec2HostLauncher(new EC2Client({ region: 'eu-west-1' }));
  beforeEach(() => {
    ec2Mock.reset();
  });

  it('starts exactly one instance from the template by id, idempotent by the recovery id, the instance and its volumes tagged', async () => {
    ec2Mock.on(RunInstancesCommand).resolves({ Instances: [{ InstanceId: INSTANCE }] });
    const tags = { 'lifeboat:managed': 'true', 'lifeboat:sources': 'db1', 'lifeboat:recovery': ID };
    expect(await launcher.launch({ templateId: 'lt-0123456789abcdef0', tags, clientToken: ID })).toBe(INSTANCE);
    const tagList = Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
    expect(ec2Mock).toHaveReceivedCommandWith(RunInstancesCommand, {
      LaunchTemplate: { LaunchTemplateId: 'lt-0123456789abcdef0', Version: '$Default' },
      MinCount: 1,
      MaxCount: 1,
      ClientToken: ID,
      TagSpecifications: [
        { ResourceType: 'instance', Tags: tagList },
        { ResourceType: 'volume', Tags: tagList },
      ],
    });
  });

  it('a template named by name, at a version', async () => {
    ec2Mock.on(RunInstancesCommand).resolves({ Instances: [{ InstanceId: INSTANCE }] });
    await launcher.launch({ templateId: 'db-replacement', version: '7', tags: {}, clientToken: ID });
    const input = ec2Mock.commandCalls(RunInstancesCommand)[0]?.args[0].input;
    expect(input?.LaunchTemplate).toEqual({ LaunchTemplateName: 'db-replacement', Version: '7' });
    expect(input?.TagSpecifications).toBeUndefined();
  });

  it('EC2 answering without an instance is an error naming the template; EC2 errors pass through', async () => {
    ec2Mock
      .on(RunInstancesCommand)
      .resolvesOnce({ Instances: [] })
      .rejectsOnce(Object.assign(new Error('not authorized'), { name: 'UnauthorizedOperation' }));
    await expect(launcher.launch({ templateId: 'lt-0123456789abcdef0', tags: {}, clientToken: ID })).rejects.toThrow(/lt-0123456789abcdef0/);
    await expect(launcher.launch({ templateId: 'lt-0123456789abcdef0', tags: {}, clientToken: ID })).rejects.toMatchObject({ name: 'UnauthorizedOperation' });
  });
});
