import { templateApp } from '#root/lib/app-context.ts';
import type { CfnRole } from 'aws-cdk-lib/aws-iam';
import type { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { LifeboatStack, type LifeboatConfig } from '#root/lib/lifeboat-stack.ts';
import { DOCUMENTS } from '#core/paths.ts';
import { RestorePolicy } from '#core/policy.ts';
import { loadDocument } from '#core/runbooks/document.ts';

const synth = (config?: LifeboatConfig): { stack: LifeboatStack; template: Template } => {
  // No esbuild bundling in unit tests: the template is what is asserted (`cdk synth` bundles for real).
  const app = templateApp();
  const stack = new LifeboatStack(app, 'Test', { config });
  return { stack, template: Template.fromStack(stack) };
};

interface Statement {
  Action: string | string[];
  Resource: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}
const statements = (template: Template): Statement[] =>
  Object.values(template.findResources('AWS::IAM::Policy')).flatMap(
    (p) => (p as { Properties: { PolicyDocument: { Statement: Statement[] } } }).Properties.PolicyDocument.Statement,
  );
const actions = (s: Statement): string[] => (Array.isArray(s.Action) ? s.Action : [s.Action]);

describe('LifeboatStack', () => {
  let stack: LifeboatStack;
  let template: Template;
  beforeAll(() => {
    ({ stack, template } = synth());
  });

  it.each(DOCUMENTS)('deploys %s with exactly the content of its runbooks/ YAML file', (name) => {
    template.hasResourceProperties('AWS::SSM::Document', {
      DocumentType: 'Command',
      UpdateMethod: 'NewVersion',
      Content: loadDocument(name),
      Tags: Match.arrayWith([{ Key: 'lifeboat:document', Value: name }]),
    });
  });

  it('hard-codes no resource names (documents are named after the stack)', () => {
    for (const name of DOCUMENTS) {
      expect(
        (template.toJSON() as { Resources: Record<string, { Properties: { Name?: string } }> }).Resources[stack.getLogicalId(stack.runbooks.documents[name])]
          ?.Properties.Name,
      ).toBe(`Test-${name}`);
    }
    for (const type of ['AWS::Lambda::Function', 'AWS::DynamoDB::GlobalTable', 'AWS::S3::Bucket']) {
      for (const r of Object.values(template.findResources(type))) {
        const props = (r as { Properties: Record<string, unknown> }).Properties;
        expect(props.Name ?? props.FunctionName ?? props.TableName ?? props.BucketName).toBeUndefined();
      }
    }
  });

  it('passes cdk-nag AwsSolutions with no unacknowledged findings', () => {
    expect(new AwsSolutionsChecks().validateScope(stack).violations).toEqual([]);
  });

  it('every API route is IAM-authorized', () => {
    const methods = Object.values(template.findResources('AWS::ApiGateway::Method')) as { Properties: { HttpMethod: string; AuthorizationType: string } }[];
    expect(methods.map((m) => m.Properties.HttpMethod)).toEqual(expect.arrayContaining(['GET', 'GET', 'GET', 'POST', 'POST']));
    for (const m of methods) expect(m.Properties.AuthorizationType).toBe('AWS_IAM');
  });

  it('the archive bucket is private, TLS-only, versioned, encrypted, retained and sends events', () => {
    template.hasResource('AWS::S3::Bucket', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: Match.objectLike({
        VersioningConfiguration: { Status: 'Enabled' },
        PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
        BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
        LoggingConfiguration: Match.anyValue(),
      }),
    });
    template.hasResourceProperties('Custom::S3BucketNotifications', { NotificationConfiguration: { EventBridgeConfiguration: {} } });
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
  });

  it('Object Lock is set in compliance mode when configured', () => {
    synth({ objectLockDays: 35 }).template.hasResourceProperties('AWS::S3::Bucket', {
      ObjectLockEnabled: true,
      ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'COMPLIANCE', Days: 35 } } },
    });
  });

  it('an existing bucket can be used instead of a new one', () => {
    const imported = synth({ existingBucketName: 'my-old-backups' }).template;
    expect(Object.keys(imported.findResources('AWS::S3::Bucket'))).toHaveLength(0);
  });

  it('no IAM statement allows every action of a service', () => {
    for (const s of statements(template)) for (const a of actions(s)) expect(a).not.toMatch(/(^\*$|:\*$)/);
  });

  it('ssm:SendCommand reaches only the restore, cancel and backup documents and instances tagged lifeboat:managed=true', () => {
    const send = statements(template).filter((s) => actions(s).includes('ssm:SendCommand'));
    const onInstances = send.filter((s) => JSON.stringify(s.Resource).includes(':instance/*'));
    expect(onInstances.length).toBeGreaterThan(0);
    for (const s of onInstances) expect(s.Condition).toEqual({ StringEquals: { 'ssm:resourceTag/lifeboat:managed': 'true' } });
    const documents = (['restore-volume', 'cancel-restore', 'backup-volume'] as const).map((d) => stack.getLogicalId(stack.runbooks.documents[d]));
    for (const s of send.filter((x) => !onInstances.includes(x))) {
      expect(JSON.stringify(s.Resource)).toContain(':document/');
      // Every document ARN in the statement is one of Lifeboat's (never AWS-RunShellScript or a wildcard).
      const named = JSON.stringify(s.Resource).split(':document/').slice(1);
      expect(named.length).toBeGreaterThan(0);
      for (const arn of named)
        expect(
          documents.some((d) => arn.includes(d)),
          arn,
        ).toBe(true);
    }
    for (const d of documents) expect(send.some((s) => JSON.stringify(s.Resource).includes(d))).toBe(true);
  });

  it('S3 access is read-only on the archive prefix', () => {
    // (CDK's own bucket-notifications custom resource configures the bucket once at deploy time.)
    const s3 = statements(template).filter((s) => actions(s).some((a) => a.startsWith('s3:')) && !actions(s).includes('s3:PutBucketNotification'));
    expect(s3.length).toBeGreaterThanOrEqual(6);
    for (const s of s3) {
      expect(actions(s).every((a) => a === 's3:GetObject' || a === 's3:ListBucket')).toBe(true);
      if (actions(s).includes('s3:GetObject')) expect(JSON.stringify(s.Resource)).toContain('/archives/*');
      if (actions(s).includes('s3:ListBucket')) expect(s.Condition).toEqual({ StringLike: { 's3:prefix': ['archives/*'] } });
    }
  });

  it('functions run on the latest Node.js runtime, ARM64, with JSON logs and tracing', () => {
    const ours = [stack.api.function, stack.catalog.function, stack.catalog.reconcile, stack.completion.function].map((f) =>
      stack.getLogicalId(f.node.defaultChild as CfnFunction),
    );
    const resources = (template.toJSON() as { Resources: Record<string, unknown> }).Resources;
    const fns = ours.map((id) => resources[id]);
    expect(fns.every(Boolean)).toBe(true);
    for (const f of fns) {
      expect((f as { Properties: unknown }).Properties).toMatchObject({
        Runtime: 'nodejs24.x',
        Architectures: ['arm64'],
        LoggingConfig: { LogFormat: 'JSON' },
        TracingConfig: { Mode: 'Active' },
      });
    }
  });

  it('completion listens to Lifeboat’s restore document only; the catalog to the archive prefix only', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.ssm'],
        'detail-type': ['EC2 Command Invocation Status-change Notification'],
        detail: { 'document-name': [{ Ref: stack.getLogicalId(stack.runbooks.documents['restore-volume']) }] },
      },
    });
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: Match.objectLike({
        source: ['aws.s3'],
        'detail-type': ['Object Created', 'Object Deleted'],
        detail: Match.objectLike({ object: { key: [{ prefix: 'archives/' }] } }),
      }),
    });
  });

  it('a configuration mistake fails synth with a message naming the field', () => {
    expect(() => synth({ existingBucketName: 'Not_A_Bucket' })).toThrow(/existingBucketName[\s\S]*must be an S3 bucket name/);
    expect(() => synth({ objectLockDays: 0 })).toThrow(/objectLockDays/);
  });
});

