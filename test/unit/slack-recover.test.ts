import { waitUntilTableExists } from '@aws-sdk/client-dynamodb';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Catalog } from '#core/catalog/model.ts';
import { startLocalDynamo, type LocalDynamo } from '#core/local/dynamodb.ts';
import {
  RecoveryPlan,
  type RecoveryApi,
  type RecoveryMemberPlan,
  type RecoveryRecord,
  type RecoveryRequest,
  type StartedRecovery,
} from '#core/recovery/model.ts';
import { ConflictError, NotFoundError } from '#core/restore/errors.ts';
import type { RestoreService } from '#core/restore/service.ts';
import { handleSlackHttp, performSlackWork, type SlackDeps, type SlackMessage, type SlackWork } from '#core/slack/app.ts';
import { parseSlackText } from '#core/slack/grammar.ts';
import { DynamoDbSlackStore, PLAN_ID } from '#core/slack/plans.ts';
import { MAX_BLOCKS, SECTION_MAX_CHARS, bytes, duration, recoveryPlanMessage } from '#core/slack/recovery.ts';
import { slackSignature } from '#core/slack/signature.ts';

const SECRET = '8f742231b10e8888abcd99yyyzzz85a5';
const NOW = new Date('2026-11-27T03:00:00Z');
const HOOK = 'https://hooks.slack.com/commands/T0001/123/abc';
const INSTANCE = 'i-0123456789abcdef0';
const RECOVERY_ID = 'rc-20261127030000-0a1b2c3d';
const key = (volume: string, stamp: string) => `archives/db1/${volume}/${stamp}.tar.zst`;

let dynamo: LocalDynamo;
beforeAll(async () => {
  dynamo = await startLocalDynamo();
});
afterAll(async () => {
  await dynamo.close();
});

/** One protected volume of the source, as the fake planner sees it (the protect config and the catalog). */
interface Volume {
  volume: string;
  wave: number;
  role: 'critical' | 'optional';
  after?: string[];
  container: string;
  /** The newest archive in the catalog now, or none. */
  newest?: string;
  /** Seconds from history, or none. */
  history?: number;
}

/**
 * A stand-in for RecoveryService that keeps the contract's promises: plan() pins each member's
 * newest archive; startPlan() runs exactly the plan it is given, refusing (409, naming them)
 * when a pinned archive is no longer in the catalog.
 */
class FakeRecovery implements RecoveryApi {
  volumes: Volume[] = [
    { volume: 'pgdata', wave: 1, role: 'critical', container: 'db', newest: key('pgdata', '20261127T020000Z'), history: 95 },
    { volume: 'cache', wave: 1, role: 'optional', container: 'redis', newest: key('cache', '20261127T023000Z') },
    { volume: 'uploads', wave: 2, role: 'critical', after: ['pgdata'], container: '', newest: key('uploads', '20261127T010000Z'), history: 300 },
  ];
  /** Archive keys in the catalog (deleting one from here is a changed catalog). */
  live = new Set(this.volumes.flatMap((v) => (v.newest ? [v.newest] : [])));
  plans: RecoveryRequest[] = [];
  started: { plan: RecoveryPlan; requestedBy: string; extra?: Pick<RecoveryRecord, 'notifySlack'> }[] = [];
  records = new Map<string, RecoveryRecord>();

