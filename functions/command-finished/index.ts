import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit, Metrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { parser } from '@aws-lambda-powertools/parser/middleware';
import middy from '@middy/core';
import { SsmCommandRunner } from '../core/adapters/ssm.ts';
import { DynamoDbCatalog } from '../core/catalog/dynamodb-catalog.ts';
import { completeRestore, type CompletionOutcome } from '../core/restore/completion.ts';
import type { RestoreMetrics } from '../core/restore/ports.ts';
import { documentClient } from '../commons/clients/dynamodb.ts';
import { logsClient } from '../commons/clients/logs.ts';
import { ssmClient } from '../commons/clients/ssm.ts';
import { snsClient } from '../commons/clients/sns.ts';
import { volumeMetric } from '../commons/volume-metric.ts';
import { lifeboatLogger } from '../commons/logger.ts';
import { SnsNotifier } from '../core/adapters/sns.ts';
import { Notifiers, SlackNotifier } from '../core/adapters/slack.ts';
import { CommandFinishedEnv } from './env.ts';
import { CommandInvocationEvent } from './schema.ts';

const env = CommandFinishedEnv.parse(process.env);
const logger = lifeboatLogger('lifeboat-command-finished');
const metrics = new Metrics({ serviceName: 'lifeboat' });
const restoreMetrics: RestoreMetrics = {
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
const runner = new SsmCommandRunner(ssmClient, logsClient, { restoreDocumentName: env.RESTORE_DOCUMENT_NAME, outputLogGroup: env.OUTPUT_LOG_GROUP });
const deps = {
  catalog: new DynamoDbCatalog(documentClient, env.TABLE_NAME),
  runner,
  // Everyone subscribed to the topic, and the Slack requester of a Slack-started restore.
  notifier: new Notifiers(new SnsNotifier(snsClient, env.TOPIC_ARN), new SlackNotifier({ warn: (message, e) => { logger.warn(message, { error: String(e) }); } })),
  metrics: restoreMetrics,
};

export const handler = middy<CommandInvocationEvent, CompletionOutcome>()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(logMetrics(metrics))
  .use(parser({ schema: CommandInvocationEvent }))
  .handler(async (event) => {
    const outcome = await completeRestore(deps, {
      commandId: event.detail['command-id'],
      instanceId: event.detail['instance-id'],
      status: event.detail.status,
    });
    logger.info('command status handled', { outcome: outcome.action, restoreId: 'restoreId' in outcome ? outcome.restoreId : undefined });
    return outcome;
  });
