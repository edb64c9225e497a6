import type { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import { SsmCommandRunner } from '#core/adapters/ssm.ts';
import { SfnTaskCallback } from '#core/adapters/stepfunctions.ts';
import { SnsNotifier } from '#core/adapters/sns.ts';
import { Notifiers, SlackNotifier } from '#core/adapters/slack.ts';
import { DynamoDbCatalog } from '#core/catalog/dynamodb-catalog.ts';
import { RecoveryService, type RecoveryServiceDeps } from '#core/recovery/service.ts';
import type { CompletionDeps } from '#core/restore/completion.ts';
import type { RestoreMetrics } from '#core/restore/ports.ts';
import { documentClient } from './clients/dynamodb.ts';
import { logsClient } from './clients/logs.ts';
import { sfnClient } from './clients/sfn.ts';
import { snsClient } from './clients/sns.ts';
import { ssmClient } from './clients/ssm.ts';
import { volumeMetric } from './volume-metric.ts';

/** What a function that finishes restores is told (the completion and sweeper functions' env schemas include it). */
export interface CompletionEnv {
  readonly TABLE_NAME: string;
  readonly TOPIC_ARN: string;
  readonly OUTPUT_LOG_GROUP: string;
  readonly RESTORE_DOCUMENT_NAME: string;
}

/** Powertools metrics of finished restores and drills (the dashboard and the failed-drill alarms read them). */
export function restoreMetrics(metrics: Metrics): RestoreMetrics {
  return {
    restoreFinished: ({ outcome, totalSeconds, bytes, phases }) => {
      metrics.addMetric(outcome === 'succeeded' ? 'RestoreSucceeded' : 'RestoreFailed', MetricUnit.Count, 1);
      if (totalSeconds !== undefined) metrics.addMetric('RestoreSeconds', MetricUnit.Seconds, totalSeconds);
      if (bytes !== undefined) metrics.addMetric('RestoreBytes', MetricUnit.Bytes, bytes);
      for (const [phase, seconds] of Object.entries(phases ?? {})) metrics.addMetric(`RestorePhaseSeconds_${phase}`, MetricUnit.Seconds, seconds);
    },
    drillFinished: ({ source, volume, outcome, totalSeconds }) => {
      const dims = { source, volume };
      volumeMetric(metrics, dims, 'DrillFailed', MetricUnit.Count, outcome === 'succeeded' ? 0 : 1);
      volumeMetric(metrics, dims, 'DrillSucceeded', MetricUnit.Count, outcome === 'succeeded' ? 1 : 0);
      if (totalSeconds !== undefined) volumeMetric(metrics, dims, 'DrillSeconds', MetricUnit.Seconds, totalSeconds);
    },
  };
}

/**
 * The completion path as the Lambda functions wire it: the catalog, SSM for the
 * command's output, SNS (and the Slack requester) for the notification, metrics.
 * The completion event's function and the sweeper share it, so a restore ends the
 * same way whoever notices.
 */
export function completionDeps(env: CompletionEnv, logger: Logger, metrics: Metrics): CompletionDeps {
  const warn = (message: string, e: unknown): void => {
    logger.warn(message, { error: String(e) });
  };
  const catalog = new DynamoDbCatalog(documentClient, env.TABLE_NAME);
  const runner = new SsmCommandRunner(ssmClient, logsClient, { restoreDocumentName: env.RESTORE_DOCUMENT_NAME, outputLogGroup: env.OUTPUT_LOG_GROUP });
  return {
    catalog,
    runner,
    // Everyone subscribed to the topic, and the Slack requester of a Slack-started restore.
    notifier: new Notifiers(new SnsNotifier(snsClient, env.TOPIC_ARN), new SlackNotifier({ warn })),
    metrics: restoreMetrics(metrics),
    // A finished member of a whole-host recovery answers its task token (memberFinished reads the
    // catalog and answers through the callback only: this path never plans or starts restores).
    // TODO(i17 merge): RecoveryServiceDeps.restores is required in core but unused by memberFinished, and
    // this function has no archive store or document to build a RestoreService from: make it optional
    // in core (or export a member-sink factory) and drop this assertion.
    recovery: new RecoveryService({
      catalog,
      instances: runner,
      protect: [],
      callback: new SfnTaskCallback(sfnClient, warn),
    } as Omit<RecoveryServiceDeps, 'restores'> as RecoveryServiceDeps),
  };
}
