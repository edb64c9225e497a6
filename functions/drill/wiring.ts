import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit, Metrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { parser } from '@aws-lambda-powertools/parser/middleware';
import middy from '@middy/core';
import { SnsNotifier } from '#core/adapters/sns.ts';
import { SsmCommandRunner } from '#core/adapters/ssm.ts';
import { S3ArchiveStore } from '#core/archive-store.ts';
import { DynamoDbCatalog } from '#core/catalog/dynamodb-catalog.ts';
import { policyFromJson } from '#core/policy.ts';
import { ScheduledDrill } from '#core/protection.ts';
import { RestoreService } from '#core/restore/service.ts';
import { loadBundledDocument } from '#core/runbooks/bundled-document.ts';
import { documentClient } from '../commons/clients/dynamodb.ts';
import { logsClient } from '../commons/clients/logs.ts';
import { s3Client } from '../commons/clients/s3.ts';
import { snsClient } from '../commons/clients/sns.ts';
import { ssmClient } from '../commons/clients/ssm.ts';
import { volumeMetric } from '../commons/volume-metric.ts';
import { lifeboatLogger } from '../commons/logger.ts';
import { startScheduledDrill, type DrillStart } from './app.ts';
import { DrillEnv } from './env.ts';

const env = DrillEnv.parse(process.env);
const logger = lifeboatLogger('lifeboat-drill');
const metrics = new Metrics({ serviceName: 'lifeboat' });
const ssm = new SsmCommandRunner(ssmClient, logsClient, { restoreDocumentName: env.RESTORE_DOCUMENT_NAME, outputLogGroup: env.OUTPUT_LOG_GROUP });
const service = new RestoreService(
  { catalog: new DynamoDbCatalog(documentClient, env.TABLE_NAME), store: new S3ArchiveStore(s3Client, env.BUCKET_NAME), runner: ssm, instances: ssm },
  { document: loadBundledDocument('restore-volume'), helperImage: env.HELPER_IMAGE, policy: policyFromJson(env.LIFEBOAT_POLICY) },
);
const deps = {
  service,
  findHost: (key: string, value: string) => ssm.onlineInstanceWithTag(key, value),
  notifier: new SnsNotifier(snsClient, env.TOPIC_ARN),
  notStarted: (drill: ScheduledDrill) => {
    volumeMetric(metrics, drill, 'DrillFailed', MetricUnit.Count, 1);
  },
};

/** EventBridge Scheduler target: one protected volume's drill (the schedule's input is a ScheduledDrill). */
export const handler = middy<ScheduledDrill, DrillStart>()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(logMetrics(metrics))
  .use(parser({ schema: ScheduledDrill }))
  .handler(async (drill) => {
    const outcome = await startScheduledDrill(deps, drill);
    if (outcome.started)
      logger.info('drill started', {
        source: drill.source,
        volume: drill.volume,
        restoreId: outcome.restore.restoreId,
        instanceId: outcome.restore.plan.target.instanceId,
        // Which engine verifies it, and why (the protect config's verify, or the archive).
        engine: outcome.restore.plan.verification.engine,
        engineFrom: outcome.restore.plan.verification.from,
      });
    else logger.warn('drill could not start', { source: drill.source, volume: drill.volume, reason: outcome.reason });
    return outcome;
  });
