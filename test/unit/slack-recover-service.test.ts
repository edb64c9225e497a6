import { waitUntilTableExists } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ArchiveStore } from '#core/archive-store.ts';
import { DynamoDbCatalog } from '#core/catalog/dynamodb-catalog.ts';
import type { ArchiveEntry } from '#core/catalog/model.ts';
import { startLocalDynamo, type LocalDynamo } from '#core/local/dynamodb.ts';
import { RestorePolicy } from '#core/policy.ts';
import { ProtectionPolicy } from '#core/protection.ts';
import { RecoveryService } from '#core/recovery/service.ts';
import type { CommandRunner, InstanceDirectory } from '#core/restore/ports.ts';
import { RestoreService } from '#core/restore/service.ts';
import { loadDocument } from '#core/runbooks/document.ts';
import { performSlackWork, type SlackDeps, type SlackMessage, type SlackWork } from '#core/slack/app.ts';
import { parseSlackText } from '#core/slack/grammar.ts';
import { DynamoDbSlackStore } from '#core/slack/plans.ts';

// `/lifeboat recover` over the real recovery service and planner, the catalog on a DynamoDB-compatible
// server, the host and the state machine standing in: the plan Slack shows is the planner's, and
// Confirm records and starts exactly it — or refuses, saying why, when the catalog changed.
const INSTANCE = 'i-0123456789abcdef0';
const HOOK = 'https://hooks.slack.com/commands/T0001/123/abc';
const NOW = new Date('2026-11-27T04:00:00Z');
const WHO = { teamId: 'T0001', channelId: 'C0001', userId: 'U0001' };
const PG = 'archives/db1/pgdata/20261127T031500Z.tar.zst';
const UPLOADS = 'archives/db1/uploads/20261127T030000Z.tar.zst';

const protect = [
  { volume: 'pgdata', recovery: { wave: 1, container: 'shop-db' } },
  { volume: 'uploads', recovery: { after: ['pgdata'] } },
].map((p) => ProtectionPolicy.parse({ source: 'db1', drillHost: { instanceId: INSTANCE }, rpoMinutes: 60, ...p }));

/** A work item without who asked and where to answer (each kind of it). */
type Unaddressed<W> = W extends unknown ? Omit<W, 'who' | 'responseUrl'> : never;

