import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { parser } from '@aws-lambda-powertools/parser/middleware';
import middy from '@middy/core';
import { completeRestore, type CompletionOutcome } from '#core/restore/completion.ts';
import { completionDeps } from '../commons/completion-deps.ts';
import { lifeboatLogger } from '../commons/logger.ts';
import { CommandFinishedEnv } from './env.ts';
import { CommandInvocationEvent } from './schema.ts';

const env = CommandFinishedEnv.parse(process.env);
const logger = lifeboatLogger('lifeboat-command-finished');
const metrics = new Metrics({ serviceName: 'lifeboat' });
const deps = completionDeps(env, logger, metrics);

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
