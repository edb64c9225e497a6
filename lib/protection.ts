import { Duration, Stack } from 'aws-cdk-lib';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import { Alarm, ComparisonOperator, Dashboard, GraphWidget, Metric, TextWidget, TreatMissingData, type IWidget } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import type { LogGroup } from 'aws-cdk-lib/aws-logs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { Schedule, ScheduleExpression, ScheduleTargetInput } from 'aws-cdk-lib/aws-scheduler';
import { LambdaInvoke } from 'aws-cdk-lib/aws-scheduler-targets';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { DrillEnv } from '../functions/drill/env.ts';
import type { FreshnessEnv } from '../functions/freshness/env.ts';
import { restorePolicyFor, scheduledDrill, type FreshnessCheck, type ProtectionPolicy } from '#core/protection.ts';
import { readArchives } from './catalog.ts';
import { BUNDLED_RUNBOOKS_DIR, LifeboatFunction } from './lifeboat-function.ts';
import { METRICS_NAMESPACE, METRICS_SERVICE } from './metrics.ts';
import { acknowledgeNag } from './nag.ts';
import { AlarmTopic } from './notifications.ts';
import { grantSendRestore } from './restore-api.ts';

export interface ProtectionProps {
  readonly policies: readonly ProtectionPolicy[];
  readonly bucket: IBucket;
  readonly table: TableV2;
  readonly topic: Topic;
  readonly restoreDocumentName: string;
  readonly outputLogGroup: LogGroup;
  readonly helperImage: string;
  readonly instanceTag: { readonly key: string; readonly value: string };
  readonly prefix: string;
  /** How often backup freshness is checked. @default rate(15 minutes) */
  readonly freshnessSchedule?: string;
  /** Images drill containers may run (the protect config's and the manifests' must be in it). @default none */
  readonly allowedImages?: readonly string[];
  /** Restore drills (schedules, drill function, drill alarms). @default true */
  readonly drills?: boolean;
  /**
   * This stack serves the replica in this DR region: its freshness measures what has arrived
   * there, and its alarms say so. @default - the primary
   */
  readonly replicaRegion?: string;
}

const metric = (name: string, statistic: string, period: Duration, dimensions: Record<string, string> = {}): Metric =>
  new Metric({ namespace: METRICS_NAMESPACE, metricName: name, statistic, period, dimensionsMap: { service: METRICS_SERVICE, ...dimensions } });

/**
 * Protected volumes: a scheduled restore drill per volume, a backup-freshness (RPO)
 * check with an alarm per volume, an alarm on failed drills, and the DR dashboard.
 */
export class Protection extends Construct {
  readonly dashboard: Dashboard;
  readonly drillFunction?: LifeboatFunction<DrillEnv>;
  readonly freshnessFunction?: LifeboatFunction<FreshnessEnv>;
  readonly overdueAlarms: Alarm[] = [];
  readonly drillAlarms: Alarm[] = [];