describe('protected volumes: drills, freshness alarms, dashboard', () => {
  const policies = [
    {
      source: 'db1',
      volume: 'pgdata',
      drillHost: { instanceId: 'i-0123456789abcdef0' },
      drillSchedule: 'cron(0 4 * * ? *)',
      rpoMinutes: 60,
      verify: { engine: 'postgres' as const, check: 'select count(*) from orders', expectMinimum: 1000 },
      notify: ['oncall@example.com'],
    },
    { source: 'billing', volume: 'ledger', drillHost: { tag: { key: 'lifeboat:drill-host', value: 'true' } }, rpoMinutes: 1440 },
  ];
  let stack: LifeboatStack;
  let template: Template;
  beforeAll(() => {
    ({ stack, template } = synth({ protect: policies }));
  });
  const schedules = (): { Properties: { ScheduleExpression: string; Target: { Input: string } } }[] =>
    Object.values(template.findResources('AWS::Scheduler::Schedule')) as never;

  it('a drill schedule per protected volume, handing the drill function exactly that volume', () => {
    const drills = schedules().filter((s) => s.Properties.Target.Input.includes('drillHost'));
    expect(drills.map((d) => [d.Properties.ScheduleExpression, JSON.parse(d.Properties.Target.Input) as unknown])).toEqual([
      ['cron(0 4 * * ? *)', { source: 'db1', volume: 'pgdata', drillHost: { instanceId: 'i-0123456789abcdef0' } }],
      ['cron(0 4 * * ? *)', { source: 'billing', volume: 'ledger', drillHost: { tag: { key: 'lifeboat:drill-host', value: 'true' } } }],
    ]);
  });

  it("the drill function's restore policy carries each volume's verify (engine, check, minimum), so drills use it", () => {
    const id = stack.getLogicalId(stack.protection.drillFunction?.node.defaultChild as CfnFunction);
    const drill = (template.toJSON() as { Resources: Record<string, { Properties: { Environment: { Variables: Record<string, string> } } }> }).Resources[id];
    const policy = RestorePolicy.parse(JSON.parse(drill?.Properties.Environment.Variables.LIFEBOAT_POLICY ?? '{}'));
    expect(policy.volumes.map((v) => [v.source, v.volume, v.verify])).toEqual([
      ['db1', 'pgdata', { engine: 'postgres', check: 'select count(*) from orders', expectMinimum: 1000 }],
      ['billing', 'ledger', { engine: 'auto' }],
    ]);
  });

  it('one freshness schedule checks every protected volume against its RPO', () => {
    const freshness = schedules().filter((s) => s.Properties.Target.Input.includes('rpoSeconds'));
    expect(freshness).toHaveLength(1);
    expect(freshness[0]?.Properties.ScheduleExpression).toBe('rate(15 minutes)');
    expect(JSON.parse(freshness[0]?.Properties.Target.Input ?? '{}')).toEqual({
      volumes: [
        { source: 'db1', volume: 'pgdata', rpoSeconds: 3600 },
        { source: 'billing', volume: 'ledger', rpoSeconds: 86400 },
      ],
    });
  });

  it.each([
    ['db1', 'pgdata'],
    ['billing', 'ledger'],
  ])('%s/%s has an overdue-backup alarm (no data = overdue) and a failed-drill alarm, both notifying', (source, volume) => {
    const dims = [
      { Name: 'Source', Value: source },
      { Name: 'Volume', Value: volume },
      { Name: 'service', Value: 'lifeboat' },
    ];
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'Lifeboat',
      MetricName: 'BackupOverdue',
      Dimensions: dims,
      Threshold: 1,
      TreatMissingData: 'breaching',
      AlarmActions: Match.arrayWith([{ Ref: stack.getLogicalId(stack.notifications.topic.node.defaultChild as never) }]),
      OKActions: Match.anyValue(),
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'Lifeboat',
      MetricName: 'DrillFailed',
      Dimensions: dims,
      Threshold: 1,
      TreatMissingData: 'notBreaching',
    });
  });

  it('the people named for a volume get its alarms by e-mail', () => {
    template.resourceCountIs('AWS::SNS::Subscription', 1);
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'oncall@example.com' });
  });

  it('the dashboard has the restore widgets and a row per volume', () => {
    const body = JSON.stringify(Object.values(template.findResources('AWS::CloudWatch::Dashboard'))[0]);
    for (const title of [
      'Restores started / succeeded / failed',
      'Restore time on the host',
      'db1/pgdata: backup age vs RPO',
      'db1/pgdata: drill outcomes',
      'billing/ledger: drill restore time',
    ]) {
      expect(body).toContain(title);
    }
  });

  it('drills send only the restore document to tagged instances; cdk-nag still has no findings', () => {
    const send = statements(template).filter((s) => actions(s).includes('ssm:SendCommand'));
    // API, drill and recovery tasks: the restore document and tagged instances each; the API also the cancel document
    // (with @aws-cdk/aws-iam:minimizePolicies, one role's document statements are merged into one).
    expect(send.length).toBeGreaterThanOrEqual(6);
    expect(send.filter((s) => JSON.stringify(s.Resource).includes(':instance/*'))).toHaveLength(3);
    const drillRole = stack.getLogicalId(stack.protection.drillFunction?.role?.node.defaultChild as CfnRole);
    const drillPolicies = Object.values(template.findResources('AWS::IAM::Policy')).filter((p) => JSON.stringify(p).includes(drillRole));
    expect(JSON.stringify(drillPolicies)).not.toContain(stack.getLogicalId(stack.runbooks.documents['cancel-restore']));
    for (const s of send.filter((x) => JSON.stringify(x.Resource).includes(':instance/*'))) {
      expect(s.Condition).toEqual({ StringEquals: { 'ssm:resourceTag/lifeboat:managed': 'true' } });
    }
    expect(new AwsSolutionsChecks().validateScope(stack).violations).toEqual([]);
  });

  it.each([
    [{ ...policies[1], rpoMinutes: 0 }, /lifeboat\.protect\.0\.rpoMinutes: must be at least 1 minute/],
    [{ ...policies[1], drillSchedule: 'every day' }, /lifeboat\.protect\.0\.drillSchedule: must be an EventBridge Scheduler expression/],
    [{ ...policies[1], drillHost: { instanceId: 'web-1' } }, /lifeboat\.protect\.0\.drillHost/],
    [{ ...policies[1], volume: '../etc' }, /lifeboat\.protect\.0\.volume: must be a Docker volume name/],
    [{ ...policies[1], verify: { expectMinimum: 5 } }, /lifeboat\.protect\.0\.verify\.expectMinimum: needs a check whose answer is a number/],
    [{ ...policies[1], verify: { query: 'select 1' } }, /lifeboat\.protect\.0\.verify\.query: was renamed check/],
    [{ ...policies[1], verify: { engine: 'redis', check: 'FLUSHALL' } }, /lifeboat\.protect\.0\.verify\.check: redis checks must start with one of DBSIZE/],
    [{ ...policies[1], verify: { engine: 'custom' } }, /lifeboat\.protect\.0\.verify\.health: custom needs a health command/],
    [{ ...policies[1], notify: ['not-an-address'] }, /lifeboat\.protect\.0\.notify\.0: must be an e-mail address/],
  ])('a policy mistake fails synth naming the field (%#)', (policy, message) => {
    expect(() => synth({ protect: [policy as never] })).toThrow(message);
  });

  it('a volume can be protected once', () => {
    expect(() => synth({ protect: [policies[1] as never, policies[1] as never] })).toThrow(/lifeboat\.protect: each source\/volume may be protected once/);
  });
});