  plan(request: RecoveryRequest): Promise<RecoveryPlan> {
    this.plans.push(request);
    const instanceId = 'instanceId' in request.target ? request.target.instanceId : '?';
    const member = (v: Volume): RecoveryMemberPlan => ({
      volume: v.volume,
      wave: v.wave,
      role: v.role,
      after: v.after ?? [],
      instanceId,
      containerName: v.container,
      archive: v.newest ? { key: v.newest, versionId: 'v1', takenAt: '2026-11-27T02:00:00Z', size: 58_100_000, ageSeconds: 3600 } : null,
      predicted:
        v.history === undefined
          ? { seconds: null, basis: `no restore or drill of db1/${v.volume} recorded yet` }
          : { seconds: v.history, basis: `median rate of 3 earlier restores/drills of db1/${v.volume} (41.2 MB/s)` },
    });
    const waves = [...new Set(this.volumes.map((v) => v.wave))]
      .sort()
      .map((wave) => ({ wave, members: this.volumes.filter((v) => v.wave === wave).map(member) }));
    const problems = this.volumes.filter((v) => v.role === 'critical' && !v.newest).map((v) => `critical member db1/${v.volume} has no archive`);
    return Promise.resolve(
      RecoveryPlan.parse({
        source: request.source,
        mode: 'restore',
        ...(request.at ? { at: request.at } : {}),
        target: request.target,
        ifVolumeExists: request.ifVolumeExists,
        parallel: request.parallel,
        plannedAt: NOW.toISOString(),
        waves,
        predicted: { seconds: 395, basis: 'the sum over waves of each wave’s slowest member; cache has no history' },
        problems,
        warnings: ['no restore or drill of db1/cache recorded yet: its time is not predicted'],
      }),
    );
  }

  start(): Promise<StartedRecovery> {
    return Promise.reject(new Error('Slack confirms a stored plan: start() re-plans and must not be used'));
  }

  startPlan(plan: RecoveryPlan, requestedBy: string, extra?: Pick<RecoveryRecord, 'notifySlack'>): Promise<StartedRecovery> {
    const gone = plan.waves.flatMap((w) => w.members).filter((m) => m.archive && !this.live.has(m.archive.key));
    if (gone.length > 0)
      return Promise.reject(
        new ConflictError(
          `the plan's archives are no longer all in the catalog: ${gone.map((m) => `${m.volume} (${m.archive?.key ?? ''})`).join(', ')}; plan again`,
        ),
      );
    this.started.push({ plan, requestedBy, ...(extra ? { extra } : {}) });
    const record: RecoveryRecord = {
      id: RECOVERY_ID,
      requestedBy,
      state: 'running',
      plan,
      members: { pgdata: { state: 'succeeded', restoreId: 'r-1-00000001', totalSeconds: 80 }, cache: { state: 'running' } },
      createdAt: NOW.toISOString(),
      updatedAt: NOW.toISOString(),
      executionArn: `arn:aws:states:eu-west-1:123456789012:execution:recovery:${RECOVERY_ID}`,
    };
    this.records.set(RECOVERY_ID, record);
    return Promise.resolve({ recoveryId: RECOVERY_ID, state: 'running', executionArn: record.executionArn ?? '', plan });
  }

  get(recoveryId: string): Promise<RecoveryRecord> {
    const r = this.records.get(recoveryId);
    return r ? Promise.resolve(r) : Promise.reject(new NotFoundError(`no recovery ${recoveryId}`));
  }
}

async function harness(overrides: Partial<SlackDeps> = {}) {
  const queued: SlackWork[] = [];
  const posts: { url: string; message: SlackMessage }[] = [];
  const recovery = new FakeRecovery();
  const table = await dynamo.createCatalogTable();
  await waitUntilTableExists({ client: dynamo.client, maxWaitTime: 10, minDelay: 0.05, maxDelay: 0.05 }, { TableName: table });
  const clock = { now: NOW };
  const d: SlackDeps = {
    service: {} as unknown as RestoreService,
    catalog: {} as Catalog,
    recovery,
    access: { teamIds: ['T0001'], channelIds: ['C0001'], userIds: ['U0001', 'U0002', 'U0003'], sources: { U0001: ['db1'], U0002: ['*'] } },
    plans: new DynamoDbSlackStore(dynamo.doc, table),
    cancel: () => Promise.reject(new Error('not used')),
    signingSecret: () => Promise.resolve(SECRET),
    responseUrlPattern: /^https:\/\/hooks\.slack\.com\//,
    enqueue: (work) => {
      queued.push(work);
      return Promise.resolve();
    },
    post: (url, message) => {
      posts.push({ url, message });
      return Promise.resolve();
    },
    now: () => clock.now,
    ...overrides,
  };
  const drain = async (): Promise<void> => {
    for (let work = queued.shift(); work; work = queued.shift()) await performSlackWork(d, work);
  };
  return { d, queued, posts, recovery, clock, drain };
}
type Harness = Awaited<ReturnType<typeof harness>>;

