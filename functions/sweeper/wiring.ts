import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit, Metrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import { SsmCommandStatus } from '#core/adapters/ssm-status.ts';
import { sweep, type SweepOutcome } from '#core/restore/sweeper.ts';
import { ssmClient } from '../commons/clients/ssm.ts';
import { completionDeps } from '../commons/completion-deps.ts';
import { lifeboatLogger } from '../commons/logger.ts';
import { SweeperEnv } from './env.ts';

const env = SweeperEnv.parse(process.env);
const logger = lifeboatLogger('lifeboat-sweeper');
const metrics = new Metrics({ serviceName: 'lifeboat' });
const deps = { ...completionDeps(env, logger, metrics), ssm: new SsmCommandStatus(ssmClient, env.RESTORE_DOCUMENT_NAME) };
const config = { staleSeconds: env.STALE_SECONDS, commandTimeoutSeconds: env.COMMAND_TIMEOUT_SECONDS, marginSeconds: env.MARGIN_SECONDS };

/** Scheduled: finishes restores whose completion event was lost, through the completion path. */
export const handler = middy<unknown, SweepOutcome[]>()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(logMetrics(metrics))
  .handler(async () => {
    const outcomes = await sweep(deps, config);
    const acted = outcomes.filter((o) => o.action === 'finished' || o.action === 'lost');
    for (const o of acted) logger.warn('restore finished by the sweeper', { ...o });
    metrics.addMetric('SweptRestores', MetricUnit.Count, acted.length);
    return outcomes;
  });
