import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { handleSlackHttp } from '#core/slack/app.ts';
import { lifeboatLogger } from '../commons/logger.ts';
import { slackDeps } from './deps.ts';

const logger = lifeboatLogger('lifeboat-slack');
const deps = slackDeps();

/**
 * POST /slack/commands and /slack/interactions (no IAM auth: Slack request signing,
 * checked first thing over the raw body, each signed request accepted once). Answers within Slack's 3 seconds; the
 * work goes to the queue.
 */
export const handler = middy<APIGatewayProxyEvent, APIGatewayProxyResult>()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .handler(async (event) => {
    const rawBody = event.isBase64Encoded && event.body ? Buffer.from(event.body, 'base64').toString('utf8') : (event.body ?? '');
    const path = event.resource === '/slack/interactions' ? '/slack/interactions' : '/slack/commands';
    const headers = Object.fromEntries(Object.entries(event.headers).map(([k, v]) => [k, v ?? undefined]));
    try {
      const answer = await handleSlackHttp(deps, { path, headers, rawBody });
      if (answer.statusCode === 401) logger.warn('refused a Slack request', { why: answer.body, path, sourceIp: event.requestContext.identity.sourceIp });
      return answer;
    } catch (e) {
      logger.error('Slack request failed', e as Error);
      return {
        statusCode: 200,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ response_type: 'ephemeral', text: 'Lifeboat hit an internal error; nothing was sent.' }),
      };
    }
  });