describe('Slack', () => {
  const slack = { teamIds: ['T0LIFE'], channelIds: ['C0ONCALL'], userIds: ['U0ALICE', 'U0BOB'] };
  let stack: LifeboatStack;
  let template: Template;
  beforeAll(() => {
    ({ stack, template } = synth({ slack }));
  });

  it('the two Slack routes skip IAM (Slack signing instead); every other route stays IAM-authorized', () => {
    const resources = template.toJSON() as { Resources: Record<string, { Type: string; Properties: Record<string, unknown> }> };
    const paths = Object.fromEntries(
      Object.entries(resources.Resources)
        .filter(([, r]) => r.Type === 'AWS::ApiGateway::Resource')
        .map(([id, r]) => [id, r.Properties.PathPart as string]),
    );
    const methods = Object.values(resources.Resources).filter((r) => r.Type === 'AWS::ApiGateway::Method');
    const open = methods.filter((m) => m.Properties.AuthorizationType === 'NONE').map((m) => paths[(m.Properties.ResourceId as { Ref: string }).Ref]);
    expect(open.sort()).toEqual(['commands', 'interactions']);
    expect(methods.filter((m) => m.Properties.AuthorizationType === 'AWS_IAM')).toHaveLength(methods.length - 2);
    expect(methods.length - 2).toBeGreaterThanOrEqual(5);
  });

  it('the signing secret is in Secrets Manager; the functions get its ARN, never its value', () => {
    template.resourceCountIs('AWS::SecretsManager::Secret', 1);
    for (const fn of [stack.slack?.function, stack.slack?.worker]) {
      const env = (template.toJSON() as { Resources: Record<string, { Properties: { Environment: { Variables: Record<string, unknown> } } }> }).Resources[
        stack.getLogicalId(fn?.node.defaultChild as CfnFunction)
      ]?.Properties.Environment.Variables;
      expect(env?.SIGNING_SECRET_ARN).toEqual({ Ref: expect.stringContaining('SlackSigningSecret') as unknown });
      expect(env).toMatchObject({ SLACK_TEAM_IDS: 'T0LIFE', SLACK_CHANNEL_IDS: 'C0ONCALL', SLACK_USER_IDS: 'U0ALICE,U0BOB' });
    }
  });

  it('the worker takes the queue one message at a time and reports partial failures; cdk-nag is clean', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', { BatchSize: 1, FunctionResponseTypes: ['ReportBatchItemFailures'] });
    expect(new AwsSolutionsChecks().validateScope(stack).violations).toEqual([]);
  });

  it('an empty allowlist or a bad id fails synth naming the field', () => {
    expect(() => synth({ slack: { ...slack, userIds: [] } })).toThrow(/lifeboat\.slack\.userIds: name at least one user id/);
    expect(() => synth({ slack: { ...slack, channelIds: ['#oncall'] } })).toThrow(/lifeboat\.slack\.channelIds\.0: must be a Slack id/);
  });
});

