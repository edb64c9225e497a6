import { CfnResource, Duration, Stack, type IResolvable } from 'aws-cdk-lib';
import { Alarm, CfnAlarm, ComparisonOperator, Metric, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { CfnRule } from 'aws-cdk-lib/aws-events';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { CfnEventInvokeConfig, CfnFunction, Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import { CfnSchedule } from 'aws-cdk-lib/aws-scheduler';
import { CfnTopic, Topic } from 'aws-cdk-lib/aws-sns';
import { CfnQueue, Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct, type IConstruct } from 'constructs';
import { acknowledgeNag } from './nag.ts';
import { allowAlarmsToPublish } from './notifications.ts';

export interface FailureAlarmsProps {
  /** Where every alarm goes (a topic under {@link key}). */
  readonly topic: Topic;
  /** The customer-managed key CloudWatch may use: every topic an alarm publishes to is encrypted with it. */
  readonly key: IKey;
  /**
   * The constructs whose resources it watches (each with everything under it): an embedded Lifeboat
   * watches its own, not the rest of its consumer's stack. @default - the whole stack
   */
  readonly within?: readonly IConstruct[];
}

/** Every construct under the scopes (each scope included). */
const allUnder = (scopes: readonly IConstruct[]): IConstruct[] => scopes.flatMap((s) => s.node.findAll());

/** Logical ids named by `Ref` / `Fn::GetAtt` anywhere in a resolved value. */
function referencedIds(stack: Stack, value: unknown): Set<string> {
  const ids = new Set<string>();
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) {
      v.forEach(walk);
    } else if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if (typeof o.Ref === 'string') ids.add(o.Ref);
      const att = o['Fn::GetAtt'];
      if (Array.isArray(att) && typeof att[0] === 'string') ids.add(att[0]);
      Object.values(o).forEach(walk);
    }
  };
  walk(stack.resolve(value));
  return ids;
}

const resourcesOfType = (stack: Stack, type: string, scopes: readonly IConstruct[] = [stack]): CfnResource[] =>
  allUnder(scopes).filter((c): c is CfnResource => CfnResource.isCfnResource(c) && c.cfnResourceType === type && Stack.of(c) === stack);

const byLogicalId = (stack: Stack, resources: CfnResource[]): Map<string, CfnResource> => new Map(resources.map((r) => [stack.getLogicalId(r), r]));

/** Functions some service invokes asynchronously: EventBridge rule targets and EventBridge Scheduler targets. */
export function asyncInvokedFunctions(stack: Stack, scopes: readonly IConstruct[] = [stack]): CfnResource[] {
  const functions = byLogicalId(stack, resourcesOfType(stack, 'AWS::Lambda::Function', scopes));
  const ids = new Set<string>();
  for (const c of allUnder(scopes)) {
    let targets: unknown;
    if (c instanceof CfnRule) targets = (stack.resolve(c.targets) as { arn?: unknown }[] | undefined)?.map((t) => t.arn);
    else if (c instanceof CfnSchedule) targets = (stack.resolve(c.target) as { arn?: unknown }).arn;
    else continue;
    for (const id of referencedIds(stack, targets)) if (functions.has(id)) ids.add(id);
  }
  return [...ids].map((id) => functions.get(id) as CfnResource);
}

/**
 * Queues that receive what failed elsewhere: SQS redrive targets, EventBridge rule and
 * Scheduler dead-letter queues, Lambda on-failure destinations and function DLQs.
 */
export function deadLetterQueues(stack: Stack, scopes: readonly IConstruct[] = [stack]): CfnResource[] {
  const queues = byLogicalId(stack, resourcesOfType(stack, 'AWS::SQS::Queue', scopes));
  const ids = new Set<string>();
  const add = (value: unknown): void => {
    for (const id of referencedIds(stack, value)) if (queues.has(id)) ids.add(id);
  };
  for (const c of allUnder(scopes)) {
    if (c instanceof CfnQueue) add((stack.resolve(c.redrivePolicy) as { deadLetterTargetArn?: unknown } | undefined)?.deadLetterTargetArn);
    else if (c instanceof CfnRule) add((stack.resolve(c.targets) as { deadLetterConfig?: unknown }[] | undefined)?.map((t) => t.deadLetterConfig));
    else if (c instanceof CfnSchedule) add((stack.resolve(c.target) as { deadLetterConfig?: unknown }).deadLetterConfig);
    else if (c instanceof CfnEventInvokeConfig) add((stack.resolve(c.destinationConfig) as { onFailure?: unknown } | undefined)?.onFailure);
    else if (c instanceof CfnFunction) add(c.deadLetterConfig);
  }
  return [...ids].map((id) => queues.get(id) as CfnResource);
}

