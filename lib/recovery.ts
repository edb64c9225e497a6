import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, MathExpression, Metric, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { EventField, Rule, RuleTargetInput } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { Schedule, ScheduleExpression, ScheduleTargetInput } from 'aws-cdk-lib/aws-scheduler';
import { StepFunctionsStartExecution } from 'aws-cdk-lib/aws-scheduler-targets';
import type { Topic } from 'aws-cdk-lib/aws-sns';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { DefinitionBody, LogLevel, StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import * as z from 'zod';
import { RestorePolicy } from '#core/policy.ts';
import { recoveryProtect, type ProtectionPolicy } from '#core/protection.ts';
import { DEFAULT_PARALLEL, type ExecutionInput, type RecoveryDrillConfig } from '#core/recovery/model.ts';
import { EXECUTION_ENDED_ERROR_PREFIX, EXECUTION_ENDED_STATUSES, type RecoveryTasksEnv } from '../functions/recovery/env.ts';
import { readArchives } from './catalog.ts';
import { grantAnswerRecoveries } from './completion.ts';
import { BUNDLED_RUNBOOKS_DIR, LifeboatFunction } from './lifeboat-function.ts';
import { METRICS_NAMESPACE, METRICS_SERVICE } from './metrics.ts';
import { acknowledgeNag, nagArn } from './nag.ts';
import { recoveryDefinition } from './recovery-definition.ts';
import { grantSendRestore } from './restore-api.ts';

/** A launch template a recovery may start its replacement from (configuration `recoveryLaunchTemplates[]`). */
export const RecoveryLaunchTemplate = z.strictObject({
  /** The template's id: IAM names launch templates by id, so that is what the tasks function is allowed to launch from. */
  id: z.string().regex(/^lt-[0-9a-f]{8,17}$/, { error: 'must be a launch template id (lt-…): IAM scopes RunInstances to template ids' }),
  /**
   * The IAM role of the instance profile the template names (the replacement needs one for SSM):
   * the tasks function may pass exactly this role, to EC2 only. @default none (a template without a profile)
   */
  instanceRole: z
    .string()
    .regex(/^[A-Za-z0-9+=,.@_-]{1,64}$/, { error: 'must be an IAM role name (not an ARN, not a path)' })
    .optional(),
});
export type RecoveryLaunchTemplate = z.infer<typeof RecoveryLaunchTemplate>;

export interface RecoveryProps {
  readonly table: TableV2;
  readonly bucket: IBucket;
  readonly topic: Topic;
  readonly restoreDocumentName: string;
  readonly outputLogGroup: LogGroup;
  readonly helperImage: string;
  readonly instanceTag: { readonly key: string; readonly value: string };
  /** @default 'archives' */
  readonly prefix?: string;
  /** @default allows no image */
  readonly restorePolicy?: RestorePolicy;
  /** The protected volumes (their `recovery` roles order a recovery). */
  readonly protect: readonly ProtectionPolicy[];
  /** One schedule each: a whole-host recovery drill of the source. @default none */
  readonly recoveryDrills?: readonly RecoveryDrillConfig[];
  /** Templates a replacement may be launched from. @default none: a recovery to a launch template is refused by IAM */
  readonly launchTemplates?: readonly RecoveryLaunchTemplate[];
  /** Members of one wave restored at once. @default 4 */
  readonly parallel?: number;
  /** Between SSM checks of a launched replacement. @default 30 seconds */
  readonly hostWait?: Duration;
  /** Checks of a launched replacement before the recovery gives up. @default 20 (10 minutes at the default wait) */
  readonly hostWaitAttempts?: number;
  /** One member's restore, from its start to its completion event (the restore command's 2 h timeout and a margin). @default 2 h 15 min */
  readonly memberTimeout?: Duration;
  /** The whole recovery. @default 24 hours */
  readonly timeout?: Duration;
}

const metric = (name: string, dimensions: Record<string, string>): Metric =>
  new Metric({
    namespace: METRICS_NAMESPACE,
    metricName: name,
    statistic: 'Maximum',
    period: Duration.days(1),
    dimensionsMap: { service: METRICS_SERVICE, ...dimensions },
  });

/**
 * Whole-host recovery: the state machine (lib/recovery-definition.ts) and the one function its
 * tasks call, the scheduled recovery drills, and their alarms.
 *
 * Secrets: task payloads carry task tokens (each one answers a member), so the execution log
 * records ALL events without their input and output (includeExecutionData false), and the tasks
 * function never logs its payload.
 */
export class Recovery extends Construct {
  readonly stateMachine: StateMachine;
  readonly tasksFunction: LifeboatFunction<RecoveryTasksEnv>;
  /** Executions that failed, timed out or were stopped (a recovery that did not succeed ends its execution failed). */
  readonly executionsAlarm: Alarm;
  /** An execution that ended FAILED, TIMED_OUT or ABORTED → Report from outside (no recovery stays running). */
  readonly executionEndedRule: Rule;
  /** Per scheduled source: its latest recovery drill failed. */
  readonly drillAlarms: Alarm[] = [];

  constructor(scope: Construct, id: string, props: RecoveryProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const prefix = props.prefix ?? 'archives';
    const drills = props.recoveryDrills ?? [];
    const templates = props.launchTemplates ?? [];

    const environment: RecoveryTasksEnv = {
      TABLE_NAME: props.table.tableName,
      BUCKET_NAME: props.bucket.bucketName,
      RESTORE_DOCUMENT_NAME: props.restoreDocumentName,
      OUTPUT_LOG_GROUP: props.outputLogGroup.logGroupName,
      HELPER_IMAGE: props.helperImage,
      TOPIC_ARN: props.topic.topicArn,
      LIFEBOAT_POLICY: JSON.stringify(props.restorePolicy ?? RestorePolicy.parse({})),
      LIFEBOAT_PROTECT: recoveryProtect(props.protect),
      RECOVERY_DRILLS: JSON.stringify(drills),
      INSTANCE_TAG_KEY: props.instanceTag.key,
      INSTANCE_TAG_VALUE: props.instanceTag.value,
      LAUNCH_TEMPLATES: JSON.stringify(templates.map((t) => t.id)),
      LIFEBOAT_RUNBOOKS_DIR: BUNDLED_RUNBOOKS_DIR,
      POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
    };
    const fn = new LifeboatFunction(this, 'TasksFunction', { entry: 'recovery/index.ts', environment, withRunbooks: true, timeout: Duration.seconds(60) });
    this.tasksFunction = fn;
    // The restore path, as the API has it: records and locks, presigned archive reads, the restore document to tagged hosts.
    props.table.grantReadWriteData(fn);
    readArchives(fn, props.bucket, prefix);
    grantSendRestore(fn, { restoreDocumentName: props.restoreDocumentName, instanceTag: props.instanceTag });
    props.topic.grantPublish(fn);
    // A retried RestoreMember whose member already ended answers its new token itself.
    grantAnswerRecoveries(fn);
    if (templates.length > 0) grantLaunch(fn, templates);

    const logs = new LogGroup(this, 'ExecutionLogs', { retention: RetentionDays.ONE_YEAR, removalPolicy: RemovalPolicy.RETAIN });
    const hostWait = props.hostWait ?? Duration.seconds(30);
    const definition = recoveryDefinition({
      tasksFunctionArn: fn.functionArn,
      parallel: props.parallel ?? DEFAULT_PARALLEL,
      hostWait: { seconds: hostWait.toSeconds(), attempts: props.hostWaitAttempts ?? 20 },
      memberTimeoutSeconds: (props.memberTimeout ?? Duration.minutes(135)).toSeconds(),
      timeoutSeconds: (props.timeout ?? Duration.hours(24)).toSeconds(),
    });
    this.stateMachine = new StateMachine(this, 'StateMachine', {
      definitionBody: DefinitionBody.fromString(stack.toJsonString(definition)),
      comment: 'Lifeboat whole-host recovery',
      // Every event, never its data: a member's payload carries its task token.
      logs: { destination: logs, level: LogLevel.ALL, includeExecutionData: false },
      tracingEnabled: true,
    });
    // The definition calls this one function, unqualified (no version or alias: no `:*`).
    this.stateMachine.addToRolePolicy(new PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [fn.functionArn] }));
    acknowledgeNag(
      this.stateMachine,
      'Vended-log delivery (logs:CreateLogDelivery, GetLogDelivery, UpdateLogDelivery, DeleteLogDelivery, ListLogDeliveries, PutResourcePolicy, ' +
        'DescribeResourcePolicies, DescribeLogGroups) and X-Ray (PutTraceSegments, PutTelemetryRecords, GetSamplingRules, GetSamplingTargets) ' +
        'have no resource-level permissions; CDK adds them for the execution log and tracing.',
      { rule: 'IAM5', findings: ['Resource::*'] },
    );

    const actions = [new SnsAction(props.topic)];
    const sfnMetric = (name: string): Metric =>
      new Metric({
        namespace: 'AWS/States',
        metricName: name,
        dimensionsMap: { StateMachineArn: this.stateMachine.stateMachineArn },
        statistic: 'Sum',
        period: Duration.minutes(5),
      });
    this.executionsAlarm = new Alarm(this, 'ExecutionsFailed', {
      alarmDescription: 'Lifeboat: a whole-host recovery (or recovery drill) did not succeed, timed out or was stopped (see its report and the execution)',
      metric: new MathExpression({
        expression: 'failed + timedOut + aborted',
        usingMetrics: { failed: sfnMetric('ExecutionsFailed'), timedOut: sfnMetric('ExecutionsTimedOut'), aborted: sfnMetric('ExecutionsAborted') },
        period: Duration.minutes(5),
      }),
      threshold: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    this.executionsAlarm.addAlarmAction(...actions);
    this.executionsAlarm.addOkAction(...actions);

    // An execution that ended before its Report (the execution timeout, StopExecution, Report itself failing)
    // would leave its recovery running forever: Step Functions' own status event reports it. Executions are
    // named after their recovery (API, Slack, CLI); a scheduled drill's execution name is no recovery id, and
    // the function answers that report {ignored} (not an error). Report is idempotent on a final record, so
    // the event after a normal failed run changes nothing. Delivery as ruleToFunction (lib/event-target.ts)
    // gives it, plus the input: 8 retries over 6 hours, then this encrypted TLS-only dead-letter queue
    // (alarmed by FailureAlarms, like every dead-letter queue); failures inside the function go to its
    // on-failure destination (FailureAlarms).
    const endedDlq = new Queue(this, 'ExecutionEndedDlq', { encryption: QueueEncryption.SQS_MANAGED, enforceSSL: true, retentionPeriod: Duration.days(14) });
    acknowledgeNag(endedDlq, 'This queue is the dead-letter queue of the EventBridge target.', { rule: 'SQS3' });
    const status = EventField.fromPath('$.detail.status');
    this.executionEndedRule = new Rule(this, 'ExecutionEnded', {
      description: 'Lifeboat: a whole-host recovery execution ended failed, timed out or stopped: report (close) its recovery',
      eventPattern: {
        source: ['aws.states'],
        detailType: ['Step Functions Execution Status Change'],
        detail: { stateMachineArn: [this.stateMachine.stateMachineArn], status: [...EXECUTION_ENDED_STATUSES] },
      },
      targets: [
        new LambdaFunction(fn, {
          event: RuleTargetInput.fromObject({
            task: 'report',
            input: {
              recoveryId: EventField.fromPath('$.detail.name'),
              error: { Error: `${EXECUTION_ENDED_ERROR_PREFIX}${status}`, Cause: `the execution ended ${status} before its report` },
            },
          }),
          retryAttempts: 8,
          maxEventAge: Duration.hours(6),
          deadLetterQueue: endedDlq,
        }),
      ],
    });

    if (drills.length > 0) {
      const dlq = new Queue(this, 'ScheduleDlq', { encryption: QueueEncryption.SQS_MANAGED, enforceSSL: true, retentionPeriod: Duration.days(14) });
      acknowledgeNag(dlq, 'This queue is the dead-letter queue of the recovery drill schedules.', { rule: 'SQS3' });
      // One role for every drill schedule, allowed exactly states:StartExecution on this state machine.
      const role = new Role(this, 'SchedulerRole', { assumedBy: new ServicePrincipal('scheduler.amazonaws.com') });
      drills.forEach((drill, i) => {
        const input: ExecutionInput = { scheduledDrill: { source: drill.source } };
        new Schedule(this, `Drill${i.toString()}`, {
          description: `Lifeboat: whole-host recovery drill of ${drill.source}`,
          schedule: ScheduleExpression.expression(drill.schedule),
          target: new StepFunctionsStartExecution(this.stateMachine, {
            role,
            input: ScheduleTargetInput.fromObject(input),
            deadLetterQueue: dlq,
            retryAttempts: 2,
            maxEventAge: Duration.hours(1),
          }),
        });
        const alarm = new Alarm(this, `DrillFailed${i.toString()}`, {
          alarmDescription: `Lifeboat: the latest whole-host recovery drill of ${drill.source} failed (see its report)`,
          metric: metric('RecoveryDrillFailed', { Source: drill.source }),
          threshold: 1,
          comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          evaluationPeriods: 1,
          treatMissingData: TreatMissingData.NOT_BREACHING,
        });
        alarm.addAlarmAction(...actions);
        alarm.addOkAction(...actions);
        this.drillAlarms.push(alarm);
      });
    }
  }
}

/**
 * Launching a replacement: RunInstances only from the configured templates (the ec2:LaunchTemplate
 * condition holds for every resource the call creates or uses: instance, volumes, network
 * interface, subnet, security groups, image), and only with the template's own resources
 * (ec2:IsLaunchTemplateResource: a request overriding the image, subnet, security groups, network
 * interfaces or key pair is denied), tags only as part of that launch (ec2:CreateAction), and
 * PassRole only of the templates' instance roles, only to EC2.
 *
 * Caveats: ec2:IsLaunchTemplateResource governs resources, not plain parameters (user data,
 * instance type, metadata options are not resources: an override of those is not denied by IAM;
 * the launcher sends only the template, counts, client token and tags). A template that leaves a
 * resource out (no subnet: EC2's default subnet) may make EC2 pick one that is not a template
 * resource, and the launch is denied: give the template its image, network interface or subnet,
 * and security groups.
 */
function grantLaunch(fn: LifeboatFunction<RecoveryTasksEnv>, templates: readonly RecoveryLaunchTemplate[]): void {
  const stack = Stack.of(fn);
  const templateArns = templates.map((t) => stack.formatArn({ service: 'ec2', resource: 'launch-template', resourceName: t.id }));
  fn.addToRolePolicy(
    new PolicyStatement({
      actions: ['ec2:RunInstances'],
      resources: ['*'],
      conditions: { ArnEquals: { 'ec2:LaunchTemplate': templateArns }, Bool: { 'ec2:IsLaunchTemplateResource': 'true' } },
    }),
  );
  const created = ['instance', 'volume'].map((resource) => stack.formatArn({ service: 'ec2', resource, resourceName: '*' }));
  fn.addToRolePolicy(
    new PolicyStatement({ actions: ['ec2:CreateTags'], resources: created, conditions: { StringEquals: { 'ec2:CreateAction': 'RunInstances' } } }),
  );
  const roles = [...new Set(templates.flatMap((t) => (t.instanceRole ? [t.instanceRole] : [])))];
  if (roles.length > 0) {
    fn.addToRolePolicy(
      new PolicyStatement({
        actions: ['iam:PassRole'],
        resources: roles.map((name) => stack.formatArn({ service: 'iam', region: '', resource: 'role', resourceName: name })),
        conditions: { StringEquals: { 'iam:PassedToService': 'ec2.amazonaws.com' } },
      }),
    );
  }
  acknowledgeNag(
    fn,
    'RunInstances is allowed on every resource only under the ec2:LaunchTemplate condition (the configured launch templates): the instance, volume, ' +
      'network interface, subnet, security group and image ARNs are not known in advance. CreateTags reaches only instances and volumes being created ' +
      'by RunInstances (ec2:CreateAction).',
    { rule: 'IAM5', findings: ['Resource::*', ...created.map((arn) => `Resource::${nagArn(stack, arn)}`)] },
  );
}
