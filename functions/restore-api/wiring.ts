import { IdempotencyConfig } from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit, Metrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { S3ArchiveStore } from '#core/archive-store.ts';
import { DynamoDbCatalog } from '#core/catalog/dynamodb-catalog.ts';
import { SsmCommandRunner } from '#core/adapters/ssm.ts';
import { BackupService } from '#core/backup/service.ts';
import { SfnRecoveryEngine } from '#core/adapters/stepfunctions.ts';
import { ProtectionPolicy } from '#core/protection.ts';
import { RecoveryService } from '#core/recovery/service.ts';
import { policyFromJson } from '#core/policy.ts';
import { RestoreService } from '#core/restore/service.ts';
import { loadBundledDocument } from '#core/runbooks/bundled-document.ts';
import { documentClient, dynamoDbClient } from '../commons/clients/dynamodb.ts';
import { logsClient } from '../commons/clients/logs.ts';
import { s3Client } from '../commons/clients/s3.ts';
import { sfnClient } from '../commons/clients/sfn.ts';
import { ssmClient } from '../commons/clients/ssm.ts';
import { httpErrors } from '../commons/http-errors.ts';
import { lifeboatLogger } from '../commons/logger.ts';
import { type BackupApiDeps, type RecoveryApiDeps, handleApi, idempotentBackup, idempotentRecovery, idempotentStart } from './app.ts';
import { RestoreApiEnv } from './env.ts';

const env = RestoreApiEnv.parse(process.env);
const logger = lifeboatLogger('lifeboat-restore-api');
const metrics = new Metrics({ serviceName: 'lifeboat' });
const METRIC_OF = { restore: 'RestoreStarted', drill: 'DrillStarted', backup: 'BackupStarted', recovery: 'RecoveryStarted' } as const;
const started = (mode: keyof typeof METRIC_OF): void => {
  metrics.addMetric(METRIC_OF[mode], MetricUnit.Count, 1);
};
const catalog = new DynamoDbCatalog(documentClient, env.TABLE_NAME);
const ssm = new SsmCommandRunner(ssmClient, logsClient, {
  restoreDocumentName: env.RESTORE_DOCUMENT_NAME,
  cancelDocumentName: env.CANCEL_DOCUMENT_NAME,
  ...(env.BACKUP_DOCUMENT_NAME === '' ? {} : { backupDocumentName: env.BACKUP_DOCUMENT_NAME }),
  outputLogGroup: env.OUTPUT_LOG_GROUP,
});
const policy = policyFromJson(env.LIFEBOAT_POLICY);
const service = new RestoreService(
  { catalog, store: new S3ArchiveStore(s3Client, env.BUCKET_NAME), runner: ssm, instances: ssm },
  { document: loadBundledDocument('restore-volume'), helperImage: env.HELPER_IMAGE, policy },
);
const idempotencyConfig = new IdempotencyConfig({ eventKeyJmesPath: '[principal, key]', payloadValidationJmesPath: 'request', expiresAfterSeconds: 24 * 3600 });
const startIdempotent = idempotentStart(
  service,
  new DynamoDBPersistenceLayer({ tableName: env.IDEMPOTENCY_TABLE_NAME, awsSdkV3Client: dynamoDbClient }),
  idempotencyConfig,
);

/** Backups now, when the stack named the backup document. */
function backupsFrom(documentName: string): BackupApiDeps | undefined {
  if (documentName === '') return undefined;
  const backupService = new BackupService(
    { runner: ssm, instances: ssm },
    {
      document: loadBundledDocument('backup-volume'),
      documentName,
      bucket: env.BUCKET_NAME,
      prefix: env.ARCHIVE_PREFIX,
      region: env.ARCHIVE_REGION,
      helperImage: env.HELPER_IMAGE,
      // On a host serving several sources only these may be backed up, each for its own source.
      protectedVolumes: policy.volumes,
    },
  );
  return {
    service: backupService,
    // Its own persistence layer and key prefix: the same Idempotency-Key on a restore and on a backup are two keys.
    startIdempotent: idempotentBackup(
      backupService,
      new DynamoDBPersistenceLayer({ tableName: env.IDEMPOTENCY_TABLE_NAME, awsSdkV3Client: dynamoDbClient }),
      idempotencyConfig,
    ),
  };
}
const backups = backupsFrom(env.BACKUP_DOCUMENT_NAME);

/** Whole-host recoveries, when the stack gave the API the recovery state machine: planned here, run by Step Functions. */
function recoveriesFrom(stateMachineArn: string): RecoveryApiDeps | undefined {
  if (stateMachineArn === '') return undefined;
  const recoveryService = new RecoveryService({
    catalog,
    restores: service,
    instances: ssm,
    protect: ProtectionPolicy.array().parse(JSON.parse(env.LIFEBOAT_PROTECT)),
    engine: new SfnRecoveryEngine(sfnClient, stateMachineArn),
  });
  return {
    service: recoveryService,
    // Its own persistence layer and key prefix, as backups'.
    startIdempotent: idempotentRecovery(
      recoveryService,
      new DynamoDBPersistenceLayer({ tableName: env.IDEMPOTENCY_TABLE_NAME, awsSdkV3Client: dynamoDbClient }),
      idempotencyConfig,
    ),
  };
}
const recoveries = recoveriesFrom(env.RECOVERY_STATE_MACHINE_ARN);

export const handler = middy<APIGatewayProxyEvent, APIGatewayProxyResult>()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(logMetrics(metrics))
  .use(
    httpErrors({
      log: (e) => {
        logger.error('unhandled error', e as Error);
      },
    }),
  )
  .handler(async (event, context) => {
    idempotencyConfig.registerLambdaContext(context);
    return handleApi({ service, catalog, runner: ssm, startIdempotent, started, backups, recoveries }, event);
  });
