import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit, Metrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { parser } from '@aws-lambda-powertools/parser/middleware';
import middy from '@middy/core';
import { DynamoDbCatalog } from '#core/catalog/dynamodb-catalog.ts';
import { FreshnessCheck, checkFreshness, type Freshness } from '#core/protection.ts';
import { documentClient } from '../commons/clients/dynamodb.ts';
import { volumeMetric } from '../commons/volume-metric.ts';
import { lifeboatLogger } from '../commons/logger.ts';
import { FreshnessEnv } from './env.ts';

const env = FreshnessEnv.parse(process.env);
const logger = lifeboatLogger('lifeboat-freshness');
const metrics = new Metrics({ serviceName: 'lifeboat' });
const catalog = new DynamoDbCatalog(documentClient, env.TABLE_NAME);

/**
 * EventBridge Scheduler target: per protected volume, the newest archive's age
 * (BackupAgeSeconds) and whether it is over the RPO (BackupOverdue 0/1). The
 * per-volume alarms watch BackupOverdue and treat a missing value as overdue.
 * In the DR region the catalog holds what has been replicated there, so replication
 * lag shows up as backup age. Each result also says how long the newest archive took
 * to arrive (arrivalLagSeconds), in the log and not as a metric: one more custom metric
 * per volume, while S3 Replication metrics (ReplicationLatency), when on, chart the lag itself.
 */
export const handler = middy<FreshnessCheck, Freshness[]>()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(logMetrics(metrics))
  .use(parser({ schema: FreshnessCheck }))
  .handler(async (check) => {
    const results = await checkFreshness(catalog, check, new Date());
    for (const f of results) {
      volumeMetric(metrics, f, 'BackupOverdue', MetricUnit.Count, f.overdue ? 1 : 0);
      if (f.ageSeconds !== null) volumeMetric(metrics, f, 'BackupAgeSeconds', MetricUnit.Seconds, f.ageSeconds);
      if (f.overdue) logger.warn('backup overdue', { ...f });
      else if (f.clockSkewSeconds > 0) logger.warn('archive time is in the future (clock skew)', { ...f });
    }
    const slowest = results.reduce<Freshness | undefined>((a, f) => ((f.arrivalLagSeconds ?? -1) > (a?.arrivalLagSeconds ?? -1) ? f : a), undefined);
    logger.info('freshness checked', {
      volumes: results.length,
      overdue: results.filter((f) => f.overdue).length,
      ...(slowest ? { slowestArrival: { source: slowest.source, volume: slowest.volume, arrivalLagSeconds: slowest.arrivalLagSeconds } } : {}),
    });
    return results;
  });