let tick = 0;
const signed = (body: string, now: Date) => {
  const ts = String(Math.floor(now.getTime() / 1000) - (tick++ % 250));
  return { 'X-Slack-Request-Timestamp': ts, 'X-Slack-Signature': slackSignature(SECRET, ts, body) };
};
const form = (fields: Record<string, string>): string => new URLSearchParams(fields).toString();

async function slash(h: Harness, text: string, user = 'U0001'): Promise<SlackMessage | undefined> {
  const body = form({ command: '/lifeboat', text, team_id: 'T0001', channel_id: 'C0001', user_id: user, response_url: HOOK });
  const res = await handleSlackHttp(h.d, { path: '/slack/commands', headers: signed(body, h.clock.now), rawBody: body });
  expect(res.statusCode).toBe(200);
  await h.drain();
  return h.posts.at(-1)?.message ?? (JSON.parse(res.body) as SlackMessage);
}
async function press(h: Harness, planId: string, user = 'U0001', action = 'lifeboat_confirm'): Promise<SlackMessage | undefined> {
  const payload = {
    type: 'block_actions',
    team: { id: 'T0001' },
    user: { id: user },
    channel: { id: 'C0001' },
    response_url: HOOK,
    actions: [{ action_id: action, value: planId }],
  };
  const body = form({ payload: JSON.stringify(payload) });
  expect((await handleSlackHttp(h.d, { path: '/slack/interactions', headers: signed(body, h.clock.now), rawBody: body })).statusCode).toBe(200);
  await h.drain();
  return h.posts.at(-1)?.message;
}
type Block = { type: string; text?: { text: string }; elements?: { action_id: string; value: string; text: { text: string } }[] };
const blocksOf = (m: SlackMessage | undefined): Block[] => (m?.blocks ?? []) as Block[];
const actionsOf = (m: SlackMessage | undefined) => blocksOf(m).find((b) => b.type === 'actions')?.elements ?? [];
/** Asks for a recovery and returns the plan id its Confirm carries. */
async function planned(h: Harness, text = `recover db1 to ${INSTANCE}`, user = 'U0001'): Promise<string> {
  const plan = await slash(h, text, user);
  const id = actionsOf(plan)[0]?.value ?? '';
  expect(id, plan?.text).toMatch(PLAN_ID);
  return id;
}