  constructor(scope: Construct, id: string, props: ProtectionProps) {
    super(scope, id);
    const widgets: IWidget[][] = [
      [
        new GraphWidget({
          title: 'Restores started / succeeded / failed (per hour)',
          width: 12,
          left: ['RestoreStarted', 'RestoreSucceeded', 'RestoreFailed'].map((m) => metric(m, 'Sum', Duration.hours(1))),
        }),
        new GraphWidget({
          title: 'Restore time on the host (s)',
          width: 12,
          left: [metric('RestoreSeconds', 'Average', Duration.hours(1)), metric('RestoreSeconds', 'Maximum', Duration.hours(1))],
        }),
      ],
    ];
    if (props.policies.length > 0) {
      const dlq = new Queue(this, 'ScheduleDlq', { encryption: QueueEncryption.SQS_MANAGED, enforceSSL: true, retentionPeriod: Duration.days(14) });
      acknowledgeNag(dlq, 'This queue is the dead-letter queue of the drill and freshness schedules.', { rule: 'SQS3' });

      const drills = props.drills ?? true;
      const drillFn = !drills
        ? undefined
        : new LifeboatFunction<DrillEnv>(this, 'DrillFunction', {
            entry: 'drill/index.ts',
            withRunbooks: true,
            timeout: Duration.seconds(60),
            environment: {
              TABLE_NAME: props.table.tableName,
              BUCKET_NAME: props.bucket.bucketName,
              RESTORE_DOCUMENT_NAME: props.restoreDocumentName,
              OUTPUT_LOG_GROUP: props.outputLogGroup.logGroupName,
              HELPER_IMAGE: props.helperImage,
              TOPIC_ARN: props.topic.topicArn,
              LIFEBOAT_POLICY: JSON.stringify(restorePolicyFor(props.allowedImages ?? [], props.policies)),
              LIFEBOAT_RUNBOOKS_DIR: BUNDLED_RUNBOOKS_DIR,
              POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
            },
          });
      if (drillFn) {
        props.table.grantReadWriteData(drillFn);
        readArchives(drillFn, props.bucket, props.prefix);
        grantSendRestore(drillFn, props);
        props.topic.grantPublish(drillFn);
      }
      this.drillFunction = drillFn;

      const freshnessFn = new LifeboatFunction<FreshnessEnv>(this, 'FreshnessFunction', {
        entry: 'freshness/index.ts',
        timeout: Duration.seconds(60),
        environment: { TABLE_NAME: props.table.tableName, POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE },
      });
      props.table.grantReadData(freshnessFn);
      this.freshnessFunction = freshnessFn;

      // One role for both schedules' targets (the default would be a role per target, unacknowledged).
      const schedulerRole = new Role(this, 'SchedulerRole', { assumedBy: new ServicePrincipal('scheduler.amazonaws.com') });
      const stack = Stack.of(this);
      acknowledgeNag(schedulerRole, "Lambda's grantInvoke also names the function's versions (<arn>:*); the schedules invoke the unqualified functions.", {
        rule: 'IAM5',
        findings: [drillFn, freshnessFn]
          .flatMap((fn) => (fn ? [fn] : []))
          .map((fn) => `Resource::<${stack.getLogicalId(fn.node.defaultChild as CfnFunction)}.Arn>:*`),
      });
      const check: FreshnessCheck = { volumes: props.policies.map((p) => ({ source: p.source, volume: p.volume, rpoSeconds: p.rpoMinutes * 60 })) };
      new Schedule(this, 'FreshnessSchedule', {
        description: 'Lifeboat: backup age of every protected volume against its RPO',
        schedule: ScheduleExpression.expression(props.freshnessSchedule ?? 'rate(15 minutes)'),
        target: new LambdaInvoke(freshnessFn, {
          role: schedulerRole,
          input: ScheduleTargetInput.fromObject(check),
          deadLetterQueue: dlq,
          retryAttempts: 2,
          maxEventAge: Duration.minutes(10),
        }),
      });

      props.policies.forEach((policy, i) => {
        const name = `${policy.source}/${policy.volume}`;
        const dims = { Source: policy.source, Volume: policy.volume };
        if (drillFn) {
          new Schedule(this, `Drill${i.toString()}`, {
            description: `Lifeboat: restore drill of ${name}${props.replicaRegion === undefined ? '' : ` from the replica in ${props.replicaRegion}`}`,
            schedule: ScheduleExpression.expression(policy.drillSchedule),
            target: new LambdaInvoke(drillFn, {
              role: schedulerRole,
              input: ScheduleTargetInput.fromObject(scheduledDrill(policy)),
              deadLetterQueue: dlq,
              retryAttempts: 2,
              maxEventAge: Duration.hours(1),
            }),
          });
        }
        const actions = [new SnsAction(props.topic)];
        if (policy.notify.length > 0) {
          // Under the notification topic's key: CloudWatch cannot publish to a topic under alias/aws/sns.
          const key = props.topic.masterKey;
          if (!key) throw new Error('the notification topic must be encrypted with a key CloudWatch may use');
          const volumeTopic = new AlarmTopic(this, `Alerts${i.toString()}`, { displayName: `Lifeboat alerts for ${name}`.slice(0, 100), key });
          for (const email of policy.notify) volumeTopic.addSubscription(new EmailSubscription(email));
          actions.push(new SnsAction(volumeTopic));
        }
        const overdue = new Alarm(this, `BackupOverdue${i.toString()}`, {
          alarmDescription:
            props.replicaRegion === undefined
              ? `Lifeboat: the newest backup of ${name} is older than its RPO of ${policy.rpoMinutes.toString()} min (or none exists, or the check is not running)`
              : `Lifeboat: archives of ${name} have not ARRIVED in the DR region ${props.replicaRegion} for ${policy.rpoMinutes.toString()} min (its RPO): replication lag, or backups stopped (or the check is not running)`,
          metric: metric('BackupOverdue', 'Maximum', Duration.minutes(15), dims),
          threshold: 1,
          comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          evaluationPeriods: 1,
          // No data means the freshness check itself is not running: that is not "fresh".
          treatMissingData: TreatMissingData.BREACHING,
        });
        const drillFailed = !drillFn
          ? undefined
          : new Alarm(this, `DrillFailed${i.toString()}`, {
              alarmDescription: `Lifeboat: the latest restore drill of ${name}${props.replicaRegion === undefined ? '' : ` in the DR region ${props.replicaRegion}`} failed`,
              metric: metric('DrillFailed', 'Maximum', Duration.days(1), dims),
              threshold: 1,
              comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
              evaluationPeriods: 1,
              treatMissingData: TreatMissingData.NOT_BREACHING,
            });
        for (const alarm of drillFailed ? [overdue, drillFailed] : [overdue]) {
          alarm.addAlarmAction(...actions);
          alarm.addOkAction(...actions);
        }
        this.overdueAlarms.push(overdue);
        if (drillFailed) this.drillAlarms.push(drillFailed);
        widgets.push([
          new TextWidget({ markdown: `### ${name}\nRPO ${policy.rpoMinutes.toString()} min · drills ${policy.drillSchedule}`, width: 24, height: 2 }),
          new GraphWidget({
            title: `${name}: backup age vs RPO (s)`,
            width: 8,
            left: [metric('BackupAgeSeconds', 'Maximum', Duration.minutes(15), dims)],
            leftAnnotations: [{ value: policy.rpoMinutes * 60, label: 'RPO' }],
          }),
          new GraphWidget({
            title: `${name}: drill outcomes (per day)`,
            width: 8,
            left: [metric('DrillSucceeded', 'Sum', Duration.days(1), dims), metric('DrillFailed', 'Sum', Duration.days(1), dims)],
          }),
          new GraphWidget({
            title: `${name}: drill restore time (s)`,
            width: 8,
            left: [metric('DrillSeconds', 'Maximum', Duration.days(1), dims)],
          }),
        ]);
      });
    }
    this.dashboard = new Dashboard(this, 'Dashboard', { widgets });
  }
}
