import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { S3EventNotificationEventBridgeSchema } from '@aws-lambda-powertools/parser/schemas/s3';
import { APIGatewayProxyEventSchema } from '@aws-lambda-powertools/parser/schemas/api-gateway';
import { describe, expect, it } from 'vitest';
import { ROOT } from '#core/paths.ts';
import type { ArchiveEntry, Catalog } from '#core/catalog/model.ts';
import type { ArchiveStore } from '#core/archive-store.ts';
import { CommandInvocationEvent } from '#root/functions/command-finished/schema.ts';
import { replicaBucketName } from '#core/replication.ts';
import { S3ObjectEvent } from '#root/functions/commons/event-schemas.ts';

const fixture = (path: string): unknown => JSON.parse(readFileSync(join(ROOT, 'test/events', path), 'utf8'));

describe('captured AWS events parse with the schemas the handlers use', () => {
  it('S3 "Object Created" via EventBridge (Lifeboat\'s lighter schema accepts what Powertools\' does)', () => {
    const event = S3ObjectEvent.parse(fixture('s3/object-created.json'));
    expect(event.detail.object.key).toBe('archives/db1/pgdata/20261127T031500Z.tar.zst');
    expect(S3EventNotificationEventBridgeSchema.parse(fixture('s3/object-created.json')).detail.object.key).toBe(event.detail.object.key);
  });
  it('S3 "Object Created" of a replica in the DR bucket (built from the documented shape, not captured) parses with both schemas', () => {
    // S3 user guide, "EventBridge event message structure": `requester` is an account id or an AWS
    // service principal, `source-ip-address` only present for events an S3 request caused.
    const event = S3ObjectEvent.parse(fixture('s3/object-created-replica.json'));
    expect(event).toMatchObject({
      region: 'eu-central-1',
      detail: { bucket: { name: 'lifeboat-replica-123456789012-eu-central-1' }, requester: 's3.amazonaws.com' },
    });
    expect(event.detail.bucket.name).toBe(replicaBucketName(event.account, event.region));
    expect(S3EventNotificationEventBridgeSchema.parse(fixture('s3/object-created-replica.json')).detail.object.key).toBe(event.detail.object.key);
  });
  it('anything but an S3 object event is refused', () => {
    expect(S3ObjectEvent.safeParse({ ...(fixture('s3/object-created.json') as object), source: 'aws.ec2' }).success).toBe(false);
    expect(S3ObjectEvent.safeParse({ ...(fixture('s3/object-created.json') as object), 'detail-type': 'Object Restore Completed' }).success).toBe(false);
  });
  it('SSM "EC2 Command Invocation Status-change Notification"', () => {
    const event = CommandInvocationEvent.parse(fixture('ssm/invocation-success.json'));
    expect(event.detail).toMatchObject({ status: 'Success', 'instance-id': 'i-0123456789abcdef0' });
  });
  it('SSM command-level events (which carry parameters in clear) are not accepted as invocation events', () => {
    const commandLevel = { ...(fixture('ssm/invocation-success.json') as object), 'detail-type': 'EC2 Command Status-change Notification' };
    expect(CommandInvocationEvent.safeParse(commandLevel).success).toBe(false);
  });
  it('API Gateway REST proxy request with an IAM caller', () => {
    const event = APIGatewayProxyEventSchema.parse(fixture('apigw/post-restores.json'));
    expect(event.requestContext.identity.userArn).toBe('arn:aws:sts::123456789012:assumed-role/OnCall/oncall');
  });
});

describe('catalog handler business function', () => {
  it('routes Object Created to ingest with the key as the event carries it', async () => {
    process.env.TABLE_NAME ??= 'tbl';
    process.env.BUCKET_NAME ??= 'bkt';
    process.env.ARCHIVE_PREFIX ??= 'archives';
    const { onObjectEvent } = await import('#root/functions/catalog/index.ts');
    const put: ArchiveEntry[] = [];
    const catalog = {
      putArchive: (e: ArchiveEntry) => {
        put.push(e);
        return Promise.resolve();
      },
      getArchive: () => Promise.resolve(undefined),
    } as unknown as Catalog;
    const store: ArchiveStore = {
      head: () => Promise.resolve({ size: 60817408, etag: '"b1946ac9"' }),
      getText: () => Promise.resolve(undefined),
      presignGet: () => Promise.reject(new Error('not used')),
      listKeys: async function* () {
        /* not used */
      },
    };
    const event = S3ObjectEvent.parse(fixture('s3/object-created.json'));
    expect(await onObjectEvent({ store, catalog }, event)).toEqual({ action: 'cataloged', key: event.detail.object.key, withManifest: false });
    expect(put[0]).toMatchObject({ source: 'db1', volume: 'pgdata', takenAt: '2026-11-27T03:15:00Z', size: 60817408, compression: 'zstd' });
    // The function serves one bucket: an event naming another is skipped, never looked up.
    expect(await onObjectEvent({ store, catalog, bucket: 'lifeboat-replica-123456789012-eu-central-1' }, event)).toMatchObject({
      action: 'skipped',
      reason: 'the event is for bucket lifeboat-archives (eu-west-1); this catalog serves lifeboat-replica-123456789012-eu-central-1',
    });
    expect(put).toHaveLength(1);
  });
});
