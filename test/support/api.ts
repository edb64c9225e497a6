import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { IdempotencyConfig } from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { ROOT } from '#core/paths.ts';
import type { Catalog } from '#core/catalog/model.ts';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { SSMClient } from '@aws-sdk/client-ssm';
import { SsmCommandRunner } from '#core/adapters/ssm.ts';
import type { InstanceTagReader } from '#core/adapters/ec2-tags.ts';
import type { CommandRunner } from '#core/restore/ports.ts';
import { S3ArchiveStore } from '#core/archive-store.ts';
import { DynamoDbCatalog } from '#core/catalog/dynamodb-catalog.ts';
import { startLocalDynamo, type LocalDynamo } from '#core/local/dynamodb.ts';
import { startLocalS3, type LocalS3 } from '#core/local/s3.ts';
import { loadDocument } from '#core/runbooks/document.ts';
import { RestoreService } from '#core/restore/service.ts';
import { RestorePolicy } from '#core/policy.ts';
import { BackupService } from '#core/backup/service.ts';
import { handleApi, idempotentBackup, idempotentStart, type BackupApiDeps } from '#root/functions/restore-api/app.ts';
import { errorToResponse } from '#root/functions/commons/http-errors.ts';

/** A captured API Gateway event (POST /sources/db1/restores) from test/events, with changes. */
export function apiEvent(changes: Partial<APIGatewayProxyEvent> & { bodyJson?: unknown }): APIGatewayProxyEvent {
  const base = JSON.parse(readFileSync(join(ROOT, 'test/events/apigw/post-source-restores.json'), 'utf8')) as APIGatewayProxyEvent;
  const { bodyJson, ...rest } = changes;
  // A body naming its source is posted under that source's path, as the CLI does.
  const named = (bodyJson as { source?: unknown } | undefined)?.source;
  const path = typeof named === 'string' && rest.pathParameters === undefined ? { path: `/sources/${named}/restores`, pathParameters: { source: named } } : {};
  return { ...base, ...path, ...rest, ...(bodyJson !== undefined ? { body: JSON.stringify(bodyJson) } : {}) };
}

/**
 * An API Gateway event for one route as the stage delivers it: `resource` is the route's
 * template, `path` the concrete path, `pathParameters` what the template captured.
 */
export function routeEvent(method: string, path: string, changes: Partial<APIGatewayProxyEvent> & { bodyJson?: unknown } = {}): APIGatewayProxyEvent {
  const parts = path.split('/').filter(Boolean);
  const pathParameters: Record<string, string> = {};
  let resource = path;
  if (parts[0] === 'sources' && parts[1] !== undefined) {
    pathParameters.source = decodeURIComponent(parts[1]);
    const rest = parts.slice(2);
    const withId = rest[0] === 'restores' || rest[0] === 'backups' || rest[0] === 'recoveries';
    if (withId && rest[1] !== undefined) pathParameters.id = decodeURIComponent(rest[1]);
    resource = ['', 'sources', '{source}', ...rest.map((p, i) => (i === 1 && withId ? '{id}' : p))].join('/');
  }
  return apiEvent({
    httpMethod: method,
    path,
    resource,
    pathParameters: Object.keys(pathParameters).length > 0 ? pathParameters : null,
    body: null,
    ...changes,
  });
}

/** Host tags as EC2 would answer them, set by each test (an instance with none has no tags). */
export class FakeInstanceTags implements InstanceTagReader {
  readonly tags = new Map<string, Record<string, string>>();
  readonly calls: string[] = [];
  tag(instanceId: string, key: string): Promise<string | undefined> {
    this.calls.push(instanceId);
    return Promise.resolve(this.tags.get(instanceId)?.[key]);
  }
}

/** For tests that never cancel: any use of the runner through the API says so. */
const cancelNotWired: CommandRunner = new Proxy({} as CommandRunner, {
  get: () => () => Promise.reject(new Error('this test wired no runner into the API (pass one to localApi)')),
});

/** The restore API as the Lambda wires it (idempotency on a DynamoDB-compatible table), minus middy. */
export async function localApi(
  service: RestoreService,
  catalog: Catalog,
  dynamo: LocalDynamo,
  runner: CommandRunner = cancelNotWired,
  backupService?: BackupService,
): Promise<(event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult>> {
  const config = new IdempotencyConfig({ eventKeyJmesPath: '[principal, key]', payloadValidationJmesPath: 'request', expiresAfterSeconds: 3600 });
  const tableName = await dynamo.createIdempotencyTable();
  const startIdempotent = idempotentStart(service, new DynamoDBPersistenceLayer({ tableName, awsSdkV3Client: dynamo.client }), config);
  // As in the Lambda: backups share the table through their own persistence layer (own key prefix).
  const backups: BackupApiDeps | undefined = backupService && {
    service: backupService,
    startIdempotent: idempotentBackup(backupService, new DynamoDBPersistenceLayer({ tableName, awsSdkV3Client: dynamo.client }), config),
  };
  return async (event) => {
    try {
      return await handleApi({ service, catalog, runner, startIdempotent, backups }, event);
    } catch (e) {
      return errorToResponse(e, 'test-request', (err) => {
        if (process.env.LIFEBOAT_TEST_VERBOSE) console.error(err);
      });
    }
  };
}

/** The backup-volume document's deployed name in these tests. */
export const BACKUP_DOCUMENT = 'Lifeboat-Backup';

/** The restore API wired as in the stack on S3- and DynamoDB-compatible servers, SSM through its (mocked) client. */
export interface ApiStack {
  readonly s3: LocalS3;
  readonly dynamo: LocalDynamo;
  readonly catalog: DynamoDbCatalog;
  readonly store: S3ArchiveStore;
  readonly runner: SsmCommandRunner;
  /** The EC2 tags the SSM adapter reads (`lifeboat:sources`); SSM's own calls go through its mocked client. */
  readonly hostTags: FakeInstanceTags;
  readonly api: (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult>;
  close(): Promise<void>;
}

export async function startApiStack(region = 'eu-west-1'): Promise<ApiStack> {
  const s3 = await startLocalS3();
  const dynamo = await startLocalDynamo();
  const catalog = new DynamoDbCatalog(dynamo.doc, await dynamo.createCatalogTable());
  const store = new S3ArchiveStore(s3.client, s3.bucket);
  const hostTags = new FakeInstanceTags();
  const runner = new SsmCommandRunner(new SSMClient({ region }), new CloudWatchLogsClient({ region }), {
    restoreDocumentName: 'Lifeboat-Restore',
    backupDocumentName: BACKUP_DOCUMENT,
    outputLogGroup: '/lifeboat/commands',
    ec2Tags: hostTags,
  });
  const backups = new BackupService(
    { runner, instances: runner },
    {
      document: loadDocument('backup-volume'),
      documentName: BACKUP_DOCUMENT,
      bucket: s3.bucket,
      prefix: 'archives',
      region,
      helperImage: 'local/lifeboat-helper:1',
    },
  );
  const service = new RestoreService(
    { catalog, store, runner, instances: runner },
    { document: loadDocument('restore-volume'), helperImage: 'local/lifeboat-helper:1', policy: RestorePolicy.parse({ allowedImages: ['postgres'] }) },
  );
  return {
    s3,
    dynamo,
    catalog,
    store,
    runner,
    hostTags,
    api: await localApi(service, catalog, dynamo, runner, backups),
    async close() {
      await s3.close();
      await dynamo.close();
    },
  };
}
