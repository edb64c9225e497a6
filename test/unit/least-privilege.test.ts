/**
 * Threat: a Lambda function (or whoever controls one) doing more than its job.
 * Asserted on the synthesized template with every optional part configured
 * (protected volumes, Slack), so every function and policy is present.
 */
import { templateApp } from '#root/lib/app-context.ts';
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { LifeboatStack } from '#root/lib/lifeboat-stack.ts';

interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}

/** The only actions granted on every resource, and why AWS offers nothing narrower. */
const WILDCARD_REASONS: Readonly<Record<string, string>> = {
  'xray:PutTraceSegments': 'X-Ray trace APIs have no resource-level permissions',
  'xray:PutTelemetryRecords': 'X-Ray trace APIs have no resource-level permissions',
  'ssm:DescribeInstanceInformation': 'has no resource-level permissions; read-only (is the host online?)',
  'ssm:GetCommandInvocation': 'has no resource-level permissions; read-only (the result of a command)',
  'ec2:DescribeTags': 'has no resource-level permissions; read-only (the sources a target host declares in its tags)',
  'ssm:ListCommandInvocations': 'has no resource-level permissions; read-only (the sweeper finds what became of a command)',
  'ssm:CancelCommand': 'has no resource-level permissions; the API and the Slack worker cancel only command ids from Lifeboat restore records',
  'states:SendTaskSuccess':
    'has no resource-level permissions (the task token names the execution); completion and sweeper answer only tokens from restore records',
  'states:SendTaskFailure':
    'has no resource-level permissions (the task token names the execution); completion and sweeper answer only tokens from restore records',
  'xray:GetSamplingRules': 'X-Ray has no resource-level permissions (the recovery state machine’s tracing)',
  'xray:GetSamplingTargets': 'X-Ray has no resource-level permissions (the recovery state machine’s tracing)',
  ...Object.fromEntries(
    [
      'logs:CreateLogDelivery',
      'logs:GetLogDelivery',
      'logs:UpdateLogDelivery',
      'logs:DeleteLogDelivery',
      'logs:ListLogDeliveries',
      'logs:PutResourcePolicy',
      'logs:DescribeResourcePolicies',
      'logs:DescribeLogGroups',
    ].map((a) => [a, 'vended-log delivery has no resource-level permissions (the recovery state machine’s execution log)']),
  ),
};

describe('least privilege on the synthesized template', () => {
  let template: Template;
  let statements: Statement[];
  const actions = (s: Statement): string[] => (Array.isArray(s.Action) ? s.Action : [s.Action]);
  const resources = (s: Statement): unknown[] => (Array.isArray(s.Resource) ? s.Resource : [s.Resource]);

  beforeAll(() => {
    const app = templateApp();
    const stack = new LifeboatStack(app, 'LeastPrivilege', {
      config: {
        protect: [{ source: 'db1', volume: 'pgdata', drillHost: { instanceId: 'i-0123456789abcdef0' }, rpoMinutes: 60 }],
        slack: { teamIds: ['T0LIFE'], channelIds: ['C0ONCALL'], userIds: ['U0ALICE'] },
      },
    });
    template = Template.fromStack(stack);
    statements = Object.values(template.findResources('AWS::IAM::Policy')).flatMap(
      (p) => (p as { Properties: { PolicyDocument: { Statement: Statement[] } } }).Properties.PolicyDocument.Statement,
    );
    expect(statements.length).toBeGreaterThan(20);
  });

  it('no statement allows every action, or every action of a service', () => {
    for (const s of statements) for (const a of actions(s)) expect(a).not.toMatch(/(^\*$|:\*$)/);
  });

  it('"*" resources only for actions AWS cannot scope, each with its reason', () => {
    const wildcard = statements.filter((s) => resources(s).includes('*'));
    expect(wildcard.length).toBeGreaterThan(0);
    for (const s of wildcard) for (const a of actions(s)) expect(WILDCARD_REASONS[a], `${a} on "*" has no recorded reason`).toBeDefined();
  });

  it('no escalation: nothing passes roles, writes IAM, deletes archives or changes the bucket (but its own event notification at deploy)', () => {
    for (const s of statements.filter((x) => x.Effect === 'Allow')) {
      for (const a of actions(s)) {
        if (a === 's3:PutBucketNotification') {
          // CDK's deploy-time handler turning on EventBridge notifications, for the archive bucket only.
          expect(JSON.stringify(s.Resource), JSON.stringify(s)).not.toBe('"*"');
          continue;
        }
        expect(a).not.toMatch(
          /^iam:|^sts:AssumeRole|^s3:(Delete|PutBucket|PutObjectAcl|PutLifecycle)|^kms:(Create|Delete|Put|ScheduleKeyDeletion)|^ssm:(CreateDocument|UpdateDocument|DeleteDocument|PutParameter)/,
        );
      }
    }
  });

  it('ssm:SendCommand only for Lifeboat’s documents and instances tagged lifeboat:managed=true', () => {
    const send = statements.filter((s) => actions(s).includes('ssm:SendCommand'));
    expect(send.length).toBeGreaterThan(0);
    for (const s of send) {
      const text = JSON.stringify(s.Resource);
      if (text.includes(':instance/')) expect(s.Condition).toEqual({ StringEquals: { 'ssm:resourceTag/lifeboat:managed': 'true' } });
      else expect(text).toMatch(/document\//);
      expect(text).not.toMatch(/document\/\*|"\*"/);
    }
  });

  it('API routes are IAM-authorized; only the two Slack routes are not, and those check Slack’s signature first (slack-handler test)', () => {
    const methods = Object.values(template.findResources('AWS::ApiGateway::Method')) as { Properties: { AuthorizationType: string; HttpMethod: string } }[];
    const open = methods.filter((m) => m.Properties.AuthorizationType !== 'AWS_IAM' && m.Properties.HttpMethod !== 'OPTIONS');
    expect(open).toHaveLength(2);
    expect(methods.filter((m) => m.Properties.AuthorizationType === 'AWS_IAM').length).toBeGreaterThanOrEqual(5);
  });

  it('secrets are never in environment variables or SSM parameters: functions get the secret’s ARN only', () => {
    const functions = Object.values(template.findResources('AWS::Lambda::Function')) as {
      Properties: { Environment?: { Variables?: Record<string, unknown> } };
    }[];
    for (const fn of functions) {
      for (const [name, value] of Object.entries(fn.Properties.Environment?.Variables ?? {})) {
        if (/SECRET|TOKEN|PASSWORD|PRIVATE|CREDENTIAL/i.test(name)) {
          expect(name, 'a secret travels as a Secrets Manager ARN').toMatch(/_ARN$/);
          expect(JSON.stringify(value)).toMatch(/Ref|secretsmanager/);
        }
        expect(JSON.stringify(value)).not.toMatch(/hooks\.slack\.com|xox[bap]-|AKIA|ASIA/);
      }
    }
    expect(Object.keys(template.findResources('AWS::SSM::Parameter'))).toEqual([]);
    expect(Object.keys(template.findResources('AWS::SecretsManager::Secret'))).toHaveLength(1);
  });
});
