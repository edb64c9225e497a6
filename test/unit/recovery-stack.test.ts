/**
 * The whole-host recovery as deployed: the state machine is exactly recoveryDefinition(...) with
 * the tasks function's ARN, every role holds only what its part needs, recovery drills are
 * scheduled and alarmed, and cdk-nag has no unacknowledged findings.
 */
import { templateApp } from '#root/lib/app-context.ts';
import { Match, Template } from 'aws-cdk-lib/assertions';
import type { CfnRole } from 'aws-cdk-lib/aws-iam';
import type { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { LifeboatStack, type LifeboatConfig } from '#root/lib/lifeboat-stack.ts';
import { recoveryDefinition } from '#root/lib/recovery-definition.ts';

interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}
interface Resource {
  Type: string;
  Properties: Record<string, unknown>;
}

const TEMPLATE_ID = 'lt-0123456789abcdef0';
const CONFIG: LifeboatConfig = {
  protect: [
    { source: 'db1', volume: 'pgdata', drillHost: { instanceId: 'i-0123456789abcdef0' }, rpoMinutes: 60 },
    { source: 'db1', volume: 'appdata', drillHost: { instanceId: 'i-0123456789abcdef0' }, rpoMinutes: 60, recovery: { wave: 2, role: 'optional' } },
  ],
  recoveryDrills: [{ source: 'db1', schedule: 'cron(0 5 ? * SUN *)', drillHost: { tag: { key: 'lifeboat:drill', value: 'true' } } }],
  recoveryLaunchTemplates: [{ id: TEMPLATE_ID, instanceRole: 'lifeboat-db-host' }],
  slack: { teamIds: ['T0LIFE'], channelIds: ['C0ONCALL'], userIds: ['U0ALICE'] },
};

const synth = (config: LifeboatConfig = CONFIG): { stack: LifeboatStack; template: Template } => {
  const stack = new LifeboatStack(templateApp(), 'Recovery', { config });
  return { stack, template: Template.fromStack(stack) };
};
const actions = (s: Statement): string[] => (Array.isArray(s.Action) ? s.Action : [s.Action]);
const resources = (s: Statement): unknown[] => (Array.isArray(s.Resource) ? s.Resource : [s.Resource]);

