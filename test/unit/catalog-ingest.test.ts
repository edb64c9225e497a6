/**
 * Catalog ingest against a compromised host, which may write (and delete) anything under its own
 * source's prefix: an archive key once cataloged is never cataloged again with another S3
 * version, also after its entry was marked deleted; a manifest rewritten after cataloging never
 * replaces the cataloged one. Either is refused, the catalog left as it was, and reported.
 */
import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand, type PutCommandInput } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { ArchiveStore, ObjectHead } from '#core/archive-store.ts';
import { DynamoDbCatalog } from '#core/catalog/dynamodb-catalog.ts';
import { ingestCreated, type IngestDeps } from '#core/catalog/ingest.ts';
import type { ArchiveEntry } from '#core/catalog/model.ts';

const dynamoMock = mockClient(DynamoDBDocumentClient);
const TABLE = 'catalog';
const KEY = 'archives/db1/pgdata/20261127T031500Z.tar.zst';
const POINTER = { pk: `ARCHIVE#${KEY}`, sk: 'ARCHIVE' };
const LIVE = { pk: 'ARCHIVES#db1#pgdata', sk: `2026-11-27T03:15:00Z#${KEY}` };
const DELETED = { pk: 'DELETED#db1#pgdata', sk: LIVE.sk };

const manifestFor = (sha256: string) => ({
  lifeboat: 'archive-manifest',
  version: 1,
  archiveKey: KEY,
  createdAt: '2026-11-27T03:15:02Z',
  source: 'db1',
  backupId: 'b-1',
  sha256,
  compression: 'zstd',
  compressedBytes: 1234,
  uncompressedBytes: 50_000,
  fileCount: 3,
  consistency: 'pause',
  volume: { name: 'pgdata', driver: 'local', driverOpts: null, labels: null },
  hostPath: null,
  mountPath: '/var/lib/postgresql/data',
  container: null,
});
const GOOD: ArchiveEntry = {
  key: KEY,
  source: 'db1',
  volume: 'pgdata',
  takenAt: '2026-11-27T03:15:00Z',
  compression: 'zstd',
  size: 1234,
  versionId: 'v-good',
  sha256: 'ab'.repeat(32),
  catalogedAt: '2026-11-27T03:16:00Z',
};

/** The bucket as the compromised host left it: `head` of the key and its manifest's text. */
const bucket = (head: ObjectHead, manifest: unknown): ArchiveStore => ({
  head: () => Promise.resolve(head),
  getText: () => Promise.resolve(JSON.stringify(manifest)),
  presignGet: () => Promise.reject(new Error('not used')),
  listKeys: () => (async function* () {})(),
});

/** A conditional put on the key's pointer passes only for the version it holds (as DynamoDB would evaluate it). */
const pointerHolds = (versionId: string) => (input: PutCommandInput) => {
  if (input.Item?.pk === POINTER.pk && input.ConditionExpression !== undefined && input.ExpressionAttributeValues?.[':v'] !== versionId) {
    throw new ConditionalCheckFailedException({ $metadata: {}, message: 'The conditional request failed' });
  }
  return {};
};

const warn = vi.fn<NonNullable<IngestDeps['warn']>>();
const deps = (store: ArchiveStore): IngestDeps => ({
  store,
  catalog: new DynamoDbCatalog(DynamoDBDocumentClient.from(new DynamoDBClient({})), TABLE),
  warn,
  now: () => new Date('2026-12-01T00:00:00Z'),
});

describe('catalog ingest: a host substituting a cataloged archive or manifest', () => {
  beforeEach(() => {
    dynamoMock.reset();
    warn.mockReset();
    dynamoMock.on(GetCommand).resolves({});
    dynamoMock.on(GetCommand, { Key: POINTER }).resolves({ Item: { ...POINTER, archivePk: LIVE.pk, archiveSk: LIVE.sk, versionId: 'v-good' } });
    dynamoMock.on(PutCommand).callsFake(pointerHolds('v-good'));
  });

  it('an archive deleted and written again with another S3 version (and a matching manifest) is refused, the catalog unchanged, and reported as a suspected substitution', async () => {
    // Prepare: the known-good archive was deleted (a delete marker): only its DELETED# entry remains.
    dynamoMock
      .on(GetCommand, { Key: DELETED })
      .resolves({ Item: { ...DELETED, ...GOOD, manifest: manifestFor(GOOD.sha256 ?? ''), deletedAt: '2026-11-30T00:00:00Z' } });
    const store = bucket({ size: 99, versionId: 'v-evil' }, manifestFor('cd'.repeat(32)));

    // Act
    const outcome = await ingestCreated(deps(store), KEY, { decoded: true });

    // Assess: skipped and logged; nothing but the refused pin was written (no live entry, the deleted one untouched).
    expect(outcome).toMatchObject({ action: 'skipped', key: KEY, reason: expect.stringContaining('suspected substitution') as unknown });
    expect(warn).toHaveBeenCalledWith('skipped object', { key: KEY, reason: expect.stringMatching(/v-evil.*v-good was deleted/) as unknown });
    for (const put of dynamoMock.commandCalls(PutCommand))
      expect(put.args[0].input).toMatchObject({ Item: { pk: POINTER.pk }, ConditionExpression: expect.any(String) as unknown });
    expect(dynamoMock).not.toHaveReceivedCommandWith(PutCommand, { Item: expect.objectContaining({ pk: LIVE.pk }) as unknown as Record<string, unknown> });
    expect(dynamoMock).not.toHaveReceivedCommand(UpdateCommand);
    expect(dynamoMock).not.toHaveReceivedCommand(DeleteCommand);
  });

  it('a manifest rewritten after cataloging (the same S3 version of the archive) is refused, the first one kept, and reported', async () => {
    // Prepare: the archive is live, cataloged with its manifest.
    dynamoMock.on(GetCommand, { Key: LIVE }).resolves({ Item: { ...LIVE, ...GOOD, manifest: manifestFor(GOOD.sha256 ?? '') } });
    const store = bucket({ size: 1234, versionId: 'v-good' }, manifestFor('cd'.repeat(32)));

    // Act
    const outcome = await ingestCreated(deps(store), `${KEY}.manifest.json`, { decoded: true });

    // Assess
    expect(outcome).toMatchObject({ action: 'skipped', key: KEY, reason: expect.stringContaining('suspected substitution') as unknown });
    expect(warn).toHaveBeenCalledWith('skipped object', { key: KEY, reason: expect.stringContaining('manifest') as unknown });
    expect(dynamoMock).not.toHaveReceivedCommand(PutCommand);
    expect(dynamoMock).not.toHaveReceivedCommand(UpdateCommand);
  });
});

