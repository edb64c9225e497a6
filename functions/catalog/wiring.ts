import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { parser } from '@aws-lambda-powertools/parser/middleware';
import middy from '@middy/core';
import { S3ArchiveStore } from '#core/archive-store.ts';
import { DynamoDbCatalog } from '#core/catalog/dynamodb-catalog.ts';
import {
  ingestCreated,
  ingestDeleted,
  reconcile as reconcileCatalog,
  type IngestDeps,
  type IngestOutcome,
  type ReconcileReport,
} from '#core/catalog/ingest.ts';
import { documentClient } from '../commons/clients/dynamodb.ts';
import { s3Client } from '../commons/clients/s3.ts';
import { S3ObjectEvent } from '../commons/event-schemas.ts';
import { lifeboatLogger } from '../commons/logger.ts';
import { CatalogEnv } from './env.ts';

const env = CatalogEnv.parse(process.env);
const logger = lifeboatLogger('lifeboat-catalog');
const deps: IngestDeps = {
  store: new S3ArchiveStore(s3Client, env.BUCKET_NAME),
  catalog: new DynamoDbCatalog(documentClient, env.TABLE_NAME),
  prefix: env.ARCHIVE_PREFIX,
  bucket: env.BUCKET_NAME,
  warn: (message, details) => {
    logger.warn(message, details);
  },
};

/**
 * S3 "Object Created" / "Object Deleted" (EventBridge) -> catalog entry. Whoever wrote the object
 * (a backup host, or S3 Replication writing a replica into the DR bucket) makes no difference:
 * the entry is what this bucket holds, read back with HeadObject.
 */
export async function onObjectEvent(d: IngestDeps, event: S3ObjectEvent): Promise<IngestOutcome> {
  const key = event.detail.object.key;
  const bucket = event.detail.bucket.name;
  if (d.bucket !== undefined && bucket !== d.bucket) {
    const reason = `the event is for bucket ${bucket.slice(0, 63)} (${event.region}); this catalog serves ${d.bucket}`;
    d.warn?.('skipped object', { key: key.slice(0, 300), reason });
    return { action: 'skipped', key: key.slice(0, 300), reason };
  }
  return event['detail-type'] === 'Object Deleted' ? ingestDeleted(d, key) : ingestCreated(d, key);
}

export const handler = middy<S3ObjectEvent, IngestOutcome>()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(parser({ schema: S3ObjectEvent }))
  .handler(async (event) => {
    const outcome = await onObjectEvent(deps, event);
    logger.info('catalog event handled', { outcome, bucket: event.detail.bucket.name, region: event.region });
    return outcome;
  });

/** Rebuilds the catalog from the bucket listing (invoke by hand or on a schedule). */
export const reconcile = middy<unknown, ReconcileReport>()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .handler(async () => {
    const report = await reconcileCatalog(deps);
    logger.info('reconcile finished', { report });
    return report;
  });