/** The topics an alarm's actions (alarm, OK, insufficient data) publish to. */
export function alarmTopics(stack: Stack, scopes: readonly IConstruct[] = [stack]): CfnTopic[] {
  const topics = byLogicalId(stack, resourcesOfType(stack, 'AWS::SNS::Topic', scopes));
  const ids = new Set<string>();
  for (const c of allUnder(scopes)) {
    if (!(c instanceof CfnAlarm)) continue;
    for (const actions of [c.alarmActions, c.okActions, c.insufficientDataActions] as (string[] | IResolvable | undefined)[]) {
      for (const id of referencedIds(stack, actions)) if (topics.has(id)) ids.add(id);
    }
  }
  return [...ids].map((id) => topics.get(id) as CfnTopic);
}

/**
 * No silent failures, and no alarm that cannot be heard. Created last in the stack,
 * it walks every resource the stack defines:
 * - every function a service invokes asynchronously gets an on-failure destination
 *   (after Lambda's own retries, the event is kept instead of dropped);
 * - every dead-letter queue gets an alarm on messages visible > 0;
 * - every function gets an alarm on errors;
 * - every topic any alarm publishes to is encrypted with the key CloudWatch may use
 *   (a topic left on `alias/aws/sns` by any construct would swallow its alarms).
 * All alarms go to the notification topic.
 */
export class FailureAlarms extends Construct {
  /** Where asynchronously invoked functions put the events they failed on after Lambda's retries. */
  readonly failedInvocations: Queue;
  /** Alarm per function and per dead-letter queue, by the resource's logical id. */
  readonly alarms = new Map<string, Alarm>();

  constructor(scope: Construct, id: string, props: FailureAlarmsProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const scopes = props.within ?? [stack];
    const actions = [new SnsAction(props.topic)];

    this.failedInvocations = new Queue(this, 'FailedInvocations', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    acknowledgeNag(this.failedInvocations, 'This queue is itself the on-failure destination of the asynchronously invoked functions.', { rule: 'SQS3' });
    for (const cfn of asyncInvokedFunctions(stack, scopes)) {
      const fn: IConstruct | undefined = cfn.node.scope;
      // A function that already says what to do with failed events keeps its choice.
      if (fn instanceof LambdaFunction && !fn.node.tryFindChild('EventInvokeConfig')) {
        fn.configureAsyncInvoke({ onFailure: new SqsDestination(this.failedInvocations), retryAttempts: 2, maxEventAge: Duration.hours(6) });
      }
    }

    for (const queue of deadLetterQueues(stack, scopes)) {
      const logicalId = stack.getLogicalId(queue);
      const alarm = new Alarm(this, `Dlq${logicalId}`, {
        alarmDescription: `Lifeboat: events are waiting in dead-letter queue ${queue.node.path} (something failed and was not retried further)`,
        metric: new Metric({
          namespace: 'AWS/SQS',
          metricName: 'ApproximateNumberOfMessagesVisible',
          dimensionsMap: { QueueName: queue.getAtt('QueueName').toString() },
          statistic: 'Maximum',
          period: Duration.minutes(5),
        }),
        threshold: 0,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      });
      this.alarms.set(logicalId, alarm);
    }

    for (const fn of resourcesOfType(stack, 'AWS::Lambda::Function', scopes)) {
      const logicalId = stack.getLogicalId(fn);
      const alarm = new Alarm(this, `Errors${logicalId}`, {
        alarmDescription: `Lifeboat: function ${fn.node.path} failed (see its log group)`,
        metric: new Metric({
          namespace: 'AWS/Lambda',
          metricName: 'Errors',
          dimensionsMap: { FunctionName: fn.ref },
          statistic: 'Sum',
          period: Duration.minutes(5),
        }),
        threshold: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      });
      this.alarms.set(logicalId, alarm);
    }
    for (const alarm of this.alarms.values()) {
      alarm.addAlarmAction(...actions);
      alarm.addOkAction(...actions);
    }

    for (const topic of alarmTopics(stack, scopes)) {
      const l2 = topic.node.scope;
      if (l2 instanceof Topic && l2.masterKey === props.key) continue;
      topic.kmsMasterKeyId = props.key.keyArn;
      if (l2 instanceof Topic) allowAlarmsToPublish(l2);
    }
  }
}
