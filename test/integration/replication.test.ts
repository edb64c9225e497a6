import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DeleteObjectCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3ArchiveStore } from '#core/archive-store.ts';
import { DynamoDbCatalog } from '#core/catalog/dynamodb-catalog.ts';
import { ingestCreated, ingestDeleted, reconcile, type IngestDeps, type IngestOutcome } from '#core/catalog/ingest.ts';
import { startLocalDynamo, type LocalDynamo } from '#core/local/dynamodb.ts';
import { startLocalS3, type LocalS3 } from '#core/local/s3.ts';
import type { ArchiveManifest } from '#core/manifest.ts';
import { ROOT } from '#core/paths.ts';
import { checkFreshness } from '#core/protection.ts';
import { replicaBucketName } from '#core/replication.ts';
import { RestorePolicy } from '#core/policy.ts';
import type { CommandRunner, InstanceDirectory, SendRestore } from '#core/restore/ports.ts';
import { RestoreRequest } from '#core/restore/schemas.ts';
import { RestoreService } from '#core/restore/service.ts';
import { loadDocument } from '#core/runbooks/document.ts';
import { S3ObjectEvent } from '#root/functions/commons/event-schemas.ts';
import { replicate } from '../support/replication.ts';

/*
 * Region loss, the data path: two S3-compatible servers stand in for the primary region's
 * archive bucket and the DR region's replica bucket, each with its own catalog (two
 * DynamoDB-compatible servers). The replication emulator copies what a replication rule
 * copies; every copy is an "Object Created" in the DR bucket, ingested by the DR catalog alone.
 */
const ACCOUNT = '123456789012';
const DR_REGION = 'eu-central-1';
const NOW = new Date('2026-11-27T12:00:00Z');
const RPO = 3600;
const INSTANCE = 'i-0123456789abcdef0';
const VOLUMES = [
  { source: 'db1', volume: 'pgdata' },
  { source: 'db1', volume: 'redis-data' },
  { source: 'web', volume: 'uploads' },
] as const;
// Older than the RPO at NOW, and within it.
const OLD = '20261127T031500Z';
const RECENT = '20261127T101500Z';
// Taken after the first replication pass: the archive that has not arrived yet.
const NEWEST = '20261127T114500Z';

const keyOf = (v: { source: string; volume: string }, stamp: string): string => `archives/${v.source}/${v.volume}/${stamp}.tar.zst`;
// S3 puts keys in events URL-encoded, with + for a space.
const encode = (key: string): string => encodeURIComponent(key).replace(/%2F/g, '/').replace(/%20/g, '+');
const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const fixture = (path: string): unknown => JSON.parse(readFileSync(join(ROOT, 'test/events', path), 'utf8'));

/** The manifest backup-volume writes beside an archive (functions/core/manifest.ts), for these bytes. */
const manifestFor = (archiveKey: string, v: { source: string; volume: string }, bytes: Buffer): ArchiveManifest => ({
  lifeboat: 'archive-manifest',
  version: 1,
  archiveKey,
  createdAt: '2026-11-27T03:15:02Z',
  source: v.source,
  backupId: `b-${randomBytes(4).toString('hex')}`,
  sha256: sha256(bytes),
  compression: 'zstd',
  compressedBytes: bytes.length,
  uncompressedBytes: bytes.length * 4,
  fileCount: 12,
  consistency: 'pause',
  volume: { name: v.volume, driver: 'local', driverOpts: null, labels: null },
  hostPath: null,
  mountPath: '/var/lib/postgresql/data',
  container: {
    name: '/db',
    image: 'postgres:15',
    envNames: [],
    command: ['postgres'],
    shmSize: 268435456,
    restartPolicy: 'unless-stopped',
    networkMode: 'bridge',
    privileged: false,
    capAdd: null,
    pidMode: '',
    user: '',
    mounts: [],
    ports: [],
  },
});

/**
 * s3rver keeps no object versions. A versioned bucket gives every write a version id and
 * HeadObject reports it: this gives each server its own ids (a real replica keeps its source's
 * id; here they differ, so a DR entry pinning the primary's id would be caught).
 */
function versionEachWrite(s3: LocalS3, label: string): void {
  const ids = new Map<string, string>();
  s3.client.middlewareStack.add(
    (next, context) => async (args) => {
      const out = await next(args);
      const key = (args.input as { Key?: string }).Key;
      const output = out.output as { VersionId?: string } | undefined;
      if (key !== undefined && output) {
        if (context.commandName === 'PutObjectCommand') ids.set(key, `${label}.${randomBytes(12).toString('hex')}`);
        if (context.commandName === 'PutObjectCommand' || context.commandName === 'HeadObjectCommand') output.VersionId = ids.get(key);
      }
      return out;
    },
    { step: 'initialize', name: 'versionEachWrite' },
  );
}