describe('whole-host recovery, deployed', () => {
  let stack: LifeboatStack;
  let template: Template;
  let all: Record<string, Resource>;
  /** The statements of the policies attached to a role (by the role's logical id). */
  const statementsOf = (roleId: string): Statement[] =>
    Object.values(all)
      .filter((r) => r.Type === 'AWS::IAM::Policy' && JSON.stringify(r.Properties.Roles).includes(`"${roleId}"`))
      .flatMap((r) => (r.Properties.PolicyDocument as { Statement: Statement[] }).Statement);
  const roleOf = (fn: { role?: { node: { defaultChild?: unknown } } }): string => stack.getLogicalId(fn.role?.node.defaultChild as CfnRole);
  const fnId = (fn: { node: { defaultChild?: unknown } }): string => stack.getLogicalId(fn.node.defaultChild as CfnFunction);

  beforeAll(() => {
    ({ stack, template } = synth());
    all = (template.toJSON() as { Resources: Record<string, Resource> }).Resources;
  });

  it('deploys exactly recoveryDefinition(...), with the tasks function’s ARN in every Task state', () => {
    const [sm] = Object.values(template.findResources('AWS::StepFunctions::StateMachine')) as { Properties: { DefinitionString: unknown } }[];
    const join = (sm?.Properties.DefinitionString as { 'Fn::Join': [string, unknown[]] })['Fn::Join'];
    const tasksArn = { 'Fn::GetAtt': [fnId(stack.recovery.tasksFunction), 'Arn'] };
    const text = join[1].map((part) => (typeof part === 'string' ? part : (expect(part).toEqual(tasksArn), 'TASKS_FUNCTION_ARN'))).join(join[0]);
    expect(JSON.parse(text)).toEqual(
      recoveryDefinition({
        tasksFunctionArn: 'TASKS_FUNCTION_ARN',
        parallel: 4,
        hostWait: { seconds: 30, attempts: 20 },
        memberTimeoutSeconds: 8100,
        timeoutSeconds: 86_400,
      }),
    );
  });

  it('logs every execution event without its data (payloads carry task tokens), traced', () => {
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      LoggingConfiguration: {
        Level: 'ALL',
        IncludeExecutionData: false,
        Destinations: [{ CloudWatchLogsLogGroup: { LogGroupArn: { 'Fn::GetAtt': [Match.anyValue(), 'Arn'] } } }],
      },
      TracingConfiguration: { Enabled: true },
    });
  });

  it('the state machine may invoke its tasks function and nothing else (no version wildcard)', () => {
    const role = stack.getLogicalId(stack.recovery.stateMachine.role.node.defaultChild as CfnRole);
    const invoke = statementsOf(role).filter((s) => actions(s).some((a) => a.startsWith('lambda:')));
    expect(invoke).toEqual([
      expect.objectContaining({ Action: 'lambda:InvokeFunction', Resource: { 'Fn::GetAtt': [fnId(stack.recovery.tasksFunction), 'Arn'] } }),
    ]);
    const others = statementsOf(role).flatMap(actions);
    for (const a of others) expect(a).toMatch(/^(lambda:InvokeFunction|logs:|xray:)/);
  });

  it('the tasks function: the restore path, RunInstances only from the configured templates, tags only at launch, PassRole only of their role to EC2', () => {
    const s = statementsOf(roleOf(stack.recovery.tasksFunction));
    const all = s.flatMap(actions);
    for (const a of ['dynamodb:PutItem', 's3:GetObject', 'ssm:SendCommand', 'ssm:DescribeInstanceInformation', 'sns:Publish', 'states:SendTaskSuccess'])
      expect(all).toContain(a);
    const run = s.filter((x) => actions(x).includes('ec2:RunInstances'));
    expect(run).toHaveLength(1);
    // Only from the configured templates, and only with the template's own resources (no overridden image, subnet, security group…).
    expect(run[0]?.Condition).toEqual({
      Bool: { 'ec2:IsLaunchTemplateResource': 'true' },
      ArnEquals: {
        'ec2:LaunchTemplate': [
          {
            'Fn::Join': [
              '',
              ['arn:', { Ref: 'AWS::Partition' }, ':ec2:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, `:launch-template/${TEMPLATE_ID}`],
            ],
          },
        ],
      },
    });
    const tags = s.filter((x) => actions(x).includes('ec2:CreateTags'));
    expect(tags).toHaveLength(1);
    expect(tags[0]?.Condition).toEqual({ StringEquals: { 'ec2:CreateAction': 'RunInstances' } });
    expect(JSON.stringify(tags[0]?.Resource)).toMatch(/:instance\/\*.*:volume\/\*/);
    const pass = s.filter((x) => actions(x).includes('iam:PassRole'));
    expect(pass).toHaveLength(1);
    expect(pass[0]?.Condition).toEqual({ StringEquals: { 'iam:PassedToService': 'ec2.amazonaws.com' } });
    expect(JSON.stringify(pass[0]?.Resource)).toContain(':role/lifeboat-db-host');
    expect(resources(pass[0] as Statement)).toHaveLength(1);
    // Nothing it could start an execution, or anything else in Step Functions, with.
    expect(all.filter((a) => a.startsWith('states:')).sort()).toEqual(['states:SendTaskFailure', 'states:SendTaskSuccess']);
    expect(all.filter((a) => a.startsWith('ec2:')).sort()).toEqual(['ec2:CreateTags', 'ec2:DescribeTags', 'ec2:RunInstances']);
  });

  it('without launch templates configured, the tasks function cannot launch or pass any role', () => {
    const { stack: plain } = synth({ ...CONFIG, recoveryLaunchTemplates: [] });
    const t = Template.fromStack(plain).toJSON() as { Resources: Record<string, Resource> };
    const role = plain.getLogicalId(plain.recovery.tasksFunction.role?.node.defaultChild as CfnRole);
    const granted = Object.values(t.Resources)
      .filter((r) => r.Type === 'AWS::IAM::Policy' && JSON.stringify(r.Properties.Roles).includes(`"${role}"`))
      .flatMap((r) => (r.Properties.PolicyDocument as { Statement: Statement[] }).Statement)
      .flatMap(actions);
    expect(granted).not.toContain('ec2:RunInstances');
    expect(granted).not.toContain('iam:PassRole');
  });

  it('task tokens are answered by the completion, sweeper and tasks functions only', () => {
    const answering = Object.values(all)
      .filter((r) => r.Type === 'AWS::IAM::Policy')
      .filter((r) => JSON.stringify(r.Properties.PolicyDocument).includes('states:SendTaskSuccess'))
      .flatMap((r) => r.Properties.Roles as { Ref: string }[])
      .map((r) => r.Ref)
      .sort();
    expect(answering).toEqual([roleOf(stack.completion.function), roleOf(stack.sweeper.function), roleOf(stack.recovery.tasksFunction)].sort());
  });

  it('one schedule per recovery drill starts the state machine with {scheduledDrill: {source}}, by a role allowed exactly that', () => {
    const schedules = Object.values(template.findResources('AWS::Scheduler::Schedule')) as { Properties: Record<string, unknown> }[];
    const drills = schedules.filter((s) => String(s.Properties.Description).includes('whole-host recovery drill'));
    expect(drills).toHaveLength(1);
    const smRef = { Ref: stack.getLogicalId(stack.recovery.stateMachine.node.defaultChild as never) };
    expect(drills[0]?.Properties).toMatchObject({
      ScheduleExpression: 'cron(0 5 ? * SUN *)',
      Target: { Arn: smRef, Input: JSON.stringify({ scheduledDrill: { source: 'db1' } }) },
    });
    const roleArn = (drills[0]?.Properties.Target as { RoleArn: { 'Fn::GetAtt': [string, string] } }).RoleArn['Fn::GetAtt'][0];
    const granted = statementsOf(roleArn);
    expect(granted.filter((x) => actions(x).some((a) => a.startsWith('states:')))).toEqual([
      expect.objectContaining({ Effect: 'Allow', Action: 'states:StartExecution', Resource: smRef }),
    ]);
    // Besides: the schedules' dead-letter queue.
    expect(granted.flatMap(actions).sort()).toEqual(['sqs:SendMessage', 'states:StartExecution']);
  });

  it('alarms go to the topic: a failed recovery drill of the source, and failed, timed-out or stopped executions', () => {
    const topic = { Ref: stack.getLogicalId(stack.notifications.topic.node.defaultChild as never) };
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'RecoveryDrillFailed',
      Namespace: 'Lifeboat',
      Dimensions: Match.arrayWith([{ Name: 'Source', Value: 'db1' }]),
      AlarmActions: [topic],
    });
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')) as {
      Properties: { Metrics?: { Expression?: string; MetricStat?: { Metric: { MetricName: string } } }[] };
    }[];
    const executions = alarms.find((a) => a.Properties.Metrics?.some((m) => m.Expression === 'failed + timedOut + aborted'));
    expect(executions?.Properties.Metrics?.flatMap((m) => (m.MetricStat ? [m.MetricStat.Metric.MetricName] : [])).sort()).toEqual([
      'ExecutionsAborted',
      'ExecutionsFailed',
      'ExecutionsTimedOut',
    ]);
  });

  it('an execution that ended failed, timed out or stopped reports its recovery (the tasks function), with a dead-letter queue, alarmed', () => {
    const smRef = { Ref: stack.getLogicalId(stack.recovery.stateMachine.node.defaultChild as never) };
    const rules = Object.values(template.findResources('AWS::Events::Rule')) as { Properties: Record<string, unknown> }[];
    const ended = rules.filter((r) => JSON.stringify(r.Properties.EventPattern ?? {}).includes('Step Functions Execution Status Change'));
    expect(ended).toHaveLength(1);
    const rule = ended[0]?.Properties as {
      EventPattern: unknown;
      Targets: { Arn: unknown; InputTransformer: { InputPathsMap: Record<string, string>; InputTemplate: string }; DeadLetterConfig: { Arn: unknown } }[];
    };
    expect(rule.EventPattern).toEqual({
      source: ['aws.states'],
      'detail-type': ['Step Functions Execution Status Change'],
      detail: { stateMachineArn: [smRef], status: ['FAILED', 'TIMED_OUT', 'ABORTED'] },
    });
    expect(rule.Targets).toHaveLength(1);
    const target = rule.Targets[0];
    expect(target?.Arn).toEqual({ 'Fn::GetAtt': [fnId(stack.recovery.tasksFunction), 'Arn'] });
    // The input, with a fake event's values put in as EventBridge does (a placeholder standing for a whole JSON
    // value gets the value, a string quoted; one inside a string gets its text): exactly a report task payload.
    const { InputPathsMap: paths, InputTemplate: text } = target?.InputTransformer ?? { InputPathsMap: {}, InputTemplate: '' };
    const event: Record<string, string> = { '$.detail.name': 'rc-20261201030000-0123abcd', '$.detail.status': 'TIMED_OUT' };
    expect(Object.values(paths).sort()).toEqual(Object.keys(event).sort());
    const filled = Object.entries(paths).reduce((t, [name, path]) => {
      const value = event[path] ?? '';
      return t
        .replace(new RegExp(`(?<=[:,[])<${name}>(?=[,}\\]])`, 'g'), JSON.stringify(value))
        .split(`<${name}>`)
        .join(value);
    }, text);
    expect(JSON.parse(filled)).toEqual({
      task: 'report',
      input: {
        recoveryId: 'rc-20261201030000-0123abcd',
        error: { Error: 'Lifeboat.ExecutionTIMED_OUT', Cause: 'the execution ended TIMED_OUT before its report' },
      },
    });
    // Undeliverable events land in an encrypted queue, which FailureAlarms alarms on; EventBridge may invoke the function.
    const dlqId = (target?.DeadLetterConfig.Arn as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
    expect(all[dlqId]).toMatchObject({ Type: 'AWS::SQS::Queue', Properties: { SqsManagedSseEnabled: true } });
    expect(stack.failureAlarms.alarms.has(dlqId)).toBe(true);
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      Principal: 'events.amazonaws.com',
      FunctionName: { 'Fn::GetAtt': [fnId(stack.recovery.tasksFunction), 'Arn'] },
    });
    // The tasks function learns which launch templates a plan may name.
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ LAUNCH_TEMPLATES: JSON.stringify([TEMPLATE_ID]) }) },
    });
  });

  it('outputs the state machine’s ARN', () => {
    template.hasOutput('RecoveryStateMachineArn', { Value: { Ref: stack.getLogicalId(stack.recovery.stateMachine.node.defaultChild as never) } });
  });

  it('cdk-nag AwsSolutions has no unacknowledged findings (drills and launch templates configured)', () => {
    expect(new AwsSolutionsChecks().validateScope(stack).violations).toEqual([]);
  });

  it.each([
    [
      { ...CONFIG, recoveryDrills: [{ source: 'web9', drillHost: { instanceId: 'i-0123456789abcdef0' } }] },
      /lifeboat\.recoveryDrills\.0\.source: web9 has no protected volume/,
    ],
    [
      { ...CONFIG, recoveryDrills: [...(CONFIG.recoveryDrills ?? []), ...(CONFIG.recoveryDrills ?? [])] },
      /lifeboat\.recoveryDrills: each source may have one recovery drill/,
    ],
    [
      { ...CONFIG, recoveryDrills: [{ source: 'db1', schedule: 'weekly', drillHost: { instanceId: 'i-0123456789abcdef0' } }] },
      /lifeboat\.recoveryDrills\.0\.schedule/,
    ],
    [{ ...CONFIG, recoveryLaunchTemplates: [{ id: 'db-template' }] }, /lifeboat\.recoveryLaunchTemplates\.0\.id: must be a launch template id/],
    [
      { ...CONFIG, recoveryLaunchTemplates: [{ id: TEMPLATE_ID, instanceRole: 'arn:aws:iam::1:role/x' }] },
      /lifeboat\.recoveryLaunchTemplates\.0\.instanceRole/,
    ],
  ])('a recovery configuration mistake fails synth naming the field (%#)', (config, message) => {
    expect(() => synth(config as LifeboatConfig)).toThrow(message);
  });
});