describe('the recover grammar', () => {
  it.each([
    [`recover db1 to ${INSTANCE}`, { verb: 'recover', source: 'db1', instanceId: INSTANCE, preserve: false }],
    [
      `RECOVER db1 TO ${INSTANCE} at 2026-11-27T03:00:00Z`,
      { verb: 'recover', source: 'db1', instanceId: INSTANCE, at: '2026-11-27T03:00:00Z', preserve: false },
    ],
    [
      `recover shop.db-2 at 2026-11-27T03:00:00+01:00 to ${INSTANCE} preserve`,
      { verb: 'recover', source: 'shop.db-2', instanceId: INSTANCE, at: '2026-11-27T03:00:00+01:00', preserve: true },
    ],
    [`status ${RECOVERY_ID}`, { verb: 'status', recoveryId: RECOVERY_ID }],
    ['status r-mfx2k1a0-1a2b3c4d', { verb: 'status', restoreId: 'r-mfx2k1a0-1a2b3c4d' }],
  ])('%j parses', (text, command) => {
    expect(parseSlackText(text)).toEqual({ ok: true, command });
  });

  it.each([
    ['recover', '`recover` needs the source'],
    [`recover db1`, 'say where: `to <instance-id>`'],
    [`recover $(reboot) to ${INSTANCE}`, '`$(reboot)` is not a source name'],
    ['recover db1 to i-0123;reboot', '`to`: `i-0123;reboot` is not an instance id'],
    [`recover db1 to ${INSTANCE} at yesterday`, '`at`: `yesterday` is not an ISO time'],
    // Seconds are required: the recovery request's own rule, said before anything is queued.
    [`recover db1 to ${INSTANCE} at 2026-11-27T03:00Z`, '`at`: `2026-11-27T03:00Z` is not an ISO time with seconds'],
    [`recover db1 to ${INSTANCE} at`, '`at` needs a value'],
    [`recover db1 to ${INSTANCE} to i-0123456789abcdef1`, '`to` is given twice'],
    [`recover db1 to ${INSTANCE} container db`, '`container` is not understood here'],
    [`recover db1/pgdata to ${INSTANCE}`, '`db1/pgdata` is not a source name'],
    ['status rc-2026-0a1b2c3d', '`status` takes one restore id such as `r-mfx2k1a0-1a2b3c4d` or one recovery id'],
    [`cancel ${RECOVERY_ID}`, '`cancel` takes one restore id'],
  ])('%j is refused naming what is wrong', (text, reason) => {
    const out = parseSlackText(text);
    expect(out.ok).toBe(false);
    if (!out.ok) expect(out.error).toContain(reason);
  });

  it('the help lists recover and status of a recovery', async () => {
    const h = await harness();
    const help = await slash(h, 'help');
    expect(help?.text).toContain('/lifeboat recover &lt;source&gt; to &lt;instance-id&gt; [at &lt;ISO time&gt;] [preserve]');
    expect(help?.text).toContain('/lifeboat status &lt;restore-id | recovery-id&gt;');
  });
});

