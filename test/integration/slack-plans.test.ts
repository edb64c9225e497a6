import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { waitUntilTableExists } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalDynamo, type LocalDynamo } from '#core/local/dynamodb.ts';
import { DynamoDbSlackStore, newPlanId, type StoredPlan } from '#core/slack/plans.ts';

// The Slack plan and replay store on a DynamoDB-compatible server, in a table shaped like the catalog.
describe('DynamoDbSlackStore (catalog table)', () => {
  let dynamo: LocalDynamo;
  let table: string;
  let store: DynamoDbSlackStore;
  const NOW = new Date('2026-11-27T03:00:00Z');
  const REQUEST: NonNullable<StoredPlan['request']> = {
    source: 'db1',
    volume: 'pgdata',
    archive: { key: 'archives/db1/pgdata/20261127T020000Z.tar.zst' },
    instanceId: 'i-0123456789abcdef0',
    containerName: 'db',
    ifVolumeExists: 'fail',
    dryRun: false,
    allowUnverified: false,
  };
  const plan = (changes: Partial<StoredPlan> = {}): StoredPlan => ({
    id: newPlanId(),
    request: REQUEST,
    requester: { teamId: 'T0001', channelId: 'C0001', userId: 'U0001' },
    createdAt: NOW.toISOString(),
    expiresAt: new Date(NOW.getTime() + 900_000).toISOString(),
    state: 'pending',
    ...changes,
  });

  beforeAll(async () => {
    dynamo = await startLocalDynamo();
    table = await dynamo.createCatalogTable();
    await waitUntilTableExists({ client: dynamo.client, maxWaitTime: 10, minDelay: 0.05, maxDelay: 0.05 }, { TableName: table });
    store = new DynamoDbSlackStore(dynamo.doc, table);
  });
  afterAll(async () => {
    await dynamo.close();
  });

  it('a (timestamp, signature) pair is accepted once; its record expires (TTL) after the replay window', async () => {
    const forgetAfter = new Date(NOW.getTime() + 360_000);
    expect(await store.firstSeen('1795748400', `v0=${'a'.repeat(64)}`, forgetAfter)).toBe(true);
    expect(await store.firstSeen('1795748400', `v0=${'a'.repeat(64)}`, forgetAfter)).toBe(false);
    expect(await store.firstSeen('1795748400', `v0=${'b'.repeat(64)}`, forgetAfter)).toBe(true);
    expect(await store.firstSeen('1795748401', `v0=${'a'.repeat(64)}`, forgetAfter)).toBe(true);
    const item = await dynamo.doc.send(new GetCommand({ TableName: table, Key: { pk: `SLACKSEEN#1795748400#v0=${'a'.repeat(64)}`, sk: 'SLACKSEEN' } }));
    expect(item.Item?.expiration).toBe(forgetAfter.getTime() / 1000);
  });

  it('of 20 concurrent claims of one plan exactly one wins; the others see it starting, then started with its restore id', async () => {
    const p = plan();
    await store.savePlan(p);
    const claims = await Promise.all(Array.from({ length: 20 }, () => store.claimPlan(p.id, NOW)));
    expect(claims.filter((c) => c.ok)).toHaveLength(1);
    expect(claims.filter((c) => !c.ok && c.why === 'starting')).toHaveLength(19);
    await store.settlePlan(p.id, { restoreId: 'r-1-00000001' });
    expect(await store.claimPlan(p.id, NOW)).toMatchObject({ ok: false, why: 'started', plan: { restoreId: 'r-1-00000001' } });
    expect(await store.cancelPlan(p.id, 'U0001', NOW)).toMatchObject({ ok: false, why: 'started' });
    // Kept readable for a day after its expiry, then DynamoDB's TTL removes it.
    const item = await dynamo.doc.send(new GetCommand({ TableName: table, Key: { pk: `SLACKPLAN#${p.id}`, sk: 'SLACKPLAN' } }));
    expect(item.Item?.expiration).toBe(Date.parse(p.expiresAt) / 1000 + 86_400);
  });

  it('an expired plan cannot be claimed or cancelled; a cancelled one cannot be claimed; a failed one stays failed', async () => {
    const expired = plan();
    await store.savePlan(expired);
    const later = new Date(Date.parse(expired.expiresAt) + 1);
    expect(await store.claimPlan(expired.id, later)).toMatchObject({ ok: false, why: 'expired' });
    expect(await store.cancelPlan(expired.id, 'U0001', later)).toMatchObject({ ok: false, why: 'expired' });

    const cancelled = plan();
    await store.savePlan(cancelled);
    expect(await store.cancelPlan(cancelled.id, 'U0001', NOW)).toMatchObject({ ok: true, plan: { state: 'cancelled', cancelledBy: 'U0001' } });
    expect(await store.claimPlan(cancelled.id, NOW)).toMatchObject({ ok: false, why: 'cancelled' });

    const failed = plan();
    await store.savePlan(failed);
    expect((await store.claimPlan(failed.id, NOW)).ok).toBe(true);
    await store.settlePlan(failed.id, { error: 'instance i-0123456789abcdef0 is not online in SSM' });
    expect(await store.claimPlan(failed.id, NOW)).toMatchObject({
      ok: false,
      why: 'failed',
      plan: { error: 'instance i-0123456789abcdef0 is not online in SSM' },
    });
  });

  it('unknown and malformed plan ids are unknown; a plan id is never stored twice', async () => {
    expect(await store.claimPlan(newPlanId(), NOW)).toEqual({ ok: false, why: 'unknown' });
    expect(await store.claimPlan('SLACKSEEN#x', NOW)).toEqual({ ok: false, why: 'unknown' });
    expect(await store.getPlan('../x')).toBeUndefined();
    const p = plan();
    await store.savePlan(p);
    await expect(store.savePlan({ ...p, request: { ...REQUEST, archive: { key: 'archives/db1/pgdata/other.tar.zst' } } })).rejects.toThrow(
      /conditional request failed/i,
    );
    expect((await store.getPlan(p.id))?.request?.archive).toEqual(REQUEST.archive);
  });

  it('a plan is stored only with its archive pinned by key: latest or "before" is refused', async () => {
    for (const archive of ['latest', { before: '2026-11-27T03:00:00Z' }] as const) {
      await expect(store.savePlan(plan({ request: { ...REQUEST, archive } }))).rejects.toThrow(/a stored plan names its archive by key/);
    }
  });
});
