import { getSecret } from '@aws-lambda-powertools/parameters/secrets';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { SLACK_RESPONSE_URL, postToSlack } from '#core/adapters/slack.ts';
import { SsmCommandRunner } from '#core/adapters/ssm.ts';
import { S3ArchiveStore } from '#core/archive-store.ts';
import { SfnRecoveryEngine } from '#core/adapters/stepfunctions.ts';
import { DynamoDbCatalog } from '#core/catalog/dynamodb-catalog.ts';
import { policyFromJson } from '#core/policy.ts';
import { RecoveryService } from '#core/recovery/service.ts';
import { cancelRestore } from '#core/restore/cancel.ts';
import { RestoreService } from '#core/restore/service.ts';
import { loadBundledDocument } from '#core/runbooks/bundled-document.ts';
import type { SlackDeps } from '#core/slack/app.ts';
import { DynamoDbSlackStore } from '#core/slack/plans.ts';
import { documentClient } from '../commons/clients/dynamodb.ts';
import { logsClient } from '../commons/clients/logs.ts';
import { s3Client } from '../commons/clients/s3.ts';
import { sfnClient } from '../commons/clients/sfn.ts';
import { sqsClient } from '../commons/clients/sqs.ts';
import { ssmClient } from '../commons/clients/ssm.ts';
import { SlackEnv } from './env.ts';

/** What both Slack functions share, built once per container. */
export function slackDeps(): SlackDeps {
  const env = SlackEnv.parse(process.env);
  const catalog = new DynamoDbCatalog(documentClient, env.TABLE_NAME);
  const ssm = new SsmCommandRunner(ssmClient, logsClient, {
    restoreDocumentName: env.RESTORE_DOCUMENT_NAME,
    cancelDocumentName: env.CANCEL_DOCUMENT_NAME,
    outputLogGroup: env.OUTPUT_LOG_GROUP,
  });
  const service = new RestoreService(
    { catalog, store: new S3ArchiveStore(s3Client, env.BUCKET_NAME), runner: ssm, instances: ssm },
    { document: loadBundledDocument('restore-volume'), helperImage: env.HELPER_IMAGE, policy: policyFromJson(env.LIFEBOAT_POLICY) },
  );
  return {
    service,
    // Plans and starts recoveries only: the state machine's tasks (launch, member callbacks, the report) run in the recovery tasks function.
    ...(env.RECOVERY_STATE_MACHINE_ARN
      ? {
          recovery: new RecoveryService({
            catalog,
            restores: service,
            instances: ssm,
            protect: env.LIFEBOAT_PROTECT,
            engine: new SfnRecoveryEngine(sfnClient, env.RECOVERY_STATE_MACHINE_ARN),
          }),
        }
      : {}),
    catalog,
    // The protect config's containers: a restore naming none stops and restarts the volume's (never the manifest's).
    protect: env.LIFEBOAT_PROTECT,
    access: { teamIds: env.SLACK_TEAM_IDS, channelIds: env.SLACK_CHANNEL_IDS, userIds: env.SLACK_USER_IDS, sources: env.SLACK_USER_SOURCES },
    plans: new DynamoDbSlackStore(documentClient, env.TABLE_NAME),
    cancel: (id, requestedBy) => cancelRestore({ catalog, runner: ssm }, id, requestedBy),
    planSeconds: env.SLACK_PLAN_SECONDS,
    // Cached across invocations for 5 minutes (Powertools Parameters); never logged, never in the environment.
    signingSecret: async () => {
      const value = await getSecret(env.SIGNING_SECRET_ARN, { maxAge: 300 });
      if (typeof value !== 'string' || value.length < 16) throw new Error('the Slack signing secret is not set');
      return value;
    },
    responseUrlPattern: SLACK_RESPONSE_URL,
    enqueue: async (work) => {
      await sqsClient.send(new SendMessageCommand({ QueueUrl: env.WORK_QUEUE_URL, MessageBody: JSON.stringify(work) }));
    },
    post: (url, message) => postToSlack(url, message),
    // Lambda sets AWS_REGION: answers name it, so the primary's app and the DR stack's are told apart.
    region: process.env.AWS_REGION,
  };
}