describe('the recovery plan in Slack', () => {
  it('shows every wave and member with its archive, RPO, size, container and prediction, the total, and Confirm / Cancel carrying only the plan id', async () => {
    const h = await harness();
    const message = await slash(h, `recover db1 to ${INSTANCE} at 2026-11-27T03:00:00Z`);
    // What was planned: this source, this instance, the time, refuse (the default).
    expect(h.recovery.plans).toEqual([
      { source: 'db1', target: { instanceId: INSTANCE }, at: '2026-11-27T03:00:00Z', ifVolumeExists: 'fail', parallel: 4, dryRun: true },
    ]);
    expect(message?.response_type).toBe('ephemeral');
    const blocks = blocksOf(message);
    expect(blocks.map((b) => b.type)).toEqual(['section', 'section', 'section', 'section', 'actions']);
    const [head, wave1, wave2, warnings] = blocks.map((b) => b.text?.text ?? '');
    expect(head).toContain('Recovery plan for `db1` — nothing is sent until <@U0001> confirms (before 2026-11-27T03:15:00.000Z)');
    expect(head).toContain('Confirm runs exactly these archives, even if newer ones arrive');
    expect(head).toContain('*3 volumes* of `db1` in *2 waves* onto `i-0123456789abcdef0`, each volume’s newest archive at or before 2026-11-27T03:00:00Z');
    expect(head).toContain('up to 4 members of a wave at once; predicted total 6 min 35 s (the sum over waves');
    expect(head).toContain('*If a volume already holds data:* that member is refused');
    expect(wave1).toBe(
      [
        '*Wave 1*',
        `• \`pgdata\` — critical; archive \`${key('pgdata', '20261127T020000Z')}\` taken 2026-11-27T02:00:00Z (*RPO 1 h*), 58.1 MB; container \`db\` on \`${INSTANCE}\`; predicted 1 min 35 s (median rate of 3 earlier restores/drills of db1/pgdata (41.2 MB/s))`,
        `• \`cache\` — optional; archive \`${key('cache', '20261127T023000Z')}\` taken 2026-11-27T02:00:00Z (*RPO 1 h*), 58.1 MB; container \`redis\` on \`${INSTANCE}\`; no prediction: no restore or drill of db1/cache recorded yet`,
      ].join('\n'),
    );
    expect(wave2).toContain('*Wave 2* (starts when the wave before it has ended)');
    expect(wave2).toContain('• `uploads` — critical, after `pgdata`; archive');
    expect(wave2).toContain('*data only* (no container)');
    expect(warnings).toBe('*Worth knowing:*\n• no restore or drill of db1/cache recorded yet: its time is not predicted');
    const buttons = actionsOf(message);
    expect(buttons.map((b) => [b.action_id, b.text.text])).toEqual([
      ['lifeboat_confirm', 'Confirm recovery'],
      ['lifeboat_cancel', 'Cancel'],
    ]);
    expect(buttons[0]?.value).toMatch(PLAN_ID);
    expect(buttons[1]?.value).toBe(buttons[0]?.value);
    // The fallback text carries the same plan.
    expect(message?.text).toContain('*Wave 2*');
    expect(h.recovery.started).toEqual([]);
  });

  it('`preserve` asks for ifVolumeExists preserve, and the plan says what happens to existing data', async () => {
    const h = await harness();
    const message = await slash(h, `recover db1 to ${INSTANCE} preserve`);
    expect(h.recovery.plans[0]?.ifVolumeExists).toBe('preserve');
    expect(blocksOf(message)[0]?.text?.text).toContain('its contents are kept aside (preserve) and the archive goes live');
  });

  it('a plan with problems is shown with them and without Confirm; nothing is stored or started', async () => {
    const h = await harness();
    const pg = h.recovery.volumes[0];
    if (pg) delete pg.newest;
    const message = await slash(h, `recover db1 to ${INSTANCE}`);
    expect(actionsOf(message)).toEqual([]);
    expect(blocksOf(message).some((b) => b.type === 'actions')).toBe(false);
    const text = blocksOf(message)
      .map((b) => b.text?.text ?? '')
      .join('\n');
    expect(text).toContain('it has problems, so it cannot be confirmed; nothing was recorded or sent');
    expect(text).toContain('*Problems — this plan cannot run:*\n• critical member db1/pgdata has no archive');
    expect(text).toContain('• `pgdata` — critical; *no archive*');
    expect(h.recovery.started).toEqual([]);
  });

  it('a plan too big for one message stays within Slack’s limits (3000 characters a section, 50 blocks) and says where the rest is', () => {
    const long = (i: number) => `v${i.toString().padStart(2, '0')}-${'x'.repeat(90)}`;
    const members: RecoveryMemberPlan[] = Array.from({ length: 50 }, (_, i) => ({
      volume: long(i),
      wave: (i % 20) + 1,
      role: 'critical',
      after: i >= 20 ? [long(i - 20)] : [],
      instanceId: INSTANCE,
      containerName: `c-${'y'.repeat(90)}`,
      archive: { key: `archives/db1/${long(i)}/20261127T020000Z.tar.zst`, takenAt: '2026-11-27T02:00:00Z', size: 1, ageSeconds: 60 },
      predicted: { seconds: 10, basis: 'b'.repeat(400) },
    }));
    const plan = RecoveryPlan.parse({
      source: 'db1',
      mode: 'restore',
      target: { instanceId: INSTANCE },
      ifVolumeExists: 'fail',
      parallel: 4,
      plannedAt: NOW.toISOString(),
      waves: Array.from({ length: 20 }, (_, w) => ({ wave: w + 1, members: members.filter((m) => m.wave === w + 1) })),
      predicted: { seconds: 200, basis: 'x' },
      problems: [],
      warnings: Array.from({ length: 40 }, (_, i) => `warning ${i.toString()} ${'w'.repeat(2900)}`),
    });
    const stored = {
      id: `p-${'a'.repeat(32)}`,
      recovery: plan,
      requester: { teamId: 'T0001', channelId: 'C0001', userId: 'U0001' },
      createdAt: NOW.toISOString(),
      expiresAt: NOW.toISOString(),
      state: 'pending' as const,
    };
    const message = recoveryPlanMessage(plan, stored, 'U0001');
    const blocks = blocksOf(message);
    expect(blocks.length).toBeLessThanOrEqual(MAX_BLOCKS);
    for (const b of blocks) expect((b.text?.text ?? '').length).toBeLessThanOrEqual(SECTION_MAX_CHARS);
    expect(blocks.at(-1)?.type).toBe('actions');
    expect(blocks.at(-2)?.text?.text).toContain('the plan is longer than one Slack message; `lifeboat recover db1 --dry-run` shows all of it');
  });

  it('durations and sizes read as people write them', () => {
    expect([0, 45, 60, 200, 3600, 7500, 90_000].map(duration)).toEqual(['0 s', '45 s', '1 min', '3 min 20 s', '1 h', '2 h 5 min', '1 d 1 h']);
    expect([512, 58_100_000, 1_200_000_000].map(bytes)).toEqual(['512 B', '58.1 MB', '1.2 GB']);
  });
});