describe('document size', () => {
  it.each(DOCUMENTS)('%s stays under the 64 KB SSM document content limit', (name) => {
    expect(JSON.stringify(loadDocument(name)).length).toBeLessThan(64 * 1024);
  });
});

describe('alarms are delivered; nothing fails silently (every optional part configured)', () => {
  interface Resource {
    Type: string;
    Properties: Record<string, unknown>;
  }
  let stack: LifeboatStack;
  let resources: Record<string, Resource>;
  const ofType = (type: string): [string, Resource][] => Object.entries(resources).filter(([, r]) => r.Type === type);
  /** Logical ids a value names with Ref or Fn::GetAtt. */
  const refs = (value: unknown): string[] => {
    const found: string[] = [];
    JSON.stringify(value ?? null, (k, v: unknown) => {
      if (k === 'Ref' && typeof v === 'string') found.push(v);
      if (k === 'Fn::GetAtt' && Array.isArray(v) && typeof v[0] === 'string') found.push(v[0]);
      return v;
    });
    return found;
  };
  const alarms = (): Resource[] => ofType('AWS::CloudWatch::Alarm').map(([, r]) => r);
  const topicRef = (): { Ref: string } => ({ Ref: stack.getLogicalId(stack.notifications.topic.node.defaultChild as never) });

  beforeAll(() => {
    ({ stack } = synth({
      protect: [
        { source: 'db1', volume: 'pgdata', drillHost: { instanceId: 'i-0123456789abcdef0' }, rpoMinutes: 60, notify: ['oncall@example.com'] },
        { source: 'db', volume: 'pgdata', drillHost: { instanceId: 'i-0123456789abcdef0' }, rpoMinutes: 60 },
      ],
      backupSources: ['billing'],
      slack: { teamIds: ['T0LIFE'], channelIds: ['C0ONCALL'], userIds: ['U0ALICE'] },
    }));
    resources = (Template.fromStack(stack).toJSON() as { Resources: Record<string, Resource> }).Resources;
  });

  it('every topic an alarm notifies is encrypted with a customer-managed key, rotated, that CloudWatch may use for this account’s alarms', () => {
    const topics = new Set(alarms().flatMap((a) => refs([a.Properties.AlarmActions, a.Properties.OKActions, a.Properties.InsufficientDataActions])));
    expect(topics.size).toBeGreaterThanOrEqual(2); // the notification topic and db1/pgdata's own alert topic
    for (const topic of topics) {
      expect(resources[topic]?.Type).toBe('AWS::SNS::Topic');
      const [keyId] = refs(resources[topic]?.Properties.KmsMasterKeyId);
      const key = resources[keyId ?? ''];
      expect(key?.Type, `${topic} is encrypted with ${JSON.stringify(resources[topic]?.Properties.KmsMasterKeyId)}`).toBe('AWS::KMS::Key');
      expect(key?.Properties.EnableKeyRotation).toBe(true);
      const statements = (key?.Properties.KeyPolicy as { Statement: { Principal?: { Service?: unknown }; Action: string[]; Condition?: unknown }[] }).Statement;
      const forAlarms = statements.find((s) => JSON.stringify(s.Principal?.Service) === '"cloudwatch.amazonaws.com"');
      expect(forAlarms?.Action).toEqual(['kms:Decrypt', 'kms:GenerateDataKey*']);
      expect(forAlarms?.Condition).toEqual({
        StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
        ArnLike: {
          'aws:SourceArn': {
            'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':cloudwatch:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':alarm:*']],
          },
        },
      });
      // The topic's own policy lets CloudWatch publish (CDK's TLS-only policy names no service otherwise).
      const policy = ofType('AWS::SNS::TopicPolicy').find(([, p]) => refs(p.Properties.Topics).includes(topic))?.[1];
      expect(JSON.stringify(policy?.Properties.PolicyDocument)).toContain('"Service":"cloudwatch.amazonaws.com"');
    }
    expect(JSON.stringify(resources)).not.toContain('alias/aws/sns');
  });

  it('every dead-letter queue has an alarm on messages visible, to the notification topic', () => {
    const dlqs = new Set([
      ...ofType('AWS::SQS::Queue').flatMap(([, q]) => refs((q.Properties.RedrivePolicy as { deadLetterTargetArn?: unknown } | undefined)?.deadLetterTargetArn)),
      ...ofType('AWS::Events::Rule').flatMap(([, r]) =>
        refs((r.Properties.Targets as { DeadLetterConfig?: unknown }[] | undefined)?.map((t) => t.DeadLetterConfig)),
      ),
      ...ofType('AWS::Scheduler::Schedule').flatMap(([, s]) => refs((s.Properties.Target as { DeadLetterConfig?: unknown }).DeadLetterConfig)),
      ...ofType('AWS::Lambda::EventInvokeConfig').flatMap(([, c]) => refs((c.Properties.DestinationConfig as { OnFailure?: unknown } | undefined)?.OnFailure)),
    ]);
    // catalog, completion and sweeper rules; the schedules' DLQ; Slack's work DLQ; the functions' on-failure queue
    expect(dlqs.size).toBeGreaterThanOrEqual(6);
    for (const dlq of dlqs) {
      expect(resources[dlq]?.Type).toBe('AWS::SQS::Queue');
      const alarm = alarms().find((a) => a.Properties.MetricName === 'ApproximateNumberOfMessagesVisible' && refs(a.Properties.Dimensions).includes(dlq));
      expect(alarm?.Properties, `no alarm on ${dlq}`).toMatchObject({
        Namespace: 'AWS/SQS',
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
        AlarmActions: [topicRef()],
      });
    }
  });

  it('every function has an errors alarm, to the notification topic', () => {
    const functions = ofType('AWS::Lambda::Function').map(([id]) => id);
    expect(functions.length).toBeGreaterThanOrEqual(9);
    for (const fn of functions) {
      const alarm = alarms().find(
        (a) =>
          a.Properties.MetricName === 'Errors' && JSON.stringify(a.Properties.Dimensions) === JSON.stringify([{ Name: 'FunctionName', Value: { Ref: fn } }]),
      );
      expect(alarm?.Properties, `no errors alarm on ${fn}`).toMatchObject({ Namespace: 'AWS/Lambda', Threshold: 1, AlarmActions: [topicRef()] });
    }
  });

  it('every function invoked asynchronously (EventBridge rule or schedule) keeps what it failed on: an on-failure destination', () => {
    const targets = new Set([
      ...ofType('AWS::Events::Rule').flatMap(([, r]) => refs((r.Properties.Targets as { Arn: unknown }[]).map((t) => t.Arn))),
      ...ofType('AWS::Scheduler::Schedule').flatMap(([, s]) => refs((s.Properties.Target as { Arn: unknown }).Arn)),
    ]);
    // catalog, completion, sweeper, drill, freshness, recovery tasks (a recovery execution that ended before its report)
    expect(targets.size).toBe(6);
    for (const fn of targets) {
      const config = ofType('AWS::Lambda::EventInvokeConfig').find(([, c]) => refs(c.Properties.FunctionName).includes(fn))?.[1];
      const destination = refs((config?.Properties.DestinationConfig as { OnFailure?: unknown } | undefined)?.OnFailure);
      expect(
        destination.map((d) => resources[d]?.Type),
        `${fn} drops failed events`,
      ).toEqual(['AWS::SQS::Queue']);
    }
  });

  it('a function’s role may write logs only to its own log group (no AWSLambdaBasicExecutionRole on Lifeboat’s functions)', () => {
    const ours = [
      stack.api.function,
      stack.completion.function,
      stack.sweeper.function,
      stack.catalog.function,
      stack.protection.drillFunction,
      stack.slack?.worker,
    ];
    for (const fn of ours) {
      const cfn = resources[stack.getLogicalId(fn?.node.defaultChild as CfnFunction)];
      const [roleId] = refs(cfn?.Properties.Role);
      const [logGroupId] = refs((cfn?.Properties.LoggingConfig as { LogGroup: unknown }).LogGroup);
      expect(resources[roleId ?? '']?.Properties.ManagedPolicyArns).toBeUndefined();
      const logStatements = ofType('AWS::IAM::Policy')
        .filter(([, p]) => refs(p.Properties.Roles).includes(roleId ?? ''))
        .flatMap(([, p]) => (p.Properties.PolicyDocument as { Statement: Statement[] }).Statement)
        .filter((s) => actions(s).some((a) => a.startsWith('logs:') && a !== 'logs:GetLogEvents'));
      expect(logStatements).toEqual([
        { Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Effect: 'Allow', Resource: { 'Fn::GetAtt': [logGroupId, 'Arn'] } },
      ]);
    }
  });
});