describe('catalog ingest: a host dating a key in the future to pin "latest"', () => {
  const FUTURE = 'archives/db1/pgdata/20991231T235959Z.tar.zst';
  const UPLOADED = '2026-11-27T03:15:30.000Z';

  beforeEach(() => {
    dynamoMock.reset();
    warn.mockReset();
    dynamoMock.on(GetCommand).resolves({});
    dynamoMock.on(PutCommand).resolves({});
  });

  it('an archive whose key time is later than its S3 LastModified is refused, nothing cataloged, and reported as a suspected attempt to pin "latest"', async () => {
    // Prepare: the object was written (S3 LastModified) in 2026, its key claims 2099.
    const store = bucket({ size: 1234, versionId: 'v-evil', lastModified: UPLOADED }, { ...manifestFor('cd'.repeat(32)), archiveKey: FUTURE });

    // Act: the archive's own event, and its manifest's.
    const outcomes = [
      await ingestCreated(deps(store), FUTURE, { decoded: true }),
      await ingestCreated(deps(store), `${FUTURE}.manifest.json`, { decoded: true }),
    ];

    // Assess: both refused, loudly, and the catalog never written.
    for (const outcome of outcomes)
      expect(outcome).toMatchObject({ action: 'skipped', key: FUTURE, reason: expect.stringContaining('pin "latest"') as unknown });
    expect(warn).toHaveBeenCalledTimes(2);
    expect(warn).toHaveBeenCalledWith('skipped object', {
      key: FUTURE,
      reason: expect.stringMatching(
        /^the key's time 2099-12-31T23:59:59Z is \d+ s in the future of its upload \(2026-11-27T03:15:30\.000Z.*suspected attempt to pin "latest"/,
      ) as unknown,
    });
    expect(dynamoMock).not.toHaveReceivedCommand(PutCommand);
    expect(dynamoMock).not.toHaveReceivedCommand(UpdateCommand);
  });

  it('without a LastModified, the ingest clock stands in: a key more than 5 minutes after it is refused', async () => {
    // Prepare: deps' clock is 2026-12-01T00:00:00Z; the store gives no LastModified.
    const store = bucket({ size: 1234, versionId: 'v-evil' }, undefined);

    // Act
    const outcome = await ingestCreated(deps(store), 'archives/db1/pgdata/20261201T000501Z.tar.zst', { decoded: true });

    // Assess
    expect(outcome).toMatchObject({
      action: 'skipped',
      reason: expect.stringMatching(/301 s in the future of its upload \(2026-12-01T00:00:00\.000Z, when this ingest ran/) as unknown,
    });
    expect(dynamoMock).not.toHaveReceivedCommand(PutCommand);
  });

  it('a host clock a little ahead is clock skew: up to 5 minutes after LastModified is cataloged, a second more is refused', async () => {
    // Prepare: two archives uploaded at the same moment, their keys 300 s and 301 s after it.
    const store = bucket({ size: 1234, versionId: 'v-1', lastModified: '2026-11-27T03:15:00.000Z' }, undefined);
    const atAllowance = 'archives/db1/pgdata/20261127T032000Z.tar.zst';
    const beyond = 'archives/db1/pgdata/20261127T032001Z.tar.zst';

    // Act
    const skewed = await ingestCreated(deps(store), atAllowance, { decoded: true });
    const refused = await ingestCreated(deps(store), beyond, { decoded: true });

    // Assess: only the first is in the catalog.
    expect(skewed).toEqual({ action: 'cataloged', key: atAllowance, withManifest: false });
    expect(refused).toMatchObject({ action: 'skipped', key: beyond, reason: expect.stringContaining('301 s in the future of its upload') as unknown });
    expect(dynamoMock).toHaveReceivedCommandWith(PutCommand, { Item: expect.objectContaining({ key: atAllowance }) as unknown as Record<string, unknown> });
    expect(dynamoMock).not.toHaveReceivedCommandWith(PutCommand, { Item: expect.objectContaining({ key: beyond }) as unknown as Record<string, unknown> });
  });
});
