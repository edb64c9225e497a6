import { App } from 'aws-cdk-lib';
import type { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { LifeboatStack, type LifeboatConfig } from '#root/lib/lifeboat-stack.ts';
import { DOCUMENTS } from '#core/paths.ts';
import { loadDocument } from '#core/runbooks/document.ts';

const synth = (config?: LifeboatConfig): { stack: LifeboatStack; template: Template } => {
  // No esbuild bundling in unit tests: the template is what is asserted (`cdk synth` bundles for real).
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
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

  it('hard-codes no resource names', () => {
    for (const type of ['AWS::SSM::Document', 'AWS::Lambda::Function', 'AWS::DynamoDB::GlobalTable', 'AWS::S3::Bucket']) {
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
    expect(methods.map((m) => m.Properties.HttpMethod).sort()).toEqual(['GET', 'GET', 'GET', 'POST', 'POST']);
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

  it('ssm:SendCommand reaches only the restore document and instances tagged lifeboat:managed=true', () => {
    const send = statements(template).filter((s) => actions(s).includes('ssm:SendCommand'));
    expect(send).toHaveLength(2);
    const onInstances = send.find((s) => JSON.stringify(s.Resource).includes(':instance/*'));
    expect(onInstances?.Condition).toEqual({ StringEquals: { 'ssm:resourceTag/lifeboat:managed': 'true' } });
    const onDocument = send.find((s) => s !== onInstances);
    expect(JSON.stringify(onDocument?.Resource)).toContain(':document/');
    expect(JSON.stringify(onDocument?.Resource)).toContain(stack.getLogicalId(stack.runbooks.documents['restore-volume']));
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
    const ours = [stack.api.function, stack.catalog.function, stack.catalog.reconcile, stack.completion.function].map((f) => stack.getLogicalId(f.node.defaultChild as CfnFunction));
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
      EventPattern: Match.objectLike({ source: ['aws.s3'], 'detail-type': ['Object Created', 'Object Deleted'], detail: Match.objectLike({ object: { key: [{ prefix: 'archives/' }] } }) }),
    });
  });

  it('a configuration mistake fails synth with a message naming the field', () => {
    expect(() => synth({ existingBucketName: 'Not_A_Bucket' })).toThrow(/existingBucketName[\s\S]*must be an S3 bucket name/);
    expect(() => synth({ objectLockDays: 0 })).toThrow(/objectLockDays/);
  });
});

describe('protected volumes: drills, freshness alarms, dashboard', () => {
  const policies = [
    { source: 'db1', volume: 'pgdata', drillHost: { instanceId: 'i-0123456789abcdef0' }, drillSchedule: 'cron(0 4 * * ? *)', rpoMinutes: 60, verify: { query: 'select count(*) from orders', expectMinimum: 1000 }, notify: ['oncall@example.com'] },
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
      ['cron(0 4 * * ? *)', { source: 'db1', volume: 'pgdata', drillHost: { instanceId: 'i-0123456789abcdef0' }, verifyQuery: 'select count(*) from orders', expectMinimum: 1000 }],
      ['cron(0 4 * * ? *)', { source: 'billing', volume: 'ledger', drillHost: { tag: { key: 'lifeboat:drill-host', value: 'true' } } }],
    ]);
  });

  it('one freshness schedule checks every protected volume against its RPO', () => {
    const freshness = schedules().filter((s) => s.Properties.Target.Input.includes('rpoSeconds'));
    expect(freshness).toHaveLength(1);
    expect(freshness[0]?.Properties.ScheduleExpression).toBe('rate(15 minutes)');
    expect(JSON.parse(freshness[0]?.Properties.Target.Input ?? '{}')).toEqual({
      volumes: [{ source: 'db1', volume: 'pgdata', rpoSeconds: 3600 }, { source: 'billing', volume: 'ledger', rpoSeconds: 86400 }],
    });
  });

  it.each([['db1', 'pgdata'], ['billing', 'ledger']])('%s/%s has an overdue-backup alarm (no data = overdue) and a failed-drill alarm, both notifying', (source, volume) => {
    const dims = [{ Name: 'Source', Value: source }, { Name: 'Volume', Value: volume }, { Name: 'service', Value: 'lifeboat' }];
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'Lifeboat', MetricName: 'BackupOverdue', Dimensions: dims, Threshold: 1, TreatMissingData: 'breaching',
      AlarmActions: Match.arrayWith([{ Ref: stack.getLogicalId(stack.notifications.topic.node.defaultChild as never) }]),
      OKActions: Match.anyValue(),
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { Namespace: 'Lifeboat', MetricName: 'DrillFailed', Dimensions: dims, Threshold: 1, TreatMissingData: 'notBreaching' });
  });

  it('the people named for a volume get its alarms by e-mail', () => {
    template.resourceCountIs('AWS::SNS::Subscription', 1);
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'oncall@example.com' });
  });

  it('the dashboard has the restore widgets and a row per volume', () => {
    const body = JSON.stringify(Object.values(template.findResources('AWS::CloudWatch::Dashboard'))[0]);
    for (const title of ['Restores started / succeeded / failed', 'Restore time on the host', 'db1/pgdata: backup age vs RPO', 'db1/pgdata: drill outcomes', 'billing/ledger: drill restore time']) {
      expect(body).toContain(title);
    }
  });

  it('drills send only the restore document to tagged instances; cdk-nag still has no findings', () => {
    const send = statements(template).filter((s) => actions(s).includes('ssm:SendCommand'));
    expect(send).toHaveLength(4);
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
    [{ ...policies[1], verify: { expectMinimum: 5 } }, /lifeboat\.protect\.0\.verify\.expectMinimum: expectMinimum needs a query/],
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
      Object.entries(resources.Resources).filter(([, r]) => r.Type === 'AWS::ApiGateway::Resource').map(([id, r]) => [id, r.Properties.PathPart as string]),
    );
    const methods = Object.values(resources.Resources).filter((r) => r.Type === 'AWS::ApiGateway::Method');
    const open = methods.filter((m) => m.Properties.AuthorizationType === 'NONE').map((m) => paths[(m.Properties.ResourceId as { Ref: string }).Ref]);
    expect(open.sort()).toEqual(['commands', 'interactions']);
    expect(methods.filter((m) => m.Properties.AuthorizationType === 'AWS_IAM')).toHaveLength(5);
  });

  it('the signing secret is in Secrets Manager; the functions get its ARN, never its value', () => {
    template.resourceCountIs('AWS::SecretsManager::Secret', 1);
    for (const fn of [stack.slack?.function, stack.slack?.worker]) {
      const env = (template.toJSON() as { Resources: Record<string, { Properties: { Environment: { Variables: Record<string, unknown> } } }> }).Resources[stack.getLogicalId(fn?.node.defaultChild as CfnFunction)]?.Properties.Environment.Variables;
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