describe('the sweeper', () => {
  const sweeperOf = (config?: LifeboatConfig): { rule: Record<string, unknown>; env: Record<string, unknown> } => {
    const { stack, template } = synth(config);
    const resources = (template.toJSON() as { Resources: Record<string, { Type: string; Properties: Record<string, unknown> }> }).Resources;
    const fnId = stack.getLogicalId(stack.sweeper.function.node.defaultChild as CfnFunction);
    const rule = Object.values(resources).find((r) => r.Type === 'AWS::Events::Rule' && JSON.stringify(r.Properties.Targets).includes(fnId));
    return { rule: rule?.Properties ?? {}, env: (resources[fnId]?.Properties.Environment as { Variables: Record<string, unknown> }).Variables };
  };

  it('runs every 5 minutes and checks restores without progress for 10 minutes by default; both are configurable', () => {
    expect(sweeperOf().rule.ScheduleExpression).toBe('rate(5 minutes)');
    expect(sweeperOf().env).toMatchObject({ STALE_SECONDS: '600', COMMAND_TIMEOUT_SECONDS: '7200', MARGIN_SECONDS: '900' });
    const custom = sweeperOf({ sweeper: { everyMinutes: 2, staleAfterMinutes: 30 } });
    expect(custom.rule.ScheduleExpression).toBe('rate(2 minutes)');
    expect(custom.env).toMatchObject({ STALE_SECONDS: '1800' });
  });

  it.each([
    [{ everyMinutes: 0 }, /lifeboat\.sweeper\.everyMinutes: must be at least 1 minute/],
    [{ everyMinutes: 1.5 }, /lifeboat\.sweeper\.everyMinutes: must be a whole number of minutes from 1 to 60/],
    [{ staleAfterMinutes: 1 }, /lifeboat\.sweeper\.staleAfterMinutes: must be at least 2 minutes/],
    [{ staleAfterMinutes: 5000 }, /lifeboat\.sweeper\.staleAfterMinutes: must be at most 1440 minutes/],
    [{ every: 5 }, /lifeboat\.sweeper: Unrecognized key: "every"/],
  ])('a sweeper setting mistake fails synth naming the field (%#)', (sweeper, message) => {
    expect(() => synth({ sweeper: sweeper as never })).toThrow(message);
  });

  it('may only read what became of commands: GetCommandInvocation and ListCommandInvocations, nothing that sends or cancels', () => {
    const { stack, template } = synth();
    const role = stack.getLogicalId(stack.sweeper.function.role?.node.defaultChild as never);
    const policies = Object.values(template.findResources('AWS::IAM::Policy')) as {
      Properties: { Roles: unknown; PolicyDocument: { Statement: Statement[] } };
    }[];
    const ssm = policies
      .filter((p) => JSON.stringify(p.Properties.Roles).includes(role))
      .flatMap((p) => p.Properties.PolicyDocument.Statement)
      .flatMap((s) => actions(s))
      .filter((a) => a.startsWith('ssm:'));
    expect(ssm.sort()).toEqual(['ssm:GetCommandInvocation', 'ssm:ListCommandInvocations']);
  });
});

