import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import * as z from 'zod';
import { Ec2HostLauncher } from '#core/adapters/ec2-launch.ts';
import { SfnTaskCallback } from '#core/adapters/stepfunctions.ts';
import { Notifiers, SlackNotifier } from '#core/adapters/slack.ts';
import { SnsNotifier } from '#core/adapters/sns.ts';
import { SsmCommandRunner } from '#core/adapters/ssm.ts';
import { S3ArchiveStore } from '#core/archive-store.ts';
import { DynamoDbCatalog } from '#core/catalog/dynamodb-catalog.ts';
import { policyFromJson } from '#core/policy.ts';
import { ProtectionPolicy } from '#core/protection.ts';
import { RecoveryDrillConfig } from '#core/recovery/model.ts';
import { RecoveryService } from '#core/recovery/service.ts';
import { RestoreService } from '#core/restore/service.ts';
import { loadBundledDocument } from '#core/runbooks/bundled-document.ts';
import { documentClient } from '../commons/clients/dynamodb.ts';
import { ec2Client } from '../commons/clients/ec2.ts';
import { logsClient } from '../commons/clients/logs.ts';
import { s3Client } from '../commons/clients/s3.ts';
import { sfnClient } from '../commons/clients/sfn.ts';
import { snsClient } from '../commons/clients/sns.ts';
import { ssmClient } from '../commons/clients/ssm.ts';
import { lifeboatLogger } from '../commons/logger.ts';
import { RecoveryTasksEnv } from './env.ts';
import { recoveryMetrics } from './metrics.ts';
import { runTask } from './tasks.ts';

const env = RecoveryTasksEnv.parse(process.env);
const logger = lifeboatLogger('lifeboat-recovery');
const metrics = new Metrics({ serviceName: 'lifeboat' });
const catalog = new DynamoDbCatalog(documentClient, env.TABLE_NAME);
const ssm = new SsmCommandRunner(ssmClient, logsClient, { restoreDocumentName: env.RESTORE_DOCUMENT_NAME, outputLogGroup: env.OUTPUT_LOG_GROUP });
const restores = new RestoreService(
  { catalog, store: new S3ArchiveStore(s3Client, env.BUCKET_NAME), runner: ssm, instances: ssm },
  { document: loadBundledDocument('restore-volume'), helperImage: env.HELPER_IMAGE, policy: policyFromJson(env.LIFEBOAT_POLICY) },
);
const service = new RecoveryService({
  catalog,
  restores,
  instances: ssm,
  protect: z.array(ProtectionPolicy).parse(JSON.parse(env.LIFEBOAT_PROTECT)),
  recoveryDrills: z.array(RecoveryDrillConfig).parse(JSON.parse(env.RECOVERY_DRILLS)),
  launchTemplates: z.array(z.string()).parse(JSON.parse(env.LAUNCH_TEMPLATES)),
  warn: (message, e) => {
    logger.warn(message, { error: String(e) });
  },
  // The report goes to everyone on the topic, and to the Slack requester of a Slack-started recovery.
  notifier: new Notifiers(
    new SnsNotifier(snsClient, env.TOPIC_ARN),
    new SlackNotifier({
      warn: (message, e) => {
        logger.warn(message, { error: String(e) });
      },
    }),
  ),
  launcher: new Ec2HostLauncher(ec2Client),
  // A replacement carries the Lifeboat tag (else it could not receive the restore document).
  launchTags: { [env.INSTANCE_TAG_KEY]: env.INSTANCE_TAG_VALUE },
  // A retried RestoreMember whose member already ended answers its new token at once.
  callback: new SfnTaskCallback(sfnClient, (message, e) => {
    logger.warn(message, { error: String(e) });
  }),
  findHost: (key, value) => ssm.onlineInstanceWithTag(key, value),
  metrics: recoveryMetrics(metrics),
});

/**
 * Every Task state of the recovery state machine invokes this function with `{task, input}`.
 * The payload is not logged (a member's carries its task token). A RecoveryTaskError keeps its
 * name (Lifeboat.…) as the Lambda error type, which the state machine's Catch matches.
 */
export const handler = middy<unknown, unknown>()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(logMetrics(metrics))
  .handler(
    runTask(service, (message, recoveryId) => {
      logger.info(message, { recoveryId });
    }),
  );
