import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbCatalog } from '#core/catalog/dynamodb-catalog.ts';
import { ArchiveVersionConflictError, LockHeldError, type ArchiveEntry, type RestoreRecord } from '#core/catalog/model.ts';
import { startLocalDynamo, type LocalDynamo } from '#core/local/dynamodb.ts';

const entry = (volume: string, takenAt: string, extra: Partial<ArchiveEntry> = {}): ArchiveEntry => ({
  key: `archives/h1/${volume}/${takenAt.replace(/[-:]/g, '')}.tar.zst`,
  source: 'h1',
  volume,
  takenAt,
  compression: 'zstd',
  size: 1000,
  catalogedAt: '2026-11-27T00:00:00Z',
  ...extra,
});
const isoAt = (i: number): string => new Date(Date.UTC(2026, 0, 1) + i * 3_600_000).toISOString().replace('.000Z', 'Z');

describe('DynamoDbCatalog on a DynamoDB-compatible server', () => {
  let dynamo: LocalDynamo;
  let catalog: DynamoDbCatalog;

  beforeAll(async () => {
    dynamo = await startLocalDynamo();
    catalog = new DynamoDbCatalog(dynamo.doc, await dynamo.createCatalogTable());
    // 1 000 archives of one volume, written out of order.
    const order = Array.from({ length: 1000 }, (_, i) => (i * 7919) % 1000);
    for (let i = 0; i < order.length; i += 50) {
      await Promise.all(order.slice(i, i + 50).map((n) => catalog.putArchive(entry('big', isoAt(n)))));
    }
  }, 60_000); // 3 000 writes: seconds on a busy 2-core machine
  afterAll(async () => {
    await dynamo.close();
  });

  it('latest, latest at or before T, and list newest first are right over 1 000 archives', async () => {
    expect((await catalog.latestArchive('h1', 'big'))?.takenAt).toBe(isoAt(999));
    expect((await catalog.latestArchive('h1', 'big', isoAt(500)))?.takenAt).toBe(isoAt(500));
    expect((await catalog.latestArchive('h1', 'big', '2026-01-21T20:30:00Z'))?.takenAt).toBe(isoAt(500));
    expect(await catalog.latestArchive('h1', 'big', '2025-12-31T23:59:59Z')).toBeUndefined();
    const page = await catalog.listArchives('h1', 'big', { limit: 5, atOrBefore: isoAt(10) });
    expect(page.map((e) => e.takenAt)).toEqual([10, 9, 8, 7, 6].map(isoAt));
    expect(await catalog.listVolumes()).toContainEqual({ source: 'h1', volume: 'big', newestKey: entry('big', isoAt(999)).key, newestTakenAt: isoAt(999) });
  });

  it('a deleted archive leaves the live list, stays findable marked deleted, and the newest moves back', async () => {
    await catalog.putArchive(entry('del', isoAt(1)));
    await catalog.putArchive(entry('del', isoAt(2)));
    expect(await catalog.markArchiveDeleted(entry('del', isoAt(2)).key, '2026-11-27T01:00:00Z')).toBe(true);
    expect(await catalog.markArchiveDeleted(entry('del', isoAt(2)).key, '2026-11-27T01:00:00Z')).toBe(false); // duplicate event
    expect((await catalog.latestArchive('h1', 'del'))?.takenAt).toBe(isoAt(1));
    expect(await catalog.getArchive(entry('del', isoAt(2)).key)).toMatchObject({ deletedAt: '2026-11-27T01:00:00Z' });
    expect((await catalog.listVolumes()).find((v) => v.volume === 'del')?.newestTakenAt).toBe(isoAt(1));
    await catalog.markArchiveDeleted(entry('del', isoAt(1)).key, '2026-11-27T01:00:00Z');
    expect((await catalog.listVolumes()).find((v) => v.volume === 'del')).toBeUndefined();
  });

  it('an archive key written again with another S3 version never replaces the cataloged archive (a host overwriting a known-good backup)', async () => {
    const first = { ...entry('pinned', isoAt(1)), versionId: 'v-good', sha256: 'a'.repeat(64) };
    await catalog.putArchive(first);
    await catalog.putArchive({ ...first, catalogedAt: isoAt(3) }); // the same version again (a manifest arriving later): fine
    await expect(catalog.putArchive({ ...first, versionId: 'v-evil', sha256: 'b'.repeat(64), size: 1 })).rejects.toThrow(ArchiveVersionConflictError);
    expect(await catalog.getArchive(first.key)).toMatchObject({ versionId: 'v-good', sha256: 'a'.repeat(64) });
  });

  it('an archive key deleted and written again with another S3 version is never cataloged again (a host substituting a known-good backup)', async () => {
    const good = { ...entry('subst', isoAt(1)), versionId: 'v-good', sha256: 'a'.repeat(64) };
    await catalog.putArchive(good);
    expect(await catalog.markArchiveDeleted(good.key, '2026-11-27T01:00:00Z')).toBe(true);
    const deleted = await catalog.getArchive(good.key);

    const substitute = catalog.putArchive({ ...good, versionId: 'v-evil', sha256: 'b'.repeat(64), size: 1, catalogedAt: isoAt(3) });
    await expect(substitute).rejects.toThrow(ArchiveVersionConflictError);
    await expect(substitute).rejects.toThrow(/v-evil.*v-good was deleted.*suspected substitution/);
    expect(await catalog.getArchive(good.key)).toEqual(deleted);
    expect(deleted).toMatchObject({ versionId: 'v-good', sha256: 'a'.repeat(64), deletedAt: '2026-11-27T01:00:00Z' });
    expect(await catalog.listArchives('h1', 'subst')).toEqual([]);
    expect(await catalog.latestArchive('h1', 'subst', isoAt(2))).toBeUndefined();
    expect((await catalog.listVolumes()).find((v) => v.volume === 'subst')).toBeUndefined();
  });

  it('the same holds for archives cataloged before keys were pinned to their version (pointer without a version)', async () => {
    const table = await dynamo.createCatalogTable();
    const legacy = new DynamoDbCatalog(dynamo.doc, table);
    // As the previous release wrote them: the entry, then a pointer naming only where it is.
    const writeLegacy = async (e: ArchiveEntry): Promise<void> => {
      const item = { pk: 'ARCHIVES#h1#old', sk: `${e.takenAt}#${e.key}` };
      await dynamo.doc.send(new PutCommand({ TableName: table, Item: { ...item, ...e } }));
      await dynamo.doc.send(new PutCommand({ TableName: table, Item: { pk: `ARCHIVE#${e.key}`, sk: 'ARCHIVE', archivePk: item.pk, archiveSk: item.sk } }));
    };
    const seen = { ...entry('old', isoAt(2)), versionId: 'v-seen' };
    await writeLegacy(seen);
    await legacy.putArchive(seen); // redelivered: the same version, fine
    expect(await legacy.getArchive(seen.key)).toMatchObject({ versionId: 'v-seen' });

    const good = { ...entry('old', isoAt(1)), versionId: 'v-good', sha256: 'a'.repeat(64) };
    await writeLegacy(good);
    await expect(legacy.putArchive({ ...good, versionId: 'v-evil' })).rejects.toThrow(ArchiveVersionConflictError);
    expect(await legacy.markArchiveDeleted(good.key, '2026-11-27T01:00:00Z')).toBe(true);
    await expect(legacy.putArchive({ ...good, versionId: 'v-evil', sha256: 'b'.repeat(64) })).rejects.toThrow(/suspected substitution/);
    expect(await legacy.getArchive(good.key)).toMatchObject({ versionId: 'v-good', sha256: 'a'.repeat(64), deletedAt: '2026-11-27T01:00:00Z' });
    expect((await legacy.listArchives('h1', 'old')).map((e) => e.key)).toEqual([seen.key]);
  });

  it('an older archive cataloged late does not become the newest', async () => {
    await catalog.putArchive(entry('late', isoAt(5)));
    await catalog.putArchive(entry('late', isoAt(3)));
    expect((await catalog.listVolumes()).find((v) => v.volume === 'late')?.newestTakenAt).toBe(isoAt(5));
  });

  it('two concurrent lock requests: exactly one wins, the other names the holder', async () => {
    const results = await Promise.allSettled([catalog.acquireLock('i-0abc', 'pgdata', 'r-1', 3600), catalog.acquireLock('i-0abc', 'pgdata', 'r-2', 3600)]);
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    expect(lost[0]?.reason).toBeInstanceOf(LockHeldError);
    expect((lost[0]?.reason as Error).message).toMatch(/restore r-[12] is already running/);
  });

  it('an expired lock is taken over; release only frees the holder’s own lock', async () => {
    const t0 = new Date('2026-11-27T00:00:00Z');
    await catalog.acquireLock('i-0def', 'pgdata', 'r-old', 60, t0);
    await expect(catalog.acquireLock('i-0def', 'pgdata', 'r-new', 60, new Date(t0.getTime() + 30_000))).rejects.toThrow(LockHeldError);
    await catalog.acquireLock('i-0def', 'pgdata', 'r-new', 60, new Date(t0.getTime() + 61_000));
    await catalog.releaseLock('i-0def', 'pgdata', 'r-old'); // the lost restore reports late: no effect
    await expect(catalog.acquireLock('i-0def', 'pgdata', 'r-third', 60, new Date(t0.getTime() + 62_000))).rejects.toThrow(/r-new/);
    await catalog.releaseLock('i-0def', 'pgdata', 'r-new');
    await catalog.acquireLock('i-0def', 'pgdata', 'r-third', 60, new Date(t0.getTime() + 63_000));
  });

  it('restore records move forward only: a late or duplicate event never changes a finished restore', async () => {
    const record: RestoreRecord = {
      id: 'r-100',
      requestedBy: 'arn:aws:iam::123456789012:user/oncall',
      mode: 'restore',
      state: 'sent',
      archiveKey: 'archives/h1/big/x.tar.zst',
      source: 'h1',
      volume: 'big',
      instanceId: 'i-0abc',
      containerName: 'db',
      ifVolumeExists: 'fail',
      createdAt: isoAt(0),
      updatedAt: isoAt(0),
    };
    await catalog.createRestore(record);
    await expect(catalog.createRestore(record)).rejects.toThrow();
    expect(await catalog.updateRestore('r-100', ['sent', 'running'], { state: 'succeeded', bytes: 42 })).toMatchObject({ state: 'succeeded', bytes: 42 });
    expect(await catalog.updateRestore('r-100', ['sent', 'running'], { state: 'failed' })).toBeUndefined();
    expect(await catalog.getRestore('r-100')).toMatchObject({ state: 'succeeded', bytes: 42 });
    await catalog.linkCommand('cmd-1', 'r-100');
    expect(await catalog.restoreIdForCommand('cmd-1')).toBe('r-100');
    expect(await catalog.restoreIdForCommand('cmd-unknown')).toBeUndefined();
  });

  it('the active index lists exactly the restores not yet final: written with the record, gone when it ends', async () => {
    const open = (id: string, state: RestoreRecord['state']): RestoreRecord => ({
      id,
      requestedBy: 'tester',
      mode: 'restore',
      state,
      archiveKey: 'archives/h1/big/x.tar.zst',
      source: 'h1',
      volume: 'big',
      instanceId: 'i-0act',
      containerName: 'db',
      ifVolumeExists: 'fail',
      createdAt: isoAt(1),
      updatedAt: isoAt(1),
    });
    const before = (await catalog.listActiveRestores()).map((a) => a.id);
    await catalog.createRestore(open('r-act-1', 'planned'));
    await catalog.createRestore(open('r-act-2', 'sent'));
    await catalog.createRestore(open('r-act-3', 'failed')); // refused before sending: never active
    const ids = async (): Promise<string[]> => (await catalog.listActiveRestores()).map((a) => a.id).filter((id) => !before.includes(id));
    expect(await ids()).toEqual(['r-act-1', 'r-act-2']);
    await catalog.updateRestore('r-act-1', ['planned'], { state: 'sent', commandId: 'cmd-a' });
    expect(await ids()).toEqual(['r-act-1', 'r-act-2']);
    await catalog.updateRestore('r-act-1', ['sent', 'running'], { state: 'failed', error: 'x' });
    await catalog.updateRestore('r-act-2', ['sent', 'running'], { state: 'succeeded' });
    expect(await ids()).toEqual([]);
    // A late duplicate that cannot change a final record does not bring it back either.
    expect(await catalog.updateRestore('r-act-2', ['sent', 'running'], { state: 'failed' })).toBeUndefined();
    expect(await ids()).toEqual([]);
  });
});