describe('host policies: one per source', () => {
  interface Doc {
    Statement: { Sid: string; Effect: string; Action: string[]; Resource: unknown }[];
  }
  let resources: Record<string, { Type: string; Properties: Record<string, unknown> }>;
  let outputs: Record<string, { Value: unknown; Description: string }>;
  beforeAll(() => {
    const { template } = synth({
      protect: [
        { source: 'db1', volume: 'pgdata', drillHost: { instanceId: 'i-0123456789abcdef0' }, rpoMinutes: 60 },
        { source: 'db1', volume: 'redis', drillHost: { instanceId: 'i-0123456789abcdef0' }, rpoMinutes: 60 },
      ],
      backupSources: ['db', 'billing'],
    });
    ({ Resources: resources, Outputs: outputs } = template.toJSON() as never);
  });
  /** The object-key pattern a policy's statement grants, with the bucket ARN left out. */
  const keyPattern = (resource: unknown): string => {
    const parts = (resource as { 'Fn::Join': [string, unknown[]] })['Fn::Join'][1];
    return parts
      .filter((p): p is string => typeof p === 'string')
      .join('')
      .replace(/^\//, '');
  };
  const grants = (pattern: string, key: string): boolean => new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`).test(key);
  const policyOf = (source: string): Doc => {
    const found = Object.values(resources).filter(
      (r) => r.Type === 'AWS::IAM::ManagedPolicy' && String(r.Properties.Description).includes(`source ${source}:`),
    );
    expect(found).toHaveLength(1);
    return found[0]?.Properties.PolicyDocument as Doc;
  };

  it('a host with one source’s policy can write that source’s archives and cannot write another source’s prefix', () => {
    for (const [source, others] of [
      ['db1', ['db', 'billing']],
      ['db', ['db1', 'billing']],
      ['billing', ['db', 'db1']],
    ] as const) {
      const doc = policyOf(source);
      const s3 = doc.Statement.filter((s) => [s.Action].flat().some((a) => a.startsWith('s3:')));
      expect(s3.map((s) => s.Sid)).toEqual(['WriteOwnArchives']);
      expect([s3[0]?.Action].flat().sort()).toEqual(['s3:AbortMultipartUpload', 's3:DeleteObject', 's3:PutObject']);
      const pattern = keyPattern(s3[0]?.Resource);
      expect(grants(pattern, `archives/${source}/pgdata/20261127T031500Z.tar.zst`)).toBe(true);
      expect(grants(pattern, `archives/${source}/pgdata/20261127T031500Z.tar.zst.manifest.json`)).toBe(true);
      for (const other of others) expect(grants(pattern, `archives/${other}/pgdata/20261127T031500Z.tar.zst`), `${source} may write ${other}`).toBe(false);
      expect(grants(pattern, 'catalog-export/x')).toBe(false);
    }
  });

  it('each source’s policy is a stack output, once per source', () => {
    const writers = Object.entries(outputs).filter(([k]) => k.startsWith('HostPolicy'));
    expect(writers.map(([k]) => k).sort()).toEqual(['HostPolicybilling', 'HostPolicydb', 'HostPolicydb1']);
    for (const [, o] of writers) expect(o.Value).toEqual({ Ref: expect.any(String) as unknown });
  });

  it('a bad backup source name fails synth naming the field', () => {
    expect(() => synth({ backupSources: ['../etc'] })).toThrow(/lifeboat\.backupSources\.0: must be a source name/);
  });
});