describe('Confirm of a recovery plan', () => {
  it('runs exactly the plan shown, even after a newer archive arrived; the report is to come back to this channel', async () => {
    const h = await harness();
    const shown = await slash(h, `recover db1 to ${INSTANCE}`);
    const planId = actionsOf(shown)[0]?.value ?? '';
    const asPlanned = await h.recovery.plan(h.recovery.plans[0] as RecoveryRequest);
    // A newer pgdata archive lands between the plan and the click: a re-plan would pick it.
    const pg = h.recovery.volumes[0] as Volume;
    pg.newest = key('pgdata', '20261127T025500Z');
    h.recovery.live.add(pg.newest);
    const started = await press(h, planId);
    expect(h.recovery.started).toEqual([
      { plan: asPlanned, requestedBy: 'slack:T0001/U0001', extra: { notifySlack: { responseUrl: HOOK, channelId: 'C0001', userId: 'U0001' } } },
    ]);
    expect(h.recovery.started[0]?.plan.waves[0]?.members[0]?.archive?.key).toBe(key('pgdata', '20261127T020000Z'));
    expect(started).toMatchObject({ response_type: 'in_channel', replace_original: true });
    expect(started?.text).toBe(
      `<@U0001> started recovery \`${RECOVERY_ID}\` of \`db1\` onto \`${INSTANCE}\`: 3 volumes in 2 waves, predicted 6 min 35 s. The report goes to the notification topic, and is posted here too if the recovery ends within 30 minutes (Slack’s reply link expires); \`/lifeboat status ${RECOVERY_ID}\` shows each member meanwhile and the report any time.`,
    );
    expect(await h.d.plans.getPlan(planId)).toMatchObject({ state: 'started', recoveryId: RECOVERY_ID });
  });

  it('a second Confirm answers "already started as recovery rc-…" and starts nothing more', async () => {
    const h = await harness();
    const planId = await planned(h);
    await press(h, planId);
    const again = await press(h, planId);
    expect(again?.text).toContain(`This plan was already started as recovery \`${RECOVERY_ID}\`; nothing more was sent. \`/lifeboat status ${RECOVERY_ID}\``);
    const who = { teamId: 'T0001', channelId: 'C0001', userId: 'U0001' };
    await Promise.all(Array.from({ length: 5 }, () => performSlackWork(h.d, { kind: 'confirm', planId, who, responseUrl: HOOK })));
    expect(h.recovery.started).toHaveLength(1);
  });

  it('a pinned archive gone from the catalog since the plan: refused with the reason, nothing started, and the plan is spent', async () => {
    const h = await harness();
    const planId = await planned(h);
    h.recovery.live.delete(key('uploads', '20261127T010000Z'));
    const refused = await press(h, planId);
    expect(refused?.text).toBe(`Lifeboat: the plan's archives are no longer all in the catalog: uploads (${key('uploads', '20261127T010000Z')}); plan again`);
    expect(h.recovery.started).toEqual([]);
    expect(await h.d.plans.getPlan(planId)).toMatchObject({ state: 'failed' });
    // Putting the archive back does not revive the plan: a new one must be asked for.
    h.recovery.live.add(key('uploads', '20261127T010000Z'));
    expect((await press(h, planId))?.text).toContain('This plan could not be started (the plan');
    expect((await press(h, planId))?.text).toContain('Ask for a new one with `/lifeboat recover …`');
    expect(h.recovery.started).toEqual([]);
  });

  it('only the requester may confirm; Cancel makes the plan unconfirmable', async () => {
    const h = await harness();
    const planId = await planned(h);
    expect((await press(h, planId, 'U0002'))?.text).toContain('Only <@U0001>, who asked for this recovery, can confirm or cancel it.');
    expect((await press(h, planId, 'U0001', 'lifeboat_cancel'))?.text).toBe('Cancelled by <@U0001>; nothing was sent.');
    expect((await press(h, planId))?.text).toContain('This plan was cancelled by <@U0001>; nothing was sent.');
    expect(h.recovery.started).toEqual([]);
  });

  it('an expired plan starts nothing', async () => {
    const h = await harness();
    const planId = await planned(h);
    h.clock.now = new Date(NOW.getTime() + 15 * 60_000 + 1000);
    expect((await press(h, planId))?.text).toContain(
      'This plan expired at 2026-11-27T03:15:00.000Z; nothing was sent. Ask for a new one with `/lifeboat recover …`.',
    );
    expect(h.recovery.started).toEqual([]);
  });
});

