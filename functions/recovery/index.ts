import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit, Metrics } from '@aws-lambda-powertools/metrics';
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
import { RECOVERY_ERRORS, RecoveryDrillConfig, type RecoveryTasks } from '#core/recovery/model.ts';
import { RecoveryService, type RecoveryMetrics } from '#core/recovery/service.ts';
import { runRecoveryTask } from '#core/recovery/tasks.ts';
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
import { EXECUTION_ENDED_ERROR_PREFIX, RecoveryTasksEnv } from './env.ts';

/**
 * Powertools metrics of finished recoveries. A recovery drill's outcome is published per source
 * (RecoveryDrillFailed 0/1: the recovery drill alarm watches it), with its total time.
 */
export function recoveryMetrics(metrics: Metrics): RecoveryMetrics {
  return {
    recoveryFinished: ({ source, mode, outcome, totalSeconds }) => {
      const ok = outcome === 'succeeded';
      if (mode === 'drill') {
        const single = metrics.singleMetric();
        single.addDimensions({ Source: source });
        single.addMetric('RecoveryDrillFailed', MetricUnit.Count, ok ? 0 : 1);
        single.addMetric('RecoveryDrillSeconds', MetricUnit.Seconds, totalSeconds);
      } else {
        metrics.addMetric(ok ? 'RecoverySucceeded' : 'RecoveryNotSucceeded', MetricUnit.Count, 1);
        metrics.addMetric('RecoverySeconds', MetricUnit.Seconds, totalSeconds);
      }
    },
  };
}

/** The recovery id of a report the execution-ended rule sent (not the state machine), else undefined. */
function executionEndedReport(payload: unknown): string | undefined {
  const p = payload as { task?: unknown; input?: { recoveryId?: unknown; error?: { Error?: unknown } } } | null;
  const error = p?.input?.error?.Error;
  return p?.task === 'report' && typeof error === 'string' && error.startsWith(EXECUTION_ENDED_ERROR_PREFIX) && typeof p.input?.recoveryId === 'string'
    ? p.input.recoveryId
    : undefined;
}

/**
 * The function's business: one state machine task, dispatched by runRecoveryTask (the local runner
 * calls the same). A report from the execution-ended rule for an execution that is no recovery (a
 * scheduled drill's execution has a generated name, its recovery another id) is ignored, not an
 * error: the rule fires for every failed, timed-out or aborted execution.
 */
export const runTask =
  (tasks: RecoveryTasks, log?: (message: string, recoveryId: string) => void) =>
  async (payload: unknown): Promise<unknown> => {
    try {
      return await runRecoveryTask(tasks, payload);
    } catch (e) {
      const ended = executionEndedReport(payload);
      if (ended === undefined || !(e instanceof Error) || e.name !== RECOVERY_ERRORS.notRunnable) throw e;
      log?.('an ended execution names no recovery: nothing to report', ended);
      return { ignored: `no recovery ${ended}` };
    }
  };

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
