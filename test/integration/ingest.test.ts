import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import { S3ArchiveStore, type ArchiveStore } from '#core/archive-store.ts';
import { DynamoDbCatalog } from '#core/catalog/dynamodb-catalog.ts';
import { ingestCreated, ingestDeleted, reconcile, type IngestDeps } from '#core/catalog/ingest.ts';
import { startLocalDynamo, type LocalDynamo } from '#core/local/dynamodb.ts';
import { startLocalS3, type LocalS3 } from '#core/local/s3.ts';

const manifestFor = (archiveKey: string, extra: Record<string, unknown> = {}): string =>
  JSON.stringify({
    lifeboat: 'archive-manifest',
    version: 1,
    archiveKey,
    createdAt: '2026-11-27T03:15:02Z',
    source: 'db1',
    backupId: 'b-1',
    sha256: 'ab'.repeat(32),
    compression: 'zstd',
    compressedBytes: 5,
    uncompressedBytes: 50,
    fileCount: 3,
    consistency: 'pause',
    volume: { name: 'pgdata', driver: 'local', driverOpts: null, labels: null },
    hostPath: null,
    mountPath: '/var/lib/postgresql/data',
    container: null,
    ...extra,
  });
// S3 puts keys in events URL-encoded, with + for a space.
const encode = (key: string): string => encodeURIComponent(key).replace(/%2F/g, '/').replace(/%20/g, '+');