describe('who may recover a source', () => {
  it('a user not granted the source is refused before anything is planned', async () => {
    const h = await harness();
    const none = await slash(h, `recover db1 to ${INSTANCE}`, 'U0003'); // on the user list, granted no source
    expect(none?.text).toBe(
      "<@U0003> may not act on source `db1`; nothing was planned or sent. The Lifeboat owners grant sources per user (the Slack config's `sources`).",
    );
    const other = await slash(h, `recover shop-db to ${INSTANCE}`, 'U0001'); // granted db1 only
    expect(other?.text).toContain('<@U0001> may not act on source `shop-db`');
    expect(actionsOf(other)).toEqual([]);
    expect(h.recovery.plans).toEqual([]);
    // Granted `*`: any source.
    expect(actionsOf(await slash(h, `recover shop-db to ${INSTANCE}`, 'U0002'))).toHaveLength(2);
  });

  it('Confirm re-checks the grant: a source taken away since the plan is refused; nothing is started', async () => {
    const h = await harness();
    const planId = await planned(h);
    const regranted = await harness({ plans: h.d.plans, recovery: h.recovery, access: { ...h.d.access, sources: { U0001: ['billing'] } } });
    await performSlackWork(regranted.d, { kind: 'confirm', planId, who: { teamId: 'T0001', channelId: 'C0001', userId: 'U0001' }, responseUrl: HOOK });
    expect(regranted.posts.at(-1)?.message.text).toContain('<@U0001> may not act on source `db1`');
    expect(h.recovery.started).toEqual([]);
    expect(await h.d.plans.getPlan(planId)).toMatchObject({ state: 'pending' });
  });

  it('status of a recovery shows each member, only to a user granted its source', async () => {
    const h = await harness();
    await press(h, await planned(h));
    const status = await slash(h, `status ${RECOVERY_ID}`);
    expect(status?.text).toContain(`Recovery \`${RECOVERY_ID}\` of \`db1\` (restore) onto \`${INSTANCE}\`: *RUNNING*, requested by slack:T0001/U0001.`);
    expect(status?.text).toContain('• wave 1 `pgdata` (critical): succeeded in 1 min 20 s — `r-1-00000001`');
    expect(status?.text).toContain('• wave 1 `cache` (optional): running');
    expect(status?.text).toContain('• wave 2 `uploads` (critical): pending');
    expect((await slash(h, `status ${RECOVERY_ID}`, 'U0003'))?.text).toContain('<@U0003> may not act on source `db1`');
    expect((await slash(h, 'status rc-20261127030000-ffffffff'))?.text).toBe('Lifeboat: no recovery rc-20261127030000-ffffffff');
  });
});