describe('/lifeboat recover with the recovery service', () => {
  let dynamo: LocalDynamo;
  let catalog: DynamoDbCatalog;
  let deps: SlackDeps;
  const started: string[] = [];
  const posts: SlackMessage[] = [];

  const store: ArchiveStore = {
    head: () => Promise.resolve(undefined),
    getText: () => Promise.resolve(undefined),
    presignGet: (key) => Promise.resolve(`https://bucket.s3.eu-west-1.amazonaws.com/${key}?X-Amz-Signature=x`),
    listKeys: async function* () {},
  };
  const host: CommandRunner & InstanceDirectory = {
    sendRestore: () => Promise.reject(new Error('a plan or a start of a recovery sends nothing to a host')),
    invocationOutput: () => Promise.reject(new Error('not used')),
    cancel: () => Promise.resolve(),
    commandFor: () => Promise.resolve(undefined),
    status: () => Promise.resolve({ online: true, pingStatus: 'Online', sources: ['*'] }),
  };
  const put = (entry: Partial<ArchiveEntry> & { key: string; volume: string }): Promise<void> =>
    catalog.putArchive({
      source: 'db1',
      takenAt: '2026-11-27T03:15:00Z',
      compression: 'zstd',
      size: 1000,
      sha256: 'ab'.repeat(32),
      catalogedAt: '2026-11-27T03:16:00Z',
      ...entry,
    });
  const work = async (w: Unaddressed<SlackWork>): Promise<SlackMessage | undefined> => {
    await performSlackWork(deps, { ...w, who: WHO, responseUrl: HOOK });
    return posts.at(-1);
  };
  const recover = async (): Promise<{ message: SlackMessage | undefined; planId: string }> => {
    const parsed = parseSlackText(`recover db1 to ${INSTANCE}`);
    if (!parsed.ok) throw new Error(parsed.error);
    const message = await work({ kind: 'command', command: parsed.command });
    const actions = (message?.blocks ?? []).find((b) => (b as { type: string }).type === 'actions') as { elements: { value: string }[] } | undefined;
    return { message, planId: actions?.elements[0]?.value ?? '' };
  };

  beforeAll(async () => {
    dynamo = await startLocalDynamo();
    const table = await dynamo.createCatalogTable();
    await waitUntilTableExists({ client: dynamo.client, maxWaitTime: 10, minDelay: 0.05, maxDelay: 0.05 }, { TableName: table });
    catalog = new DynamoDbCatalog(dynamo.doc, table);
    await put({ key: PG, volume: 'pgdata', versionId: 'v-1' });
    await put({ key: UPLOADS, volume: 'uploads', takenAt: '2026-11-27T03:00:00Z' });
    const restores = new RestoreService(
      { catalog, store, runner: host, instances: host },
      {
        document: loadDocument('restore-volume'),
        helperImage: 'local/lifeboat-helper:1',
        // As deployment builds it from the protect config: the spare ('*') host may replace these volumes of db1.
        policy: RestorePolicy.parse({ volumes: protect.map(({ source, volume }) => ({ source, volume })) }),
      },
    );
    let n = 0;
    const recovery = new RecoveryService({
      catalog,
      restores,
      instances: host,
      protect,
      engine: {
        start: (id) => {
          started.push(id);
          return Promise.resolve(`arn:aws:states:eu-west-1:123456789012:execution:recovery:${id}`);
        },
      },
      now: () => NOW,
      newId: () => `rc-20261127040000-0000000${(++n).toString()}`,
    });
    deps = {
      service: restores,
      catalog,
      recovery,
      access: { teamIds: ['T0001'], channelIds: ['C0001'], userIds: ['U0001'], sources: { U0001: ['db1', 'db2'] } },
      plans: new DynamoDbSlackStore(dynamo.doc, table),
      cancel: () => Promise.reject(new Error('not used')),
      signingSecret: () => Promise.resolve('x'.repeat(32)),
      responseUrlPattern: /^https:\/\/hooks\.slack\.com\//,
      enqueue: () => Promise.resolve(),
      post: (_url, message) => {
        posts.push(message);
        return Promise.resolve();
      },
      now: () => NOW,
    };
  });
  afterAll(async () => {
    await dynamo.close();
  });

  it('shows the planner’s waves and pinned archives; Confirm records exactly that plan and starts the state machine once', async () => {
    const { message, planId } = await recover();
    const text = message?.text ?? '';
    expect(text).toContain('*2 volumes* of `db1` in *2 waves*');
    expect(text).toContain(`• \`pgdata\` — critical; archive \`${PG}\` taken 2026-11-27T03:15:00Z (*RPO 45 min*)`);
    expect(text).toContain('container `shop-db`');
    expect(text).toContain('• `uploads` — critical, after `pgdata`');
    expect(text).toContain('no restore or drill of db1/pgdata recorded yet');
    const shown = await deps.plans.getPlan(planId);
    // A newer pgdata archive arrives before the click: the plan stays on the one shown.
    await put({ key: 'archives/db1/pgdata/20261127T035500Z.tar.zst', volume: 'pgdata', takenAt: '2026-11-27T03:55:00Z' });
    const answer = await work({ kind: 'confirm', planId });
    expect(answer?.text).toContain('<@U0001> started recovery `rc-20261127040000-00000001` of `db1`');
    expect(started).toEqual(['rc-20261127040000-00000001']);
    const record = await deps.recovery?.get('rc-20261127040000-00000001');
    expect(record?.plan).toEqual(shown?.recovery);
    expect(record?.plan.waves.map((w) => w.members.map((m) => m.archive?.key))).toEqual([[PG], [UPLOADS]]);
    expect(record?.requestedBy).toBe('slack:T0001/U0001');
    // The record keeps where the report goes (get() never shows it).
    expect((await catalog.getRecovery('rc-20261127040000-00000001'))?.notifySlack).toEqual({ responseUrl: HOOK, channelId: 'C0001', userId: 'U0001' });
  });

  it('an archive of the plan deleted before the click: Confirm is refused naming it; nothing is recorded or started', async () => {
    const before = started.length;
    const { planId } = await recover();
    expect(await catalog.markArchiveDeleted(UPLOADS, '2026-11-27T04:00:00Z')).toBe(true);
    const answer = await work({ kind: 'confirm', planId });
    expect(answer?.text).toBe(
      `Lifeboat: the plan's archives are no longer what was planned: uploads: ${UPLOADS} was deleted at 2026-11-27T04:00:00Z; plan again`,
    );
    expect(started).toHaveLength(before);
    expect(await deps.plans.getPlan(planId)).toMatchObject({ state: 'failed' });
    // Asked again, the plan shows the problem and has no Confirm.
    const again = await recover();
    expect(again.planId).toBe('');
    expect(again.message?.text).toContain('*Problems — this plan cannot run:*');
    expect(again.message?.text).toContain('uploads: no archive of db1/uploads is in the catalog');
  });

  it('a source with no protected volumes: the planner’s answer, and nothing to confirm', async () => {
    const parsed = parseSlackText(`recover db2 to ${INSTANCE}`);
    if (!parsed.ok) throw new Error(parsed.error);
    const answer = await work({ kind: 'command', command: parsed.command });
    expect(answer?.text).toBe(
      'Lifeboat: source db2 has no protected volumes (protect[] in the Lifeboat configuration names none of it), so there is nothing to recover',
    );
    expect(answer?.blocks).toBeUndefined();
  });
});