describe('catalog ingest from S3 events, on an S3-compatible and a DynamoDB-compatible server', () => {
  let s3: LocalS3;
  let dynamo: LocalDynamo;
  let catalog: DynamoDbCatalog;
  let deps: IngestDeps;
  const warnings: string[] = [];

  beforeAll(async () => {
    s3 = await startLocalS3();
    dynamo = await startLocalDynamo();
    catalog = new DynamoDbCatalog(dynamo.doc, await dynamo.createCatalogTable());
    deps = { store: new S3ArchiveStore(s3.client, s3.bucket), catalog, warn: (m, d) => warnings.push(`${m}: ${String(d.reason)}`) };
  });
  afterAll(async () => {
    await s3.close();
    await dynamo.close();
  });

  it('catalogs an archive with its manifest (size from HeadObject, sha256 from the manifest)', async () => {
    const key = 'archives/db1/pgdata/20261127T031500Z.tar.zst';
    await s3.put(key, Buffer.alloc(1234));
    await s3.put(`${key}.manifest.json`, manifestFor(key));
    expect(await ingestCreated(deps, encode(key))).toEqual({ action: 'cataloged', key, withManifest: true });
    expect(await catalog.latestArchive('db1', 'pgdata')).toMatchObject({ key, size: 1234, sha256: 'ab'.repeat(32), compression: 'zstd' });
  });

  it('a manifest arriving after its archive completes the entry', async () => {
    const key = 'archives/db1/pgdata/20261127T041500Z.tar.zst';
    await s3.put(key, Buffer.alloc(10));
    expect(await ingestCreated(deps, encode(key))).toMatchObject({ withManifest: false });
    await s3.put(`${key}.manifest.json`, manifestFor(key));
    expect(await ingestCreated(deps, encode(`${key}.manifest.json`))).toMatchObject({ action: 'cataloged', key, withManifest: true });
    expect((await catalog.getArchive(key))?.sha256).toBe('ab'.repeat(32));
  });

  it('a manifest arriving before its archive (replication promises no order) is skipped, and the archive arriving next is cataloged with it', async () => {
    const key = 'archives/db2/arrive/20261127T031500Z.tar.zst';
    await s3.put(`${key}.manifest.json`, manifestFor(key));
    expect(await ingestCreated(deps, encode(`${key}.manifest.json`))).toMatchObject({
      action: 'skipped',
      key,
      reason: expect.stringContaining('its manifest arrived first') as unknown,
    });
    expect(await catalog.getArchive(key)).toBeUndefined();
    await s3.put(key, Buffer.alloc(77));
    expect(await ingestCreated(deps, encode(key))).toEqual({ action: 'cataloged', key, withManifest: true });
    expect(await catalog.latestArchive('db2', 'arrive')).toMatchObject({ key, size: 77, sha256: 'ab'.repeat(32) });
  });

  it('seen again (its manifest, a redelivered event, reconcile), an archive keeps when it was first cataloged and its drill proof', async () => {
    const s3c = await startLocalS3('lifeboat-seen-again');
    try {
      let now = new Date('2026-11-27T03:16:00Z');
      const again: IngestDeps = { store: new S3ArchiveStore(s3c.client, s3c.bucket), catalog, now: () => now };
      const key = 'archives/db3/pgdata/20261127T031500Z.tar.zst';
      await s3c.put(key, Buffer.alloc(10));
      expect(await ingestCreated(again, encode(key))).toMatchObject({ action: 'cataloged', withManifest: false });
      now = new Date('2026-11-27T03:30:00Z');
      await s3c.put(`${key}.manifest.json`, manifestFor(key));
      expect(await ingestCreated(again, encode(`${key}.manifest.json`))).toMatchObject({ action: 'cataloged', withManifest: true });
      const proof = { restoreId: 'r-1', archiveKey: key, at: '2026-11-27T04:00:00Z', outcome: 'succeeded' as const };
      await catalog.recordDrill('db3', 'pgdata', proof);

      now = new Date('2026-11-27T05:00:00Z');
      expect(await ingestCreated(again, encode(key))).toMatchObject({ action: 'cataloged', withManifest: true }); // redelivered
      expect(await reconcile(again)).toEqual({ listed: 2, cataloged: 1, skipped: 0 });
      expect(await catalog.getArchive(key)).toMatchObject({ catalogedAt: '2026-11-27T03:16:00.000Z', sha256: 'ab'.repeat(32), lastDrill: proof });
    } finally {
      await s3c.close();
    }
  });

  it('a manifest rewritten or removed after cataloging (any host can write its prefix) is refused and reported: the first manifest and the drill proof stay', async () => {
    const s3c = await startLocalS3('lifeboat-rewritten');
    try {
      const reported: string[] = [];
      const again: IngestDeps = { store: new S3ArchiveStore(s3c.client, s3c.bucket), catalog, warn: (m, d) => reported.push(`${m}: ${String(d.reason)}`) };
      const key = 'archives/db4/pgdata/20261127T031500Z.tar.zst';
      await s3c.put(key, Buffer.alloc(10));
      await s3c.put(`${key}.manifest.json`, manifestFor(key));
      expect(await ingestCreated(again, encode(key))).toMatchObject({ action: 'cataloged', withManifest: true });
      const proof = { restoreId: 'r-2', archiveKey: key, at: '2026-11-27T04:00:00Z', outcome: 'succeeded' as const };
      await catalog.recordDrill('db4', 'pgdata', proof);
      expect((await catalog.getArchive(key))?.lastDrill).toEqual(proof);

      await s3c.put(`${key}.manifest.json`, manifestFor(key, { sha256: 'cd'.repeat(32) }));
      expect(await ingestCreated(again, encode(`${key}.manifest.json`))).toMatchObject({ action: 'skipped', key });
      await s3c.put(`${key}.manifest.json`, 'not a manifest'); // ignored as a manifest: as if there were none
      expect(await ingestCreated(again, encode(key))).toMatchObject({ action: 'skipped', key });
      expect(await catalog.getArchive(key)).toMatchObject({ sha256: 'ab'.repeat(32), manifest: { sha256: 'ab'.repeat(32) }, lastDrill: proof });
      expect(reported.filter((r) => r.startsWith('skipped object') && r.includes('suspected substitution'))).toHaveLength(2);
    } finally {
      await s3c.close();
    }
  });

  it('an archive deleted and written again under its key (another S3 version, a matching manifest) is not cataloged, and is reported as a suspected substitution', async () => {
    const s3c = await startLocalS3('lifeboat-substituted');
    try {
      // s3rver keeps no versions: this store reports the version each write would have in a versioned bucket.
      const versions = new Map<string, string>();
      const plain = new S3ArchiveStore(s3c.client, s3c.bucket);
      const store: ArchiveStore = {
        head: async (k) => {
          const h = await plain.head(k);
          return h && { ...h, versionId: versions.get(k) };
        },
        getText: (k, max) => plain.getText(k, max),
        presignGet: (k, seconds, v) => plain.presignGet(k, seconds, v),
        listKeys: (prefix) => plain.listKeys(prefix),
      };
      const reported: string[] = [];
      const host: IngestDeps = { store, catalog, warn: (m, d) => reported.push(`${m}: ${String(d.reason)}`) };
      const key = 'archives/db5/pgdata/20261127T031500Z.tar.zst';
      await s3c.put(key, Buffer.alloc(1234));
      versions.set(key, 'v-good');
      await s3c.put(`${key}.manifest.json`, manifestFor(key));
      expect(await ingestCreated(host, encode(key))).toEqual({ action: 'cataloged', key, withManifest: true });
      expect(await ingestCreated(host, encode(key))).toEqual({ action: 'cataloged', key, withManifest: true }); // redelivered

      // The compromised host: DeleteObject (a delete marker), then PutObject of its own data and manifest.
      await s3c.client.send(new DeleteObjectCommand({ Bucket: s3c.bucket, Key: key }));
      expect(await ingestDeleted(host, encode(key))).toEqual({ action: 'deleted', key });
      const deleted = await catalog.getArchive(key);
      await s3c.put(key, Buffer.alloc(99));
      versions.set(key, 'v-evil');
      await s3c.put(`${key}.manifest.json`, manifestFor(key, { sha256: 'cd'.repeat(32), compressedBytes: 99 }));

      expect(await ingestCreated(host, encode(key))).toMatchObject({
        action: 'skipped',
        key,
        reason: expect.stringContaining('suspected substitution') as unknown,
      });
      expect(await ingestCreated(host, encode(`${key}.manifest.json`))).toMatchObject({ action: 'skipped', key });
      expect(await catalog.getArchive(key)).toEqual(deleted);
      expect(deleted).toMatchObject({ versionId: 'v-good', size: 1234, sha256: 'ab'.repeat(32), deletedAt: expect.any(String) as unknown });
      expect(await catalog.latestArchive('db5', 'pgdata')).toBeUndefined(); // "as of before the compromise" finds nothing to restore
      expect(reported.filter((r) => r.startsWith('skipped object') && r.includes('v-evil') && r.includes('suspected substitution'))).toHaveLength(2);
    } finally {
      await s3c.close();
    }
  });

  it('a tampered manifest (describing another archive, or malformed) is ignored, never trusted', async () => {
    const key = 'archives/db1/pgdata/20261127T051500Z.tar.gz';
    await s3.put(key, Buffer.alloc(10));
    await s3.put(`${key}.manifest.json`, manifestFor('archives/other/x/20261127T051500Z.tar.gz'));
    expect(await ingestCreated(deps, encode(key))).toMatchObject({ action: 'cataloged', withManifest: false });
    await s3.put(`${key}.manifest.json`, '{"lifeboat":"archive-manifest","sha256":"not-hex"}');
    expect(await ingestCreated(deps, encode(key))).toMatchObject({ action: 'cataloged', withManifest: false });
    expect((await catalog.getArchive(key))?.sha256).toBeUndefined();
    expect(warnings.filter((w) => w.startsWith('manifest ignored'))).toHaveLength(2);
  });

  it.each([
    ['archives/db1/my+vol/20261127T031500Z.tar.gz', 'volume segment'],
    ['archives/db1/pg%C3%A9/20261127T031500Z.tar.gz', 'volume segment'],
    ['archives/db1/..%2F..%2Fetc/20261127T031500Z.tar.gz', 'path segments'],
    ['pgdata-20261127.tar.gz', 'path segments'],
    ['archives/db1/pgdata/%E0%A4%A', 'not valid URL encoding'],
    ['archives/db1/pgdata/' + 'x'.repeat(2000), 'longer than 1024'],
  ])('skips a key outside the convention with a reason and no crash: %s', async (encoded, reason) => {
    const outcome = await ingestCreated(deps, encoded);
    expect(outcome.action).toBe('skipped');
    expect(outcome.action === 'skipped' ? outcome.reason : '').toContain(reason);
  });

  it('an archive whose key is dated after S3 last modified it (2099, to pin "latest") is refused and reported; the newest stays', async () => {
    const good = 'archives/db9/pgdata/20261127T031500Z.tar.zst';
    const future = 'archives/db9/pgdata/20991231T235959Z.tar.zst';
    await s3.put(good, Buffer.alloc(10));
    await s3.put(future, Buffer.alloc(10));
    await s3.put(`${future}.manifest.json`, manifestFor(future));
    expect(await ingestCreated(deps, encode(good))).toMatchObject({ action: 'cataloged' });

    const outcomes = [await ingestCreated(deps, encode(future)), await ingestCreated(deps, encode(`${future}.manifest.json`))];

    for (const outcome of outcomes)
      expect(outcome).toMatchObject({ action: 'skipped', key: future, reason: expect.stringContaining('in the future of its upload') as unknown });
    expect(warnings.filter((w) => w.startsWith('skipped object') && w.includes('suspected attempt to pin "latest"'))).toHaveLength(2);
    expect(await catalog.getArchive(future)).toBeUndefined();
    expect((await catalog.latestArchive('db9', 'pgdata'))?.key).toBe(good);
  });

  it('an "Object Created" for an archive already gone is skipped', async () => {
    expect(await ingestCreated(deps, 'archives/db1/pgdata/20200101T000000Z.tar.gz')).toMatchObject({
      action: 'skipped',
      reason: expect.stringContaining('does not exist') as unknown,
    });
  });

  it('deleting an archive marks its entry; the newest moves back', async () => {
    const key = 'archives/db1/pgdata/20261127T041500Z.tar.zst';
    expect(await ingestDeleted(deps, encode(key))).toEqual({ action: 'deleted', key });
    expect((await catalog.latestArchive('db1', 'pgdata'))?.key).toBe('archives/db1/pgdata/20261127T051500Z.tar.gz');
    expect(await ingestDeleted(deps, encode(key))).toMatchObject({ action: 'skipped' });
  });

  it('reconcile rebuilds the catalog from a paginated listing (1 100 objects, some outside the convention)', async () => {
    const s3b = await startLocalS3('lifeboat-old-bucket');
    const dynamoTable = await dynamo.createCatalogTable();
    const fresh = new DynamoDbCatalog(dynamo.doc, dynamoTable);
    try {
      const keys = Array.from(
        { length: 1050 },
        (_, i) => `archives/old-host/pgdata/${new Date(Date.UTC(2024, 0, 1) + i * 86_400_000).toISOString().replace(/[-:]|\.\d{3}/g, '')}.tar.gz`,
      );
      for (let i = 0; i < keys.length; i += 50) await Promise.all(keys.slice(i, i + 50).map((k) => s3b.put(k, 'x')));
      for (let i = 0; i < 50; i++) await s3b.put(`archives/old-host/pgdata/by-hand-${i}.tar.gz`, 'x');
      const report = await reconcile({ store: new S3ArchiveStore(s3b.client, s3b.bucket), catalog: fresh });
      expect(report).toEqual({ listed: 1100, cataloged: 1050, skipped: 50 });
      expect((await fresh.latestArchive('old-host', 'pgdata'))?.key).toBe(keys.at(-1));
    } finally {
      await s3b.close();
    }
    // 1 100 puts and 1 100 catalog writes: 30–55 s on a loaded 2-core machine, near the default 60 s.
  }, 180_000);
});
