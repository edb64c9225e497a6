import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalCommandRunner } from '#core/adapters/local-runner.ts';
import { S3ArchiveStore } from '#core/archive-store.ts';
import { DynamoDbCatalog } from '#core/catalog/dynamodb-catalog.ts';
import { ingestCreated } from '#core/catalog/ingest.ts';
import { startLocalDynamo, type LocalDynamo } from '#core/local/dynamodb.ts';
import { localRestore } from '#core/local/restore.ts';
import { startLocalS3, type LocalS3 } from '#core/local/s3.ts';
import type { RestoreNotification } from '#core/restore/ports.ts';
import type { DrillRequest } from '#core/restore/schemas.ts';
import type { RestoreService } from '#core/restore/service.ts';
import { RestorePolicy } from '#core/policy.ts';
import { HELPER_IMAGE, docker, initPostgresVolume, removeAll, rowsFingerprint, seedRows, startPostgres, uniqueName } from './support/docker.ts';
import { snapshotHost } from './support/host.ts';
import { backup, explain, restore, restoreDocument } from './support/runbooks.ts';

// Scheduled restore drills: the newest archive restored under throwaway names next to
// the production database on the same engine, verified, and removed.
describe('restore drills on real Docker', () => {
  const INSTANCE = 'i-0000000000000d711';
  const volume = uniqueName('prod-data');
  const db = uniqueName('prod-db');
  let s3: LocalS3;
  let dynamo: LocalDynamo;
  let catalog: DynamoDbCatalog;
  let store: S3ArchiveStore;
  let runner: LocalCommandRunner;
  let service: RestoreService;
  let goodKey: string;
  let rows: string;
  const notifications: RestoreNotification[] = [];
  const drilled: { volume: string; outcome: string }[] = [];

  beforeAll(async () => {
    s3 = await startLocalS3();
    dynamo = await startLocalDynamo();
    catalog = new DynamoDbCatalog(dynamo.doc, await dynamo.createCatalogTable());
    store = new S3ArchiveStore(s3.client, s3.bucket);
    ({ runner, service } = localRestore({
      catalog,
      store,
      instanceId: INSTANCE,
      document: restoreDocument,
      helperImage: HELPER_IMAGE,
      // The operator allows the test's database image (the manifest names it; the allowlist decides).
      policy: RestorePolicy.parse({ allowedImages: ['local/postgres'] }),
      completion: {
        notifier: {
          restoreFinished: (n) => {
            notifications.push(n);
            return Promise.resolve();
          },
        },
        metrics: { restoreFinished: () => undefined, drillFinished: (v) => drilled.push(v) },
      },
    }));

    // Production: a running database on a named volume, backed up by Lifeboat.
    await initPostgresVolume(volume);
    await startPostgres(db, volume);
    await seedRows(db, 2500);
    rows = await rowsFingerprint(db);
    const made = await backup(s3, { VolumeName: volume, ContainerName: db, Consistency: 'pause', Source: 'prod-host' });
    expect(made.result?.outcome, explain(made)).toBe('succeeded');
    goodKey = made.result?.archiveKey ?? '';
    await ingestCreated({ store, catalog }, goodKey, { decoded: true });
    await ingestCreated({ store, catalog }, `${goodKey}.manifest.json`, { decoded: true });
  });
  afterAll(async () => {
    await removeAll([db], [volume]);
    await s3.close();
    await dynamo.close();
  });

  const request = (extra: Partial<DrillRequest> = {}): DrillRequest => ({
    source: 'prod-host',
    volume,
    archive: 'latest',
    instanceId: INSTANCE,
    allowUnverified: false,
    ...extra,
  });
  async function drill(extra: Partial<DrillRequest> = {}) {
    const started = await service.drill(request(extra), 'schedule:test');
    await runner.finished(started.commandId);
    return { started, record: await service.get(started.restoreId) };
  }
  const leftovers = async (restoreId: string): Promise<string[]> =>
    [
      ...(await docker('ps', '-a', '--filter', `label=lifeboat.restore-id=${restoreId}`, '--format', '{{.Names}}')).split('\n'),
      ...(await docker('volume', 'ls', '-q', '--filter', 'name=lifeboat-drill-')).split('\n'),
      ...(await docker('volume', 'ls', '-q', '--filter', 'name=lifeboat-stage-')).split('\n'),
    ].filter(Boolean);
  const production = async (): Promise<string> => docker('inspect', '-f', '{{.Id}} {{.State.Status}} {{.State.StartedAt}} {{.RestartCount}}', db);

  it('proves the newest archive restores, next to the running production database, and leaves nothing behind', async () => {
    const prodBefore = await production();
    const { started, record } = await drill({ check: 'select count(*) from lifeboat_test', expectMinimum: 2500 });
    expect(started.plan.volume).toMatch(/^lifeboat-drill-/);
    expect(started.plan.parameters).toMatchObject({ Mode: 'drill', VolumeName: started.plan.volume, ContainerName: started.plan.volume });
    expect(record, JSON.stringify(record)).toMatchObject({ state: 'succeeded', mode: 'drill', verifyOutput: '2500', archiveKey: goodKey, drill: { volume } });
    expect(record.phases?.verify).toBeGreaterThan(0);
    expect(record.phases?.cleanup).toBeGreaterThan(0);

    // Production untouched: same container, never restarted, same rows.
    expect(await production()).toBe(prodBefore);
    expect(await rowsFingerprint(db)).toBe(rows);
    expect(await leftovers(started.restoreId)).toEqual([]);

    // The proof is on the archive and on the volume.
    const entry = await catalog.getArchive(goodKey);
    expect(entry?.lastDrill).toMatchObject({ restoreId: started.restoreId, outcome: 'succeeded', verifyOutput: '2500' });
    expect(entry?.lastDrill?.totalSeconds).toBeGreaterThan(0);
    const summary = (await catalog.listVolumes()).find((v) => v.volume === volume);
    expect(summary).toMatchObject({ lastProvenKey: goodKey, lastProvenAt: entry?.lastDrill?.at });
    expect(drilled.at(-1)).toEqual({ source: 'prod-host', volume, outcome: 'succeeded', totalSeconds: record.totalSeconds });
    expect(notifications).toEqual([]); // a passing drill is routine
  });

  it('fails a drill whose check sees too few rows, and still cleans up', async () => {
    const { started, record } = await drill({ check: 'select count(*) from lifeboat_test', expectMinimum: 1_000_000 });
    expect(record).toMatchObject({ state: 'failed', verifyOutput: '2500' });
    expect(record.error).toContain('expected a number of at least 1000000');
    expect(await leftovers(started.restoreId)).toEqual([]);
    expect(notifications.at(-1)?.subject).toContain('drill FAILED');
  });

  it('a corrupt newest archive: failure recorded and published, cleanup done, production bytes unchanged', async () => {
    const manifest = JSON.parse((await s3.get(`${goodKey}.manifest.json`)).toString()) as Record<string, unknown>;
    // Newer than the good archive, and not in the future (ingest refuses a key dated after its upload).
    const now = new Date(Date.now() + 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const corruptKey = `archives/prod-host/${volume}/${now.replace(/[-:]/g, '')}.tar.zst`;
    await s3.put(corruptKey, (await s3.get(goodKey)).subarray(0, 5000));
    await s3.put(`${corruptKey}.manifest.json`, JSON.stringify({ ...manifest, archiveKey: corruptKey, createdAt: now }));
    await ingestCreated({ store, catalog }, corruptKey, { decoded: true });
    await ingestCreated({ store, catalog }, `${corruptKey}.manifest.json`, { decoded: true });

    await docker('stop', db); // still bytes, so "unchanged" can be checked byte for byte
    const before = await snapshotHost([volume]);
    const { started, record } = await drill();
    expect(record.archiveKey).toBe(corruptKey);
    expect(record.state).toBe('failed');
    expect(record.error).toMatch(/checksum mismatch|extract failed|download failed/);
    expect(await leftovers(started.restoreId)).toEqual([]);
    expect(await snapshotHost([volume])).toEqual(before);

    expect(notifications.at(-1)).toMatchObject({ restoreId: started.restoreId, state: 'failed' });
    expect((await catalog.getArchive(corruptKey))?.lastDrill).toMatchObject({ outcome: 'failed', restoreId: started.restoreId });
    const summary = (await catalog.listVolumes()).find((v) => v.volume === volume);
    expect(summary?.lastDrill).toMatchObject({ outcome: 'failed', archiveKey: corruptKey });
    expect(summary?.lastProvenKey).toBe(goodKey); // the last proof stands
    expect(drilled.at(-1)).toMatchObject({ volume, outcome: 'failed' });
  });

  it('the document refuses drill names that are not throwaway, and driver options that could reach production data', async () => {
    const base = {
      ...(await service.planDrill(request({ archive: { key: goodKey } }), 'r-probe-00000000')).parameters,
      ArchiveUrl: await s3.presignGet(goodKey),
    };
    for (const [change, reason] of [
      [{ VolumeName: volume }, 'throwaway volume'],
      [{ ContainerName: db }, 'throwaway container'],
      [{ VolumeDriverOpts: 'type=nfs o=addr=127.0.0.1 device=:/export/pgdata' }, 'plain local volume'],
    ] as const) {
      const before = await snapshotHost([]);
      const outcome = await restore({ ...base, ...change });
      expect(outcome.result?.outcome, explain(outcome)).toBe('refused');
      expect(outcome.result?.error).toContain(reason);
      expect(await snapshotHost([])).toEqual(before);
    }
  });
});
