import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbCatalog } from '#core/catalog/dynamodb-catalog.ts';
import { RecoveryExistsError, type RestoreRateSample } from '#core/catalog/model.ts';
import { startLocalDynamo, type LocalDynamo } from '#core/local/dynamodb.ts';
import type { RecoveryPlan, RecoveryRecord } from '#core/recovery/model.ts';

const plan: RecoveryPlan = {
  source: 'db1',
  mode: 'restore',
  target: { instanceId: 'i-0123456789abcdef0' },
  ifVolumeExists: 'fail',
  parallel: 4,
  plannedAt: '2026-12-01T00:00:00.000Z',
  waves: [1, 2].map((wave) => ({
    wave,
    members: (wave === 1 ? ['pgdata', 'my.data', 'cache'] : ['app']).map((volume) => ({
      volume,
      wave,
      role: 'critical' as const,
      after: [],
      instanceId: 'i-0123456789abcdef0',
      containerName: '',
      archive: null,
      predicted: { seconds: null, basis: 'none' },
    })),
  })),
  predicted: { seconds: null, basis: 'none' },
  problems: [],
  warnings: [],
};

let n = 0;
const record = (fields: Partial<RecoveryRecord> = {}): RecoveryRecord => ({
  id: `rc-20261201000000-${(++n).toString(16).padStart(8, '0')}`,
  requestedBy: 'tester',
  state: 'planned',
  plan,
  members: { pgdata: { state: 'pending' }, 'my.data': { state: 'pending' }, cache: { state: 'pending' }, app: { state: 'pending' } },
  createdAt: '2026-12-01T00:00:00.000Z',
  updatedAt: '2026-12-01T00:00:00.000Z',
  ...fields,
});

const sample = (i: number): RestoreRateSample => ({
  at: new Date(Date.UTC(2026, 10, 1) + i * 60_000).toISOString(),
  mode: i % 2 ? 'drill' : 'restore',
  bytes: 1000 * i,
  totalSeconds: i,
  phases: { download: i, extract: 0 },
});