describe('region loss: archives replicated to a second S3-compatible server, cataloged and restored there on their own', () => {
  let primary: LocalS3;
  let dr: LocalS3;
  let primaryDynamo: LocalDynamo;
  let drDynamo: LocalDynamo;
  let primaryDeps: IngestDeps;
  let drDeps: IngestDeps;
  let drCatalog: DynamoDbCatalog;
  let primaryClosed = false;
  /** The DR catalog's clock: when a replica's event is handled there. */
  let drClock = new Date('2026-11-27T10:30:00Z');
  const bytes = new Map<string, Buffer>();
  const warnings: string[] = [];

  const write = async (v: { source: string; volume: string }, stamp: string): Promise<string> => {
    const key = keyOf(v, stamp);
    const body = Buffer.concat([Buffer.from(`${key}\n`), randomBytes(48 * 1024)]);
    bytes.set(key, body);
    await primary.put(key, body);
    await primary.put(`${key}.manifest.json`, JSON.stringify(manifestFor(key, v, body)));
    // The primary's own catalog hears of both objects, as in the primary region.
    await ingestCreated(primaryDeps, encode(key));
    await ingestCreated(primaryDeps, encode(`${key}.manifest.json`));
    return key;
  };
  const drHead = (key: string) => dr.client.send(new HeadObjectCommand({ Bucket: dr.bucket, Key: key }));
  const primaryHead = (key: string) => primary.client.send(new HeadObjectCommand({ Bucket: primary.bucket, Key: key }));
  /** One replication pass; each arrival is the DR bucket's "Object Created", handled by the DR catalog. */
  const replicateToDr = async (options: Parameters<typeof replicate>[2] = {}): Promise<{ key: string; outcome: IngestOutcome }[]> => {
    const arrivals: { key: string; outcome: IngestOutcome }[] = [];
    await replicate(primary, dr, {
      ...options,
      onCreated: async (key) => {
        arrivals.push({ key, outcome: await ingestCreated(drDeps, encode(key)) });
      },
    });
    return arrivals;
  };

  beforeAll(async () => {
    [primary, dr, primaryDynamo, drDynamo] = await Promise.all([
      startLocalS3('lifeboat-archives'),
      startLocalS3(replicaBucketName(ACCOUNT, DR_REGION)),
      startLocalDynamo(),
      startLocalDynamo(),
    ]);
    versionEachWrite(primary, 'primary');
    versionEachWrite(dr, 'dr');
    primaryDeps = {
      store: new S3ArchiveStore(primary.client, primary.bucket),
      catalog: new DynamoDbCatalog(primaryDynamo.doc, await primaryDynamo.createCatalogTable()),
      bucket: primary.bucket,
      now: () => new Date('2026-11-27T11:46:00Z'),
    };
    drCatalog = new DynamoDbCatalog(drDynamo.doc, await drDynamo.createCatalogTable());
    drDeps = {
      store: new S3ArchiveStore(dr.client, dr.bucket),
      catalog: drCatalog,
      bucket: dr.bucket,
      now: () => drClock,
      warn: (m, d) => warnings.push(`${m}: ${String(d.key)}: ${String(d.reason)}`),
    };
    for (const v of VOLUMES) {
      await write(v, OLD);
      await write(v, RECENT);
    }
  });
  afterAll(async () => {
    await Promise.all([primaryClosed ? undefined : primary.close(), dr.close(), primaryDynamo.close(), drDynamo.close()]);
  });

  it('replicas arriving newest first, each manifest before its archive, end cataloged WITH their manifests; DR "latest" is the primary’s newest, pinned to the DR bucket’s own version and size', async () => {
    const arrivals = await replicateToDr({ order: 'reverse' });

    expect(arrivals).toHaveLength(VOLUMES.length * 4);
    // Reverse listing order: every manifest lands before its archive and is skipped for now...
    const first = arrivals[0];
    expect(first?.key).toBe(`${keyOf(VOLUMES[2], RECENT)}.manifest.json`);
    expect(first?.outcome).toMatchObject({ action: 'skipped', reason: expect.stringContaining('its manifest arrived first') as unknown });
    // ...and the archive, arriving next, is cataloged with it.
    const archives = arrivals.filter((a) => !a.key.endsWith('.manifest.json'));
    expect(archives.map((a) => a.outcome)).toEqual(archives.map((a) => ({ action: 'cataloged', key: a.key, withManifest: true })));

    for (const v of VOLUMES) {
      const key = keyOf(v, RECENT);
      const latest = await drCatalog.latestArchive(v.source, v.volume);
      const onDr = await drHead(key);
      expect(latest).toMatchObject({ key, size: onDr.ContentLength, etag: onDr.ETag, sha256: sha256(bytes.get(key) ?? Buffer.alloc(0)) });
      expect(latest?.manifest?.archiveKey).toBe(key);
      expect(onDr.VersionId).toMatch(/^dr\./);
      expect(latest?.versionId).toBe(onDr.VersionId);
      expect(latest?.versionId).not.toBe((await primaryHead(key)).VersionId);
      expect(latest?.key).toBe((await primaryDeps.catalog.latestArchive(v.source, v.volume))?.key);
    }
    expect(warnings).toHaveLength(VOLUMES.length * 2);
    expect(warnings.every((w) => w.includes('its manifest arrived first'))).toBe(true);
  });

  it('a replica’s "Object Created" (fixture built from the documented EventBridge shape) goes through the real catalog handler into the DR catalog', async () => {
    // Not captured from AWS (no account here): built from the S3 user guide's "EventBridge event
    // message structure" page. It documents `region` as the bucket's region, `requester` as "AWS
    // account ID or AWS service principal of requester", `source-ip-address` as "only present for
    // events triggered by an S3 request", and for Object Created a `reason` of PutObject, POST
    // Object, CopyObject or CompleteMultipartUpload. It says nothing of replicas in particular
    // (replication writes them on S3's side), so the fixture has the service principal, no source
    // IP and PutObject, and the variants below (an account id, an IP, another reason, none) must
    // be cataloged too: nothing filters on who wrote the object.
    process.env.TABLE_NAME ??= 'tbl';
    process.env.BUCKET_NAME ??= 'bkt';
    process.env.ARCHIVE_PREFIX ??= 'archives';
    const { onObjectEvent } = await import('#root/functions/catalog/index.ts');
    const event = S3ObjectEvent.parse(fixture('s3/object-created-replica.json'));
    expect(event.detail.bucket.name).toBe(replicaBucketName(event.account, event.region));
    expect(event.detail.bucket.name).toBe(dr.bucket);
    expect(event.detail.object.key).toBe(keyOf(VOLUMES[0], OLD));

    const fresh = new DynamoDbCatalog(drDynamo.doc, await drDynamo.createCatalogTable());
    const deps: IngestDeps = { ...drDeps, catalog: fresh };
    const key = keyOf(VOLUMES[0], OLD);
    expect(await onObjectEvent(deps, event)).toEqual({ action: 'cataloged', key, withManifest: true });
    const onDr = await drHead(key);
    expect(await fresh.getArchive(key)).toMatchObject({ key, source: 'db1', volume: 'pgdata', size: onDr.ContentLength, versionId: onDr.VersionId });

    const raw = fixture('s3/object-created-replica.json') as { detail: Record<string, unknown> };
    for (const detail of [
      { ...raw.detail, requester: ACCOUNT, 'source-ip-address': '203.0.113.15' },
      { ...raw.detail, reason: 'CompleteMultipartUpload' },
      { ...raw.detail, reason: undefined, requester: undefined },
    ]) {
      expect(await onObjectEvent(deps, S3ObjectEvent.parse({ ...raw, detail }))).toEqual({ action: 'cataloged', key, withManifest: true });
    }
    // An event for another bucket (the primary's) is never looked up in this one.
    const elsewhere = S3ObjectEvent.parse({ ...raw, region: 'eu-west-1', detail: { ...raw.detail, bucket: { name: primary.bucket } } });
    expect(await onObjectEvent(deps, elsewhere)).toMatchObject({
      action: 'skipped',
      reason: `the event is for bucket lifeboat-archives (eu-west-1); this catalog serves ${dr.bucket}`,
    });
  });

  it('a deletion in the primary is not replicated: the DR bucket keeps the object and the DR catalog its entry', async () => {
    const key = keyOf(VOLUMES[2], OLD);
    await primary.client.send(new DeleteObjectCommand({ Bucket: primary.bucket, Key: key }));
    expect(await ingestDeleted(primaryDeps, encode(key))).toEqual({ action: 'deleted', key });

    expect(await replicateToDr()).toEqual([]);
    expect((await drHead(key)).ContentLength).toBe(bytes.get(key)?.length);
    const entry = await drCatalog.getArchive(key);
    expect(entry).toBeDefined();
    expect(entry?.deletedAt).toBeUndefined();
    expect((await primaryDeps.catalog.getArchive(key))?.deletedAt).toBeDefined();
  });

  it('freshness in the DR region measures what has arrived: overdue while the newest archive is not replicated, fresh once it is (with its arrival lag)', async () => {
    const v = VOLUMES[0];
    const newest = await write(v, NEWEST);
    const check = { volumes: [{ ...v, rpoSeconds: RPO }] };

    const [atPrimary] = await checkFreshness(primaryDeps.catalog, check, NOW);
    const [atDr] = await checkFreshness(drCatalog, check, NOW);
    expect(atPrimary).toMatchObject({ overdue: false, newestKey: newest, ageSeconds: 15 * 60, arrivalLagSeconds: 60 });
    expect(atDr).toMatchObject({ overdue: true, newestKey: keyOf(v, RECENT), ageSeconds: 105 * 60 });

    drClock = new Date('2026-11-27T11:52:30Z');
    // Listing order this time: the archive lands before its manifest, which then completes the entry.
    const arrivals = await replicateToDr();
    expect(arrivals).toEqual([
      { key: newest, outcome: { action: 'cataloged', key: newest, withManifest: false } },
      { key: `${newest}.manifest.json`, outcome: { action: 'cataloged', key: newest, withManifest: true } },
    ]);
    const [arrived] = await checkFreshness(drCatalog, check, NOW);
    expect(arrived).toMatchObject({ overdue: false, newestKey: newest, ageSeconds: 15 * 60, arrivalLagSeconds: 450 });
    expect((await drCatalog.getArchive(newest))?.sha256).toBe(sha256(bytes.get(newest) ?? Buffer.alloc(0)));
  });

  it('an empty DR catalog rebuilt by reconcile over the DR bucket alone answers "latest" the same', async () => {
    const rebuilt = new DynamoDbCatalog(drDynamo.doc, await drDynamo.createCatalogTable());
    const report = await reconcile({ ...drDeps, catalog: rebuilt });
    expect(report).toEqual({ listed: VOLUMES.length * 4 + 2, cataloged: VOLUMES.length * 2 + 1, skipped: 0 });
    for (const v of VOLUMES) {
      const [was, is] = await Promise.all([drCatalog.latestArchive(v.source, v.volume), rebuilt.latestArchive(v.source, v.volume)]);
      expect(is).toBeDefined();
      expect({ ...is, catalogedAt: undefined }).toEqual({ ...was, catalogedAt: undefined });
      expect((await rebuilt.listArchives(v.source, v.volume)).map((e) => e.key)).toEqual((await drCatalog.listArchives(v.source, v.volume)).map((e) => e.key));
    }
  });

  it('a restore planned by the real RestoreService over the DR bucket and catalog downloads the exact archive from the DR server with the primary gone', async () => {
    const sent: SendRestore[] = [];
    const runner: CommandRunner & InstanceDirectory = {
      sendRestore: (r) => {
        sent.push(r);
        return Promise.resolve('cmd-dr-1');
      },
      invocationOutput: () => Promise.reject(new Error('not used')),
      cancel: () => Promise.resolve(),
      commandFor: () => Promise.resolve(undefined),
      status: () => Promise.resolve({ online: true, pingStatus: 'Online', sources: ['*'] }),
    };
    const service = new RestoreService(
      { catalog: drCatalog, store: drDeps.store, runner, instances: runner },
      {
        document: loadDocument('restore-volume'),
        helperImage: 'local/lifeboat-helper:1',
        // As deployment builds it from the protect config: the spare DR host ('*') may replace db1's protected pgdata.
        policy: RestorePolicy.parse({ volumes: VOLUMES }),
      },
    );
    await primary.close();
    primaryClosed = true;

    const started = await service.start(
      RestoreRequest.parse({ source: 'db1', volume: 'pgdata', instanceId: INSTANCE, containerName: 'db' }),
      'arn:aws:iam::123456789012:role/OnCall',
    );
    const key = keyOf(VOLUMES[0], NEWEST);
    const onDr = await drHead(key);
    expect(started.plan.archive).toMatchObject({ key, versionId: onDr.VersionId });
    const url = sent[0]?.parameters.ArchiveUrl ?? '';
    expect(url.startsWith(`${dr.endpoint}/${dr.bucket}/${key}?`)).toBe(true);
    expect(new URL(url).searchParams.get('versionId')).toBe(onDr.VersionId);
    expect(sent[0]?.parameters.ExpectedSha256).toBe(sha256(bytes.get(key) ?? Buffer.alloc(0)));

    const res = await fetch(url);
    expect(res.status).toBe(200);
    const body = Buffer.from(await res.arrayBuffer());
    expect(sha256(body)).toBe(sha256(bytes.get(key) ?? Buffer.alloc(1)));
  });
});
