import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { SlackWork, performSlackWork } from '#core/slack/app.ts';
import { lifeboatLogger } from '../commons/logger.ts';
import { slackDeps } from './deps.ts';

const logger = lifeboatLogger('lifeboat-slack-worker');
const deps = slackDeps();

/** The queue's consumer: does what a Slack request asked and posts the answer to its response_url. */
export const handler = middy<SQSEvent, SQSBatchResponse>()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .handler(async (event) => {
    const batchItemFailures: SQSBatchResponse['batchItemFailures'] = [];
    for (const record of event.Records) {
      const work = SlackWork.safeParse(JSON.parse(record.body));
      if (!work.success) {
        logger.error('dropped a malformed work item', { messageId: record.messageId });
        continue;
      }
      try {
        await performSlackWork(deps, work.data);
      } catch (e) {
        logger.error('Slack work failed', { messageId: record.messageId, kind: work.data.kind, error: e as Error });
        batchItemFailures.push({ itemIdentifier: record.messageId });
      }
    }
    return { batchItemFailures };
  });