describe('recovery records, restore rates and recovery drills on a DynamoDB-compatible server', () => {
  let dynamo: LocalDynamo;
  let catalog: DynamoDbCatalog;

  beforeAll(async () => {
    dynamo = await startLocalDynamo();
    catalog = new DynamoDbCatalog(dynamo.doc, await dynamo.createCatalogTable());
  });
  afterAll(async () => {
    await dynamo.close();
  });

  it('records a recovery once: a second create of the same id is refused and changes nothing', async () => {
    const r = record();
    await catalog.createRecovery(r);
    await expect(catalog.createRecovery({ ...r, requestedBy: 'someone else' })).rejects.toThrow(RecoveryExistsError);
    expect(await catalog.getRecovery(r.id)).toEqual(r);
    expect(await catalog.getRecovery('rc-20261201000000-ffffffff')).toBeUndefined();
  });

  it('moves a recovery only from the given states, and never replaces its members as a whole', async () => {
    const r = record();
    await catalog.createRecovery(r);
    const running = await catalog.updateRecovery(r.id, ['planned'], { state: 'running', startedAt: '2026-12-01T00:01:00.000Z' });
    expect(running).toMatchObject({ state: 'running', startedAt: '2026-12-01T00:01:00.000Z' });
    expect(await catalog.updateRecovery(r.id, ['planned'], { state: 'failed' })).toBeUndefined(); // a late or duplicate start
    const withMembers = await catalog.updateRecovery(r.id, ['running'], { executionArn: 'arn:x', members: {} } as Partial<RecoveryRecord>);
    expect(withMembers?.members.pgdata).toEqual({ state: 'pending' });
    expect(await catalog.updateRecovery('rc-20261201000000-eeeeeeee', ['planned'], { state: 'running' })).toBeUndefined();
  });

  it('parallel members each set their own progress: none overwrites another (and a member keeps fields it is not given)', async () => {
    const r = record({ state: 'running' });
    await catalog.createRecovery(r);
    await Promise.all(
      ['pgdata', 'my.data', 'cache'].map((v) =>
        catalog.updateRecoveryMember(r.id, v, { state: 'running', startedAt: '2026-12-01T00:02:00.000Z' }, { from: ['pending'] }),
      ),
    );
    await Promise.all(
      ['pgdata', 'my.data', 'cache'].map((v, i) =>
        catalog.updateRecoveryMember(
          r.id,
          v,
          { state: 'succeeded', restoreId: `r-${i.toString()}`, endedAt: '2026-12-01T00:03:00.000Z', totalSeconds: i },
          { from: ['running'] },
        ),
      ),
    );
    const got = await catalog.getRecovery(r.id);
    for (const [i, v] of ['pgdata', 'my.data', 'cache'].entries()) {
      expect(got?.members[v]).toEqual({
        state: 'succeeded',
        startedAt: '2026-12-01T00:02:00.000Z',
        restoreId: `r-${i.toString()}`,
        endedAt: '2026-12-01T00:03:00.000Z',
        totalSeconds: i,
      });
    }
    expect(got?.members.app).toEqual({ state: 'pending' });
  });

  it('a member changes only from the given states or when it names the same restore; never an unknown member, never once the recovery is final', async () => {
    const r = record({ state: 'running' });
    await catalog.createRecovery(r);
    await catalog.updateRecoveryMember(r.id, 'pgdata', { state: 'failed', restoreId: 'r-a', error: 'x' }, { from: ['pending'] });
    expect(await catalog.updateRecoveryMember(r.id, 'pgdata', { state: 'running' }, { from: ['pending'] })).toBeUndefined();
    expect(
      (await catalog.updateRecoveryMember(r.id, 'pgdata', { state: 'succeeded', error: null }, { from: ['pending', 'running'], orRestoreId: 'r-a' }))?.members
        .pgdata,
    ).toMatchObject({ state: 'succeeded', error: null });
    expect(await catalog.updateRecoveryMember(r.id, 'pgdata', { state: 'failed' }, { from: ['pending'], orRestoreId: 'r-other' })).toBeUndefined();
    expect(await catalog.updateRecoveryMember(r.id, 'nosuch', { state: 'running' })).toBeUndefined();
    await catalog.updateRecovery(r.id, ['running'], { state: 'stopped' });
    expect(await catalog.updateRecoveryMember(r.id, 'app', { state: 'skipped' }, { from: ['pending'] })).toBeUndefined();
    expect((await catalog.getRecovery(r.id))?.members.app).toEqual({ state: 'pending' });
  });

  it('keeps the newest 10 rate samples of a volume, newest first, apart from other volumes', async () => {
    for (let i = 1; i <= 14; i++) await catalog.recordRestoreRate('db1', 'pgdata', sample(i));
    await catalog.recordRestoreRate('db1', 'other', sample(99));
    const rates = await catalog.restoreRates('db1', 'pgdata');
    expect(rates.map((s) => s.bytes)).toEqual([14, 13, 12, 11, 10, 9, 8, 7, 6, 5].map((i) => i * 1000));
    expect(rates[0]).toEqual(sample(14));
    expect(await catalog.restoreRates('db1', 'other')).toEqual([sample(99)]);
    expect(await catalog.restoreRates('db1', 'none')).toEqual([]);
  });

  it('keeps the newest recovery drill of a source: an older proof arriving late does not replace it', async () => {
    expect(await catalog.lastRecoveryDrill('db1')).toBeUndefined();
    const newer = { recoveryId: 'rc-20261201000000-00000002', at: '2026-12-01T05:00:00.000Z', outcome: 'succeeded' as const, totalSeconds: 300 };
    await catalog.recordRecoveryDrill('db1', newer);
    await catalog.recordRecoveryDrill('db1', { recoveryId: 'rc-20261124000000-00000001', at: '2026-11-24T05:00:00.000Z', outcome: 'failed', totalSeconds: 10 });
    expect(await catalog.lastRecoveryDrill('db1')).toEqual(newer);
    const failed = { ...newer, recoveryId: 'rc-20261208000000-00000003', at: '2026-12-08T05:00:00.000Z', outcome: 'stopped' as const };
    await catalog.recordRecoveryDrill('db1', failed);
    expect(await catalog.lastRecoveryDrill('db1')).toEqual(failed);
  });
});