describe('without the recovery state machine', () => {
  const NOT_DEPLOYED = 'Whole-host recovery is not deployed in this Lifeboat stack (it has no recovery state machine); nothing was planned or sent.';

  it('`recover` and `status rc-…` answer that recovery is not deployed', async () => {
    const h = await harness({ recovery: undefined });
    const answer = await slash(h, `recover db1 to ${INSTANCE}`);
    expect(answer?.text).toContain(NOT_DEPLOYED);
    expect(answer?.text).toContain('Restore volumes one at a time with `/lifeboat restore`');
    expect(actionsOf(answer)).toEqual([]);
    expect((await slash(h, `status ${RECOVERY_ID}`))?.text).toContain(NOT_DEPLOYED);
  });

  it('a recovery plan confirmed after recovery was removed starts nothing and stays pending', async () => {
    const h = await harness();
    const planId = await planned(h);
    const without = await harness({ plans: h.d.plans, recovery: undefined });
    await performSlackWork(without.d, { kind: 'confirm', planId, who: { teamId: 'T0001', channelId: 'C0001', userId: 'U0001' }, responseUrl: HOOK });
    expect(without.posts.at(-1)?.message.text).toContain(NOT_DEPLOYED);
    expect(await h.d.plans.getPlan(planId)).toMatchObject({ state: 'pending' });
    expect(h.recovery.started).toEqual([]);
  });
});

describe('escaping a recovery plan', () => {
  it('no posted text or block carries an unescaped <, > or & from the catalog, the manifests or the planner (property)', async () => {
    const data = fc.oneof(
      fc.constantFrom('<!channel>', '<https://evil.example|click>', '<@U0BOSS>', 'a&b', '&lt;', '>quote', '&'.repeat(3100)),
      fc.string({ maxLength: 20 }),
    );
    await fc.assert(
      fc.asyncProperty(data, data, data, async (container, basis, problem) => {
        const h = await harness();
        const pg = h.recovery.volumes[0] as Volume;
        pg.container = container;
        const plan = h.recovery.plan.bind(h.recovery);
        h.recovery.plan = async (r) => {
          const p = await plan(r);
          return { ...p, predicted: { seconds: 1, basis }, warnings: [problem] };
        };
        await press(h, await planned(h));
        await slash(h, `status ${RECOVERY_ID}`);
        h.recovery.volumes[1] = { ...(h.recovery.volumes[1] as Volume), role: 'critical', newest: undefined };
        h.recovery.plan = async (r) => {
          const p = await plan(r);
          return { ...p, problems: [problem] };
        };
        await slash(h, `recover db1 to ${INSTANCE}`);
        const texts = h.posts.flatMap(({ message: m }) => [m.text, ...(m.blocks ?? []).map((b) => JSON.stringify(b))]);
        for (const text of texts) {
          const rest = text.replace(/<@U000[123]>/g, '').replace(/&(amp|lt|gt);/g, '');
          expect(rest, text).not.toMatch(/[<>&]/);
        }
      }),
      { numRuns: 25 },
    );
  });
});
