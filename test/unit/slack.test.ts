import { waitUntilTableExists } from '@aws-sdk/client-dynamodb';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SOURCE_PATTERN, VOLUME_PATTERN } from '#core/archive-key.ts';
import type { ArchiveEntry, Catalog, RestoreRecord, VolumeSummary } from '#core/catalog/model.ts';
import type { RecoveryRecord } from '#core/recovery/model.ts';
import { startLocalDynamo, type LocalDynamo } from '#core/local/dynamodb.ts';
import type { CancelOutcome } from '#core/restore/cancel.ts';
import { NotFoundError } from '#core/restore/errors.ts';
import { INSTANCE_ID_PATTERN } from '#core/restore/request.ts';
import { RestoreRequest } from '#core/restore/schemas.ts';
import type { RestorePlan, RestoreService } from '#core/restore/service.ts';
import { NASTY as CORPUS } from '../support/nasty.ts';
import { REPLAYED, handleSlackHttp, performSlackWork, type SlackDeps, type SlackMessage, type SlackWork } from '#core/slack/app.ts';
import { parseSlackText } from '#core/slack/grammar.ts';
import { escapeSlack, md } from '#core/slack/mrkdwn.ts';
import { recoveryStatusText } from '#core/slack/recovery.ts';
import { DynamoDbSlackStore, PLAN_ID } from '#core/slack/plans.ts';
import { slackSignature, verifySlackSignature } from '#core/slack/signature.ts';

const SECRET = '8f742231b10e8888abcd99yyyzzz85a5';
const NOW = new Date('2026-11-27T03:00:00Z');
const TS = String(NOW.getTime() / 1000);
const HOOK = 'https://hooks.slack.com/commands/T0001/123/abc';
const INSTANCE = 'i-0123456789abcdef0';
const KEY_1 = 'archives/db1/pgdata/20261127T020000Z.tar.zst';
const KEY_2 = 'archives/db1/pgdata/20261127T025500Z.tar.zst';

// The plans and the replay record live in a DynamoDB-compatible server, as in the stack.
let dynamo: LocalDynamo;
beforeAll(async () => {
  dynamo = await startLocalDynamo();
});
afterAll(async () => {
  await dynamo.close();
});

/** What the fake service knows: the newest archive now, and what reached a host. */
interface World {
  latestKey: string;
  /** Strings an archive, a host or the catalog controls, shown in every answer. */
  data: { container: string; error?: string; verify: string; key?: string; source: string; label?: string };
  /** The plan's prediction (the real service's comes from the volume's restore history). */
  predicted: RestorePlan['predicted'];
  sent: { request: RestoreRequest; requestedBy: string }[];
  drills: unknown[];
  cancels: { id: string; requestedBy: string }[];
  records: Record<string, Partial<RestoreRecord>>;
  startError?: Error;
  now: Date;
}

function planFor(w: World, r: RestoreRequest): RestorePlan {
  const key = typeof r.archive === 'object' && 'key' in r.archive ? r.archive.key : (w.data.key ?? w.latestKey);
  return {
    archive: { key, takenAt: '2026-11-27T02:00:00Z', ageSeconds: 3600, size: 1024, sha256: 'ab'.repeat(32), compression: 'zstd', hasManifest: true },
    target: { instanceId: r.instanceId, online: true, pingStatus: 'Online' },
    volume: r.volume,
    containerName: r.containerName ?? '',
    dataOnly: r.containerName === undefined,
    mountPath: { path: '/var/lib/postgresql/data', from: 'manifest' },
    // The detail quotes the archive's image: archive-controlled, escaped like the rest.
    verification: {
      engine: r.engine === undefined || r.engine === 'auto' ? 'postgres' : r.engine,
      from: r.engine === undefined || r.engine === 'auto' ? 'manifest-image' : 'request',
      detail: `${r.engine ?? 'postgres'}: the archive's manifest names image ${w.data.container}`,
      health: ['pg_isready', '-q', '-h', '/var/run/postgresql', '-U', 'postgres'],
      check: r.check === undefined ? null : { text: r.check, from: 'request', argv: null },
      expectMinimum: r.expectMinimum === undefined ? null : { value: r.expectMinimum, from: 'request' },
    },
    existingVolume: `if volume ${r.volume} already holds data, refused (${w.data.container})`,
    missingContainer: `created from ${w.data.container}`,
    // A manifest's label the recreation leaves out: its key is the archive's words.
    recreation: {
      dropped: w.data.label === undefined ? [] : [{ what: `label ${w.data.label}`, reason: 'only com.docker.compose.* labels are put back' }],
      otherMounts: [],
    },
    // Archive-controlled text (a manifest's driver options) is posted too: it must be escaped like the rest.
    volumeCreation: { manifestRecorded: { driver: 'local', driverOpts: { o: w.data.container } }, used: { driver: 'local', driverOpts: {}, from: 'default' } },
    integrity: `sha256 ${'ab'.repeat(32)} checked on the host`,
    expectedSize: { bytes: 4096, from: 'manifest' },
    predicted: w.predicted,
    parameters: {},
  } satisfies RestorePlan;
}

async function deps(overrides: Partial<SlackDeps> = {}, world: Partial<World> = {}) {
  const queued: SlackWork[] = [];
  const posts: { url: string; message: SlackMessage }[] = [];
  const w: World = {
    latestKey: KEY_1,
    data: { container: 'db', verify: '42', source: 'db1' },
    sent: [],
    drills: [],
    cancels: [],
    records: {},
    now: NOW,
    predicted: { seconds: null, basis: 'no restore or drill of db1/pgdata recorded yet' },
    ...world,
  };
  const service = {
    resolveArchive: (r: RestoreRequest) =>
      Promise.resolve({ key: planFor(w, r).archive.key, manifest: { container: { name: `/${w.data.container}` } } } as unknown as ArchiveEntry),
    plan: (r: RestoreRequest) => {
      if (w.data.error) return Promise.reject(new NotFoundError(w.data.error));
      return Promise.resolve(planFor(w, r));
    },
    start: (r: RestoreRequest, requestedBy: string) => {
      if (w.startError) return Promise.reject(w.startError);
      w.sent.push({ request: r, requestedBy });
      return Promise.resolve({ restoreId: `r-1-0000000${w.sent.length.toString()}`, state: 'sent', commandId: 'c-1', plan: planFor(w, r) });
    },
    drill: (r: unknown) => {
      w.drills.push(r);
      return Promise.resolve({ restoreId: 'r-1-000000d1', plan: { volume: `lifeboat-drill-${w.data.container}`, predicted: w.predicted } });
    },
    get: (id: string) => {
      const record = w.records[id];
      if (!record) return Promise.reject(new NotFoundError(`no restore ${id}`));
      return Promise.resolve(record as RestoreRecord);
    },
  } as unknown as RestoreService;
  const catalog = {
    listVolumes: () =>
      Promise.resolve([
        { source: w.data.source, volume: 'pgdata', newestKey: w.data.key ?? KEY_1, newestTakenAt: '2026-11-27T02:00:00Z', lastProvenAt: w.data.verify },
      ] as unknown as VolumeSummary[]),
    listArchives: () =>
      Promise.resolve([
        { key: w.data.key ?? KEY_1, takenAt: '2026-11-27T02:00:00Z', size: 1, lastDrill: { outcome: w.data.verify } },
      ] as unknown as ArchiveEntry[]),
  } as unknown as Catalog;
  const table = await dynamo.createCatalogTable();
  // dynalite answers CreateTable before the table is ACTIVE.
  await waitUntilTableExists({ client: dynamo.client, maxWaitTime: 10, minDelay: 0.05, maxDelay: 0.05 }, { TableName: table });
  const plans = new DynamoDbSlackStore(dynamo.doc, table);
  const d: SlackDeps = {
    service,
    catalog,
    access: { teamIds: ['T0001'], channelIds: ['C0001'], userIds: ['U0001', 'U0002', 'U0003'], sources: { U0001: ['db1'], U0002: ['*'] } },
    // The protect config names the volume's container: a restore naming none stops and restarts it.
    protect: [{ source: 'db1', volume: 'pgdata', recovery: { container: 'db' } }],
    plans,
    cancel: (id, requestedBy): Promise<CancelOutcome> => {
      w.cancels.push({ id, requestedBy });
      return Promise.resolve({ restoreId: id, state: 'cancelling', message: 'SSM was asked to cancel' });
    },
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
    now: () => w.now,
    ...overrides,
  };
  /** The queue worker (SQS in AWS). */
  const drain = async (): Promise<void> => {
    for (let work = queued.shift(); work; work = queued.shift()) await performSlackWork(d, work);
  };
  return { d, queued, posts, w, sent: w.sent, drain };
}
type Harness = Awaited<ReturnType<typeof deps>>;

/** A failed restore of db1/pgdata started from Slack, with the strings its host reported. */
const failedRecord = (reported: Pick<RestoreRecord, 'archiveKey' | 'verifyOutput' | 'error'> & Partial<RestoreRecord>): Partial<RestoreRecord> => ({
  id: 'r-1-00000001',
  mode: 'restore',
  state: 'failed',
  source: 'db1',
  volume: 'pgdata',
  instanceId: INSTANCE,
  requestedBy: 'slack:T0001/U0001',
  phases: {},
  ...reported,
});

const form = (fields: Record<string, string>): string => new URLSearchParams(fields).toString();
const command = (text: string, who: Partial<Record<'team_id' | 'channel_id' | 'user_id', string>> = {}): string =>
  form({ command: '/lifeboat', text, team_id: 'T0001', channel_id: 'C0001', user_id: 'U0001', response_url: HOOK, ...who });
// Every request Slack sends has its own timestamp or body: a fresh timestamp per call, inside the window.
let tick = 0;
const freshTs = (now = NOW): string => String(Math.floor(now.getTime() / 1000) - (tick++ % 250));
const signed = (body: string, ts = freshTs(), secret = SECRET) => ({ 'X-Slack-Request-Timestamp': ts, 'X-Slack-Signature': slackSignature(secret, ts, body) });
const click = (planId: string, user = 'U0001', action = 'lifeboat_confirm', channel = 'C0001'): string =>
  form({
    payload: JSON.stringify({
      type: 'block_actions',
      team: { id: 'T0001' },
      user: { id: user },
      channel: { id: channel },
      response_url: HOOK,
      actions: [{ action_id: action, value: planId }],
    }),
  });

async function slash(h: Harness, text: string, who: Parameters<typeof command>[1] = {}): Promise<SlackMessage | undefined> {
  const body = command(text, who);
  const res = await handleSlackHttp(h.d, { path: '/slack/commands', headers: signed(body, freshTs(h.w.now)), rawBody: body });
  expect(res.statusCode).toBe(200);
  await h.drain();
  return h.posts.at(-1)?.message ?? (JSON.parse(res.body) as SlackMessage);
}
async function press(h: Harness, planId: string, user = 'U0001', action = 'lifeboat_confirm', channel = 'C0001'): Promise<SlackMessage | undefined> {
  const body = click(planId, user, action, channel);
  expect((await handleSlackHttp(h.d, { path: '/slack/interactions', headers: signed(body, freshTs(h.w.now)), rawBody: body })).statusCode).toBe(200);
  await h.drain();
  return h.posts.at(-1)?.message;
}
const buttons = (m: SlackMessage | undefined) => (m?.blocks?.[1] as { elements: { action_id: string; value: string }[] } | undefined)?.elements ?? [];
/** Asks for a restore and returns the plan id its buttons carry. */
async function planned(h: Harness, text = `restore db1/pgdata to ${INSTANCE}`, user = 'U0001'): Promise<string> {
  const plan = await slash(h, text, { user_id: user });
  const id = buttons(plan)[0]?.value ?? '';
  expect(id, plan?.text).toMatch(PLAN_ID);
  return id;
}

describe('Slack request signing', () => {
  const body = command('volumes');
  it('a valid signature is accepted', () => {
    expect(verifySlackSignature({ rawBody: body, ...{ timestamp: TS, signature: slackSignature(SECRET, TS, body) }, secret: SECRET, now: NOW })).toEqual({
      ok: true,
    });
  });
  it.each([
    ['body tampered', { rawBody: `${body}&x=1`, timestamp: TS, signature: slackSignature(SECRET, TS, body) }],
    ['wrong secret', { rawBody: body, timestamp: TS, signature: slackSignature('another-secret', TS, body) }],
    [
      'stale timestamp (5 min 1 s old)',
      { rawBody: body, timestamp: String(Number(TS) - 301), signature: slackSignature(SECRET, String(Number(TS) - 301), body) },
    ],
    [
      'future timestamp (5 min 1 s ahead)',
      { rawBody: body, timestamp: String(Number(TS) + 301), signature: slackSignature(SECRET, String(Number(TS) + 301), body) },
    ],
    ['missing timestamp', { rawBody: body, timestamp: undefined, signature: slackSignature(SECRET, TS, body) }],
    ['missing signature', { rawBody: body, timestamp: TS, signature: undefined }],
    ['malformed signature', { rawBody: body, timestamp: TS, signature: 'v0=zz' }],
  ])('%s → refused', (_case, input) => {
    expect(verifySlackSignature({ ...input, secret: SECRET, now: NOW }).ok).toBe(false);
  });
  it('exactly five minutes away is still inside the window', () => {
    const ts = String(Number(TS) - 300);
    expect(verifySlackSignature({ rawBody: body, timestamp: ts, signature: slackSignature(SECRET, ts, body), secret: SECRET, now: NOW }).ok).toBe(true);
  });

  it.each([
    ['tampered body', { ...signed(command('volumes')), body: command(`restore pgdata to ${INSTANCE}`) }],
    ['wrong secret', { ...signed(command('volumes'), TS, 'not-the-secret'), body: command('volumes') }],
    ['stale', { ...signed(command('volumes'), String(Number(TS) - 3600)), body: command('volumes') }],
    ['no headers', { body: command('volumes') }],
  ])('the route answers 401 to a %s request, and nothing else happens', async (_case, req) => {
    const { d, queued, posts } = await deps();
    const { body: rawBody, ...headers } = req;
    const res = await handleSlackHttp(d, { path: '/slack/commands', headers, rawBody });
    expect(res.statusCode).toBe(401);
    expect(queued).toEqual([]);
    expect(posts).toEqual([]);
  });

  it.each(['/slack/commands', '/slack/interactions'] as const)(
    'a replayed request on %s (same timestamp and signature, inside the window) is refused with 401 and does nothing',
    async (path) => {
      const h = await deps();
      const planId = path === '/slack/interactions' ? await planned(h) : '';
      const body = path === '/slack/commands' ? command(`restore db1/pgdata to ${INSTANCE}`) : click(planId);
      const headers = signed(body, TS);
      expect((await handleSlackHttp(h.d, { path, headers, rawBody: body })).statusCode).toBe(200);
      await h.drain();
      const sentBefore = h.sent.length;
      const postsBefore = h.posts.length;
      const replay = await handleSlackHttp(h.d, { path, headers, rawBody: body });
      expect(replay).toMatchObject({ statusCode: 401, body: REPLAYED });
      expect(h.queued).toEqual([]);
      expect(h.sent).toHaveLength(sentBefore);
      expect(h.posts).toHaveLength(postsBefore);
    },
  );

  it('answers Slack ssl_check probes', async () => {
    const { d, queued } = await deps();
    const body = form({ ssl_check: '1', token: 'x' });
    expect(await handleSlackHttp(d, { path: '/slack/commands', headers: signed(body), rawBody: body })).toMatchObject({ statusCode: 200, body: '' });
    expect(queued).toEqual([]);
  });
});

describe('the /lifeboat grammar', () => {
  it.each([
    ['', { verb: 'help' }],
    ['volumes', { verb: 'volumes' }],
    ['list db1/pgdata', { verb: 'list', source: 'db1', volume: 'pgdata' }],
    [
      'plan pgdata at 2026-11-27T03:00:00Z to i-0123456789abcdef0',
      { verb: 'plan', volume: 'pgdata', at: '2026-11-27T03:00:00Z', instanceId: 'i-0123456789abcdef0', dataOnly: false },
    ],
    [
      'restore pgdata archive archives/db1/pgdata/20261127T031500Z.tar.zst to i-0123456789abcdef0 container db preserve',
      {
        verb: 'restore',
        volume: 'pgdata',
        archiveKey: 'archives/db1/pgdata/20261127T031500Z.tar.zst',
        instanceId: 'i-0123456789abcdef0',
        container: 'db',
        preserve: true,
        dataOnly: false,
      },
    ],
    ['RESTORE pgdata to i-0123456789abcdef0', { verb: 'restore', volume: 'pgdata', instanceId: 'i-0123456789abcdef0', preserve: false, dataOnly: false }],
    ['status r-mfx2k1a0-1a2b3c4d', { verb: 'status', restoreId: 'r-mfx2k1a0-1a2b3c4d' }],
    ['cancel r-mfx2k1a0-1a2b3c4d', { verb: 'cancel', restoreId: 'r-mfx2k1a0-1a2b3c4d' }],
    ['CANCEL r-mfx2k1a0-1a2b3c4d', { verb: 'cancel', restoreId: 'r-mfx2k1a0-1a2b3c4d' }],
    ['drill pgdata to i-0123456789abcdef0', { verb: 'drill', volume: 'pgdata', instanceId: 'i-0123456789abcdef0' }],
    [
      'restore pgdata to i-0123456789abcdef0 engine redis',
      { verb: 'restore', volume: 'pgdata', instanceId: 'i-0123456789abcdef0', preserve: false, dataOnly: false, engine: 'redis' },
    ],
    [
      // `check` takes the rest of the line; Slack sends < > & as entities.
      'plan pgdata to i-0123456789abcdef0 engine MySQL minimum 5 check select count(*) from orders where total &gt;  3',
      {
        verb: 'plan',
        volume: 'pgdata',
        instanceId: 'i-0123456789abcdef0',
        dataOnly: false,
        engine: 'mysql',
        expectMinimum: 5,
        check: 'select count(*) from orders where total > 3',
      },
    ],
    [
      'drill db1/cache to i-0123456789abcdef0 engine redis check SCARD sessions:active',
      { verb: 'drill', source: 'db1', volume: 'cache', instanceId: 'i-0123456789abcdef0', engine: 'redis', check: 'SCARD sessions:active' },
    ],
    [
      'restore pgdata to i-0123456789abcdef0 data-only',
      { verb: 'restore', volume: 'pgdata', instanceId: 'i-0123456789abcdef0', preserve: false, dataOnly: true },
    ],
  ])('%j parses', (text, expected) => {
    expect(parseSlackText(text)).toEqual({ ok: true, command: expected });
  });

  it.each([
    ['restore pgdata', 'say where'],
    ['restore pgdata to i-0123;reboot', 'is not an instance id'],
    ['restore $(reboot) to i-0123456789abcdef0', 'is not a volume name'],
    ['restore pgdata at yesterday to i-0123456789abcdef0', 'is not an ISO time'],
    ['restore pgdata at 2026-11-27T03:00:00Z archive k to i-0123456789abcdef0', 'not both'],
    ['restore pgdata to i-0123456789abcdef0 to i-0123456789abcdef1', 'given twice'],
    ['plan pgdata to i-0123456789abcdef0 preserve', 'is not understood here'],
    ['status ../../etc/passwd', 'restore id'],
    ['cancel', '`cancel` takes one restore id'],
    ['cancel r-mfx2k1a0-1a2b3c4d r-mfx2k1a0-1a2b3c4e', '`cancel` takes one restore id'],
    ['cancel $(reboot)', '`cancel` takes one restore id'],
    ['cancel p-0123456789abcdef0123456789abcdef', '`cancel` takes one restore id'],
    ['rm -rf /', 'is not a Lifeboat command'],
    [`restore ${'a'.repeat(3000)}`, 'too long'],
    ['restore pgdata to i-0123456789abcdef0 engine redis check FLUSHALL', '`check` redis checks must start with one of DBSIZE'],
    ['restore pgdata to i-0123456789abcdef0 check FLUSHALL', "`check` suits no engine's check rules"],
    ['restore pgdata to i-0123456789abcdef0 engine mongo', 'is not an engine: one of postgres, mysql'],
    ['restore pgdata to i-0123456789abcdef0 container db data-only', 'not both'],
    ['restore pgdata to i-0123456789abcdef0 data-only engine mysql', '`engine` must be auto or none: a data-only restore'],
    ['plan pgdata to i-0123456789abcdef0 check', '`check` needs a read-only check'],
    ['plan pgdata to i-0123456789abcdef0 minimum 5', '`minimum` needs a check whose answer is a number'],
    ['plan pgdata to i-0123456789abcdef0 minimum -5 check DBSIZE', 'is not a whole number'],
    [
      'drill pgdata to i-0123456789abcdef0 engine custom check rm -rf /',
      "`check` is not taken from a request with engine custom: custom commands come only from the volume's protect config",
    ],
    ['drill pgdata to i-0123456789abcdef0 data-only', 'is not understood here'],
  ])('%j is refused with a reason', (text, reason) => {
    const out = parseSlackText(text);
    expect(out.ok).toBe(false);
    if (!out.ok) expect(out.error).toContain(reason);
  });

  const NASTY = [
    '; rm -rf /',
    '$(reboot)',
    '`id`',
    '\n',
    '\r\n',
    "' OR 1=1",
    '&&',
    '|',
    '../..',
    '%2e%2e',
    '\u0000',
    '\u202e',
    'é',
    '🚀',
    '<@U0001>',
    '<!channel>',
    '*bold*',
  ];
  const hostile = fc
    .array(
      fc.oneof(
        fc.constantFrom(
          ...NASTY,
          'restore',
          'plan',
          'drill',
          'cancel',
          'status',
          'to',
          'at',
          'archive',
          'container',
          'preserve',
          'data-only',
          'engine',
          'redis',
          'custom',
          'minimum',
          'check',
          'DBSIZE',
          'select count(*) from t',
          'i-0123456789abcdef0',
          'pgdata',
          'db1/pgdata',
          'r-mfx2k1a0-1a2b3c4d',
          'recover',
          'db1',
          '2026-11-27T03:00:00Z',
          'rc-20261127030000-1a2b3c4d',
        ),
        fc.string({ maxLength: 40 }),
        fc.string({ unit: 'grapheme', maxLength: 20 }),
      ),
      { maxLength: 12 },
    )
    .map((w) => w.join(' '));

  it('never throws, and every value it lets through matches its allow pattern (property)', () => {
    fc.assert(
      fc.property(fc.oneof(hostile, fc.string({ unit: 'binary', maxLength: 3000 })), (text) => {
        const out = parseSlackText(text);
        if (!out.ok) {
          // Never echoes control characters, bidi overrides or Slack mentions (<@U…>, <!channel>) back.
          for (const bad of ['\n', '\r', '\u0000', '\u202e', '<@', '<!', '<#']) expect(out.error).not.toContain(bad);
          return;
        }
        const c = out.command as Record<string, unknown>;
        if (typeof c.volume === 'string') expect(c.volume).toMatch(VOLUME_PATTERN);
        if (typeof c.source === 'string') expect(c.source).toMatch(SOURCE_PATTERN);
        if (typeof c.instanceId === 'string') expect(c.instanceId).toMatch(INSTANCE_ID_PATTERN);
        if (c.verb === 'cancel') expect(c.restoreId).toMatch(/^r-[a-z0-9]{1,16}-[a-f0-9]{8}$/);
        if (c.verb === 'status') expect(c.restoreId ?? c.recoveryId).toMatch(/^(r-[a-z0-9]{1,16}|rc-[0-9]{14})-[a-f0-9]{8}$/);
        // A check is text in the engine's language: the request schema accepts it, whatever else it says.
        if (typeof c.check === 'string') {
          const { engine, check, expectMinimum } = c as { engine?: 'auto'; check: string; expectMinimum?: number };
          expect(
            RestoreRequest.safeParse({ source: 'db1', volume: 'v', instanceId: INSTANCE, containerName: 'db', engine, check, expectMinimum }).success,
          ).toBe(true);
        }
        for (const [k, v] of Object.entries(c)) if (typeof v === 'string' && k !== 'check') expect(v).toMatch(/^[A-Za-z0-9_.:/+-]+$/);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('who may use it', () => {
  it.each([
    ['an unknown workspace', { team_id: 'T9999' }, 'not enabled for this Slack workspace'],
    ['another channel', { channel_id: 'C9999' }, 'does not take commands in this channel'],
    ['a user not on the list', { user_id: 'U9999' }, "is not on Lifeboat's list"],
  ])('%s is refused with a clear message and nothing is queued', async (_case, who, message) => {
    const { d, queued } = await deps();
    const body = command(`restore pgdata to ${INSTANCE}`, who);
    const res = await handleSlackHttp(d, { path: '/slack/commands', headers: signed(body), rawBody: body });
    expect(res.statusCode).toBe(200);
    expect((JSON.parse(res.body) as SlackMessage).text).toContain(message);
    expect(queued).toEqual([]);
  });

  it('a confirmation by someone other than the requester is refused; nothing is sent', async () => {
    const h = await deps();
    const planId = await planned(h);
    const answer = await press(h, planId, 'U0002');
    expect(h.sent).toEqual([]);
    expect(answer?.text).toContain('Only <@U0001>, who asked for this restore, can confirm');
    // The plan is still the requester's to confirm.
    await press(h, planId, 'U0001');
    expect(h.sent).toHaveLength(1);
  });

  it('a confirmation from another channel is refused; nothing is sent', async () => {
    const h = await deps();
    const planId = await planned(h);
    await press(h, planId, 'U0001', 'lifeboat_confirm', 'C9999');
    expect(h.queued).toEqual([]);
    expect(h.sent).toEqual([]);
  });

  // Threat: a signed but crafted interaction (Slack signs whatever a client sends back in a
  // button's value): another plan's id, a request instead of an id, broken JSON, odd shapes.
  it('hostile interaction payloads never throw and never send anything but a valid request by its requester (property)', async () => {
    const h = await deps();
    const alicePlan = await planned(h);
    const bobPlan = await planned(h, `restore db1/pgdata to ${INSTANCE} preserve`, 'U0002');
    const request = { source: 'db1', volume: 'pgdata', archive: 'latest', instanceId: INSTANCE, containerName: 'db', ifVolumeExists: 'preserve' };
    const nasty = fc.oneof(fc.constantFrom(...CORPUS, alicePlan, bobPlan, 'p-' + '0'.repeat(32)), fc.string({ maxLength: 30 }));
    const value = fc.oneof(
      nasty,
      fc.jsonValue().map((v) => JSON.stringify(v)),
      fc.constant(JSON.stringify({ requester: 'U0001', request })),
    );
    const payload = fc.oneof(
      fc.string({ maxLength: 300 }),
      fc
        .record(
          {
            type: fc.constantFrom('block_actions', 'view_submission', 'x'),
            user: fc.record({ id: fc.constantFrom('U0001', 'U0002', 'U0003', 'U9') }),
            team: fc.record({ id: fc.constantFrom('T0001', 'T9') }),
            channel: fc.record({ id: fc.constantFrom('C0001', 'C9') }),
            response_url: fc.constantFrom(HOOK, 'http://169.254.169.254/'),
            actions: fc.array(fc.record({ action_id: fc.constantFrom('lifeboat_confirm', 'lifeboat_cancel', 'x'), value }), { maxLength: 2 }),
          },
          { requiredKeys: [] },
        )
        .map((p) => JSON.stringify(p)),
    );
    await fc.assert(
      fc.asyncProperty(payload, async (p) => {
        const body = form({ payload: p });
        const res = await handleSlackHttp(h.d, { path: '/slack/interactions', headers: signed(body), rawBody: body });
        expect(res.statusCode).toBeLessThan(500);
        await h.drain();
      }),
      { numRuns: 300 },
    );
    // Whatever got through is one of the two stored plans, each by its own requester, each at most once.
    expect(h.sent.length).toBeLessThanOrEqual(2);
    for (const s of h.sent) {
      expect(RestoreRequest.safeParse(s.request).success).toBe(true);
      expect(s.request.archive).toEqual({ key: KEY_1 });
      expect(['slack:T0001/U0001', 'slack:T0001/U0002']).toContain(s.requestedBy);
      expect(s.request.ifVolumeExists).toBe(s.requestedBy === 'slack:T0001/U0002' ? 'preserve' : 'fail');
    }
    expect(new Set(h.sent.map((s) => s.requestedBy)).size).toBe(h.sent.length);
  });

  it('a response_url that is not Slack is never posted to', async () => {
    const { d, queued } = await deps();
    const body = form({
      command: '/lifeboat',
      text: 'volumes',
      team_id: 'T0001',
      channel_id: 'C0001',
      user_id: 'U0001',
      response_url: 'http://169.254.169.254/latest',
    });
    const res = await handleSlackHttp(d, { path: '/slack/commands', headers: signed(body), rawBody: body });
    expect(res.statusCode).toBe(200);
    expect(queued).toEqual([]);
  });

  it('the worker re-checks the allowlists: a user removed from the list after clicking Confirm is refused; nothing is sent', async () => {
    const h = await deps();
    const planId = await planned(h);
    const body = click(planId);
    await handleSlackHttp(h.d, { path: '/slack/interactions', headers: signed(body), rawBody: body });
    expect(h.queued).toHaveLength(1);
    // The configuration changes (a redeploy) before the worker takes the item off the queue.
    const removed = await deps({ access: { ...h.d.access, userIds: ['U0002'] }, plans: h.d.plans }, h.w);
    for (const work of h.queued.splice(0)) await performSlackWork(removed.d, work);
    expect(h.sent).toEqual([]);
    expect(removed.posts.at(-1)?.message.text).toContain("is not on Lifeboat's list");
    const moved = await deps({ access: { ...h.d.access, channelIds: ['C0002'] }, plans: h.d.plans }, h.w);
    await performSlackWork(moved.d, { kind: 'confirm', planId, who: { teamId: 'T0001', channelId: 'C0001', userId: 'U0001' }, responseUrl: HOOK });
    expect(h.sent).toEqual([]);
    expect(moved.posts.at(-1)?.message.text).toContain('does not take commands in this channel');
  });
});

describe('a plan confirmed is the plan run (stored plans)', () => {
  it('the Confirm button carries only the plan id; the stored plan pins the archive key shown, never latest', async () => {
    const h = await deps();
    const plan = await slash(h, `restore db1/pgdata to ${INSTANCE}`);
    expect(buttons(plan).map((b) => b.action_id)).toEqual(['lifeboat_confirm', 'lifeboat_cancel']);
    const [confirm, cancel] = buttons(plan);
    expect(confirm?.value).toMatch(PLAN_ID);
    expect(cancel?.value).toBe(confirm?.value);
    expect(plan?.text).toContain(KEY_1);
    expect(plan?.text).toContain('nothing is sent until <@U0001> confirms (before 2026-11-27T03:15:00.000Z)');
    const stored = await h.d.plans.getPlan(confirm?.value ?? '');
    expect(stored).toMatchObject({
      state: 'pending',
      requester: { teamId: 'T0001', channelId: 'C0001', userId: 'U0001' },
      request: { source: 'db1', volume: 'pgdata', archive: { key: KEY_1 }, instanceId: INSTANCE, containerName: 'db', ifVolumeExists: 'fail', dryRun: false },
      createdAt: NOW.toISOString(),
      expiresAt: '2026-11-27T03:15:00.000Z',
    });
  });

  it('Confirm runs exactly the plan shown: its archive by key, even when a newer archive arrived after the plan', async () => {
    const h = await deps();
    const planId = await planned(h, `restore db1/pgdata to ${INSTANCE} container db preserve`);
    h.w.latestKey = KEY_2; // a backup lands between the plan and the click
    const started = await press(h, planId);
    expect(h.sent).toEqual([
      {
        request: {
          source: 'db1',
          volume: 'pgdata',
          archive: { key: KEY_1 },
          instanceId: INSTANCE,
          containerName: 'db',
          ifVolumeExists: 'preserve',
          dryRun: false,
          allowUnverified: false,
        },
        requestedBy: 'slack:T0001/U0001',
      },
    ]);
    expect(started).toMatchObject({ response_type: 'in_channel', replace_original: true });
    expect(started?.text).toContain(`started restore \`r-1-00000001\` of \`pgdata\` on \`${INSTANCE}\` from \`${KEY_1}\``);
    expect(await h.d.plans.getPlan(planId)).toMatchObject({ state: 'started', restoreId: 'r-1-00000001' });
  });

  it('a second Confirm (another click, or the same click queued twice) answers "already started as r-…" and sends nothing more', async () => {
    const h = await deps();
    const planId = await planned(h);
    await press(h, planId);
    expect(h.sent).toHaveLength(1);
    const again = await press(h, planId);
    expect(again?.text).toContain('This plan was already started as `r-1-00000001`; nothing more was sent.');
    expect(again?.replace_original).toBe(false);
    // SQS delivers a work item at least once: the same item again changes nothing.
    await performSlackWork(h.d, { kind: 'confirm', planId, who: { teamId: 'T0001', channelId: 'C0001', userId: 'U0001' }, responseUrl: HOOK });
    expect(h.posts.at(-1)?.message.text).toContain('already started as `r-1-00000001`');
    expect(h.sent).toHaveLength(1);
  });

  it('ten Confirms of one plan at the same moment start exactly one restore', async () => {
    const h = await deps();
    const planId = await planned(h);
    const who = { teamId: 'T0001', channelId: 'C0001', userId: 'U0001' };
    await Promise.all(Array.from({ length: 10 }, () => performSlackWork(h.d, { kind: 'confirm', planId, who, responseUrl: HOOK })));
    expect(h.sent).toHaveLength(1);
    const texts = h.posts.slice(-10).map((p) => p.message.text);
    expect(texts.filter((t) => t.includes('started restore'))).toHaveLength(1);
    expect(texts.filter((t) => /already (being started|started as)/.test(t))).toHaveLength(9);
  });

  it('a plan past its expiry answers "expired" and sends nothing', async () => {
    const h = await deps();
    const planId = await planned(h);
    h.w.now = new Date(NOW.getTime() + 15 * 60_000 + 1000);
    const answer = await press(h, planId);
    expect(answer?.text).toContain('This plan expired at 2026-11-27T03:15:00.000Z; nothing was sent.');
    expect(h.sent).toEqual([]);
  });

  it('a plan dismissed with Cancel cannot be confirmed afterwards', async () => {
    const h = await deps();
    const planId = await planned(h);
    expect((await press(h, planId, 'U0001', 'lifeboat_cancel'))?.text).toBe('Cancelled by <@U0001>; nothing was sent.');
    const answer = await press(h, planId);
    expect(answer?.text).toContain('This plan was cancelled by <@U0001>; nothing was sent.');
    expect(h.sent).toEqual([]);
  });

  it('Cancel after Confirm says the restore already started and how to stop it', async () => {
    const h = await deps();
    const planId = await planned(h);
    await press(h, planId);
    const answer = await press(h, planId, 'U0001', 'lifeboat_cancel');
    expect(answer?.text).toContain('already started as `r-1-00000001`');
    expect(answer?.text).toContain('`/lifeboat cancel r-1-00000001` stops it');
  });

  it('a plan that failed to start is spent: a second Confirm does not try again', async () => {
    const h = await deps();
    const planId = await planned(h);
    h.w.startError = new NotFoundError(`archive ${KEY_1} is not in the catalog (deleted)`);
    const first = await press(h, planId);
    expect(first?.text).toContain(`Lifeboat: archive ${KEY_1} is not in the catalog (deleted)`);
    h.w.startError = undefined;
    const second = await press(h, planId);
    expect(second?.text).toContain('This plan could not be started');
    expect(h.sent).toEqual([]);
  });

  it('an unknown plan id answers that nothing was sent', async () => {
    const h = await deps();
    const answer = await press(h, `p-${'0'.repeat(32)}`);
    expect(answer?.text).toContain('This plan is unknown or long expired; nothing was sent.');
    expect(h.sent).toEqual([]);
  });
});

describe('sources per Slack user', () => {
  it.each([
    ['plan', `plan db1/pgdata to ${INSTANCE}`],
    ['restore', `restore db1/pgdata to ${INSTANCE}`],
    ['drill', `drill db1/pgdata to ${INSTANCE}`],
  ])('%s of a source the user was not granted is refused with a clear message; nothing is planned or sent', async (_verb, text) => {
    const h = await deps({}, { data: { container: 'db', verify: '1', source: 'db1' } });
    const answer = await slash(h, text, { user_id: 'U0003' }); // on the user list, granted no source
    expect(answer?.text).toBe(
      "<@U0003> may not act on source `db1`; nothing was planned or sent. The Lifeboat owners grant sources per user (the Slack config's `sources`).",
    );
    expect(buttons(answer)).toEqual([]);
    expect(h.sent).toEqual([]);
    expect(h.w.drills).toEqual([]);
    const other = await slash(h, text.replace('db1/', 'shop-db/'), { user_id: 'U0001' }); // granted db1 only
    expect(other?.text).toContain('<@U0001> may not act on source `shop-db`');
  });

  it('status and list of a source the user was not granted are refused: a record shows its archive, host and verify output', async () => {
    const h = await deps({}, { data: { container: 'db', verify: 'secret-looking-output', source: 'db1' } });
    h.w.records['r-1-00000001'] = {
      id: 'r-1-00000001',
      mode: 'restore',
      state: 'succeeded',
      source: 'db1',
      volume: 'pgdata',
      instanceId: INSTANCE,
      archiveKey: 'k',
      verifyOutput: 'secret-looking-output',
      requestedBy: 'slack:T0001/U0001',
      phases: {},
    };
    const status = await slash(h, 'status r-1-00000001', { user_id: 'U0003' });
    expect(status?.text).toContain('<@U0003> may not act on source `db1`');
    expect(status?.text).not.toContain('secret-looking-output');
    expect((await slash(h, 'list db1/pgdata', { user_id: 'U0003' }))?.text).toContain('may not act on source `db1`');
    expect((await slash(h, 'status r-1-00000001', { user_id: 'U0001' }))?.text).toContain('secret-looking-output');
  });

  it('a user granted "*" may act on any source; a user granted one source may act on that one', async () => {
    const h = await deps();
    expect(buttons(await slash(h, `restore shop-db/pgdata to ${INSTANCE} container db`, { user_id: 'U0002' }))).toHaveLength(2);
    expect(buttons(await slash(h, `restore db1/pgdata to ${INSTANCE}`, { user_id: 'U0001' }))).toHaveLength(2);
  });

  it('Confirm re-checks the grant: a plan whose source was taken away since is refused; nothing is sent', async () => {
    const h = await deps();
    const planId = await planned(h);
    const regranted = await deps({ access: { ...h.d.access, sources: { U0001: ['billing'] } }, plans: h.d.plans }, h.w);
    await performSlackWork(regranted.d, { kind: 'confirm', planId, who: { teamId: 'T0001', channelId: 'C0001', userId: 'U0001' }, responseUrl: HOOK });
    expect(regranted.posts.at(-1)?.message.text).toContain('<@U0001> may not act on source `db1`');
    expect(h.sent).toEqual([]);
  });
});

describe('cancel <restore-id> from Slack', () => {
  const ID = 'r-mfx2k1a0-1a2b3c4d';
  it(`a user granted the restore's source cancels it: cancelRestore gets the Slack requester, the channel hears "cancelling r-…"`, async () => {
    const h = await deps({}, { records: { [ID]: { id: ID, source: 'db1', requestedBy: 'slack:T0001/U0002', state: 'running' } } });
    const answer = await slash(h, `cancel ${ID}`);
    expect(h.w.cancels).toEqual([{ id: ID, requestedBy: 'slack:T0001/U0001' }]);
    expect(answer).toMatchObject({
      response_type: 'in_channel',
      text: `cancelling \`${ID}\` (the host puts things back; you'll get the result here) — asked by <@U0001>`,
    });
  });

  it('a restore not started from Slack: the answer points at status instead of promising a post here', async () => {
    const h = await deps({}, { records: { [ID]: { id: ID, source: 'db1', requestedBy: 'arn:aws:iam::123456789012:role/ops', state: 'sent' } } });
    expect((await slash(h, `cancel ${ID}`))?.text).toContain(`(the host puts things back; \`/lifeboat status ${ID}\` shows the result)`);
  });

  it('a restore that already ended is not cancelled; the answer says what it is', async () => {
    const h = await deps(
      { cancel: (id) => Promise.resolve({ restoreId: id, state: 'succeeded', message: 'already succeeded; nothing to cancel' }) },
      { records: { [ID]: { id: ID, source: 'db1', requestedBy: 'slack:T0001/U0001', state: 'succeeded' } } },
    );
    expect((await slash(h, `cancel ${ID}`))?.text).toBe(`\`${ID}\`: already succeeded; nothing to cancel`);
  });

  it("cancel by a user not granted the restore's source is refused; cancelRestore is never called", async () => {
    const h = await deps({}, { records: { [ID]: { id: ID, source: 'billing', requestedBy: 'slack:T0001/U0002', state: 'running' } } });
    expect((await slash(h, `cancel ${ID}`))?.text).toContain('<@U0001> may not act on source `billing`');
    expect((await slash(h, `cancel ${ID}`, { user_id: 'U0003' }))?.text).toContain('<@U0003> may not act on source `billing`');
    expect(h.w.cancels).toEqual([]);
  });

  it('cancel of an unknown restore says so and cancels nothing', async () => {
    const h = await deps();
    expect((await slash(h, `cancel ${ID}`))?.text).toBe(`Lifeboat: no restore ${ID}`);
    expect(h.w.cancels).toEqual([]);
  });
});

describe('predicted restore time in Slack', () => {
  const predicted = {
    seconds: 250,
    phases: { preflight: 0.2, download: 120, extract: 110, verify: 20 },
    basis: 'median of 6 earlier restores/drills of db1/pgdata (41.2 MB/s) scaled to 1024 bytes',
  };

  it('a restore plan shows the predicted time, its phases and what it rests on', async () => {
    const h = await deps({}, { predicted });
    const plan = await slash(h, `restore db1/pgdata to ${INSTANCE}`);
    const section = (plan?.blocks?.[0] as { text: { text: string } } | undefined)?.text.text;
    expect(section).toContain(
      '*Time:* predicted 4 min 10 s (download 2 min, extract 1 min 50 s, verify 20 s): median of 6 earlier restores/drills of db1/pgdata (41.2 MB/s) scaled to 1024 bytes',
    );
  });

  it('a plan of a volume never restored or drilled says there is no prediction yet, and why', async () => {
    const h = await deps();
    const plan = await slash(h, `restore db1/pgdata to ${INSTANCE}`);
    expect(plan?.text).toContain('*Time:* no prediction yet: no restore or drill of db1/pgdata recorded yet');
  });

  it('a drill started from Slack says how long it should take', async () => {
    const h = await deps({}, { predicted });
    const started = await slash(h, `drill db1/pgdata to ${INSTANCE}`);
    expect(started?.text).toContain('(throwaway `lifeboat-drill-db`); predicted 4 min 10 s (download 2 min, extract 1 min 50 s, verify 20 s): median of 6');
  });
});

describe('engines and data-only restores from Slack', () => {
  it('`engine redis` is shown in the plan, and Confirm runs exactly it', async () => {
    const h = await deps();
    const plan = await slash(h, `restore db1/pgdata to ${INSTANCE} engine redis minimum 2 check DBSIZE`);
    expect(plan?.text).toContain('*Verify:* engine redis: ');
    expect(plan?.text).toContain('read-only check "DBSIZE" (request), and its answer must be a number at least 2 (request)');
    const id = buttons(plan)[0]?.value ?? '';
    await press(h, id);
    expect(h.sent[0]?.request).toMatchObject({ engine: 'redis', check: 'DBSIZE', expectMinimum: 2, containerName: 'db' });
  });

  it('`data-only` restores the volume with no container: the plan says so and the request names none', async () => {
    const h = await deps();
    const plan = await slash(h, `restore db1/pgdata to ${INSTANCE} data-only`);
    expect(plan?.text).toContain('*DATA ONLY*: no container is stopped, started, created or verified');
    await press(h, buttons(plan)[0]?.value ?? '');
    expect(h.sent[0]?.request.containerName).toBeUndefined();
  });

  it('a drill carries the engine and check; a check that is not read-only is refused before anything is queued', async () => {
    const h = await deps();
    await slash(h, `drill db1/pgdata to ${INSTANCE} engine redis check EXISTS session:1`);
    expect(h.w.drills).toEqual([expect.objectContaining({ engine: 'redis', check: 'EXISTS session:1' })]);
    const other = await deps();
    const refused = await slash(other, `drill db1/pgdata to ${INSTANCE} engine redis check FLUSHALL`);
    expect(refused?.text).toContain('`check` redis checks must start with one of');
    expect(other.queued).toEqual([]);
    expect(other.w.drills).toEqual([]);
  });
});

describe('escaping what Lifeboat posts', () => {
  it('escapeSlack escapes &, < and > (in that order), shows control characters as visible escapes and Slack formatting as inert look-alikes', () => {
    expect(escapeSlack('<!channel> & <@U1|x> &amp; `k` *b* _i_ ~s~')).toBe(
      '&lt;!channel&gt; &amp; &lt;@U1|x&gt; &amp;amp; \u02cbk\u02cb \u2217b\u2217 \uff3fi\uff3f \u223cs\u223c',
    );
    expect(escapeSlack('a\n*b*\r\u001b[2K\u2028\u202e\u0085')).toBe('a\\n\u2217b\u2217\\r\\u001b[2K\\u2028\\u202e\\u0085');
    // In a code span only a backtick would end it: a name keeps its underscores.
    expect(escapeSlack('pg_data*`x', { inCode: true })).toBe('pg_data*\u02cbx');
    // eslint-disable-next-line no-control-regex -- exactly what must not be posted
    const control = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        // & first, then < and >: text free of control and formatting characters comes back exactly.
        const plain = s.replace(new RegExp(control.source, 'g'), '').replace(/[*_~`]/g, '');
        expect(escapeSlack(plain).replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&')).toBe(plain);
        for (const out of [escapeSlack(s), escapeSlack(s, { inCode: true })]) {
          expect(out).not.toMatch(/[<>`]|&(?!amp;|lt;|gt;)/);
          expect(out).not.toMatch(control);
        }
        // A _ only between letters or digits (pg_data), where Slack starts no italics.
        expect(escapeSlack(s)).not.toMatch(/[*~]|(?<![\p{L}\p{N}])_|_(?![\p{L}\p{N}])/u);
      }),
    );
  });

  it('md: data in a code span keeps its name as it is, outside one it formats nothing, and either way it stays on its line', () => {
    expect(md`container \`${'pg_main*1'}\` label ${'_x_ *y* ~z~ pg_isready'}`.text).toBe(
      'container `pg_main*1` label \uff3fx\uff3f \u2217y\u2217 \u223cz\u223c pg_isready',
    );
    expect(md`\`${'a`\n*b*'}\` then ${'`c`'}`.text).toBe('`a\u02cb\\n*b*` then \u02cbc\u02cb');
  });

  // Archive keys, container names, errors and verify output come from archives, manifests and hosts.
  it('no posted text contains an unescaped <, > or & from data: plans, confirmations, lists, status, errors, results (property)', async () => {
    const data = fc.oneof(
      fc.constantFrom('<!channel>', '<!here|x>', '<https://evil.example|click here>', '<@U0BOSS>', '&lt;', 'a&b', '<#C0001>', '>quote'),
      fc.string({ maxLength: 20 }),
    );
    await fc.assert(
      fc.asyncProperty(data, data, data, data, async (container, key, verify, error) => {
        const h = await deps({}, { data: { container, key: `archives/db1/pgdata/${key}`, verify, source: 'db1' } });
        h.w.records['r-1-00000001'] = failedRecord({ archiveKey: key, verifyOutput: verify, error });
        await slash(h, 'volumes');
        await slash(h, 'list db1/pgdata');
        await slash(h, 'status r-1-00000001');
        await slash(h, `plan db1/pgdata to ${INSTANCE}`);
        const planId = await planned(h, `restore db1/pgdata to ${INSTANCE} container db`);
        await press(h, planId);
        await press(h, planId);
        await press(h, planId, 'U0002');
        await slash(h, 'help');
        await slash(h, 'restore $(<b>) to x');
        h.w.data.error = error;
        await slash(h, `restore db1/pgdata to ${INSTANCE}`);
        const { SlackNotifier } = await import('#core/adapters/slack.ts');
        const notifyPosts: SlackMessage[] = [];
        await new SlackNotifier({
          post: (_u, m) => {
            notifyPosts.push(m);
            return Promise.resolve();
          },
        }).restoreFinished({
          restoreId: 'r-1-00000001',
          state: 'failed',
          subject: 's',
          text: `Restore of ${key}: ${error} ${verify}`,
          record: {
            ...h.w.records['r-1-00000001'],
            containerName: container,
            ifVolumeExists: 'fail',
            createdAt: NOW.toISOString(),
            updatedAt: NOW.toISOString(),
            notifySlack: { responseUrl: HOOK, channelId: 'C0001', userId: 'U0001' },
          },
        });
        expect(notifyPosts).toHaveLength(1);
        const texts = [...h.posts.map((p) => p.message), ...notifyPosts].flatMap((m) => [m.text, ...(m.blocks ?? []).map((b) => JSON.stringify(b))]);
        expect(texts.length).toBeGreaterThan(10);
        for (const text of texts) {
          // The only markup Lifeboat posts on purpose: mentions of the users in this table.
          const rest = text.replace(/<@U000[123]>/g, '').replace(/&(amp|lt|gt);/g, '');
          expect(rest, text).not.toMatch(/[<>&]/);
        }
      }),
      { numRuns: 40 },
    );
  });
});

// Any backed-up host can write the archive bucket: a compromised host of a source writes any manifest under its prefix.
describe('an archive’s manifest never chooses the container, nor forges or formats a line of what Lifeboat posts', () => {
  const backupNaming = (container: string) => ({ schedule: 'rate(1 hour)', host: { instanceId: INSTANCE }, container });

  it.each([
    ['recovery.container', { recovery: { container: 'db' } }],
    ['backup.container', { backup: backupNaming('db') }],
    ['recovery.container before backup.container', { recovery: { container: 'db' }, backup: backupNaming('db-old') }],
  ])('a restore naming no container stops and restarts the protect config’s container (%s), not the one the manifest names', async (_case, entry) => {
    const h = await deps({ protect: [{ source: 'db1', volume: 'pgdata', ...entry }] }, { data: { container: 'prod-web', verify: '42', source: 'db1' } });
    const plan = await slash(h, `restore db1/pgdata to ${INSTANCE}`);
    expect(plan?.text).toContain(`on \`${INSTANCE}\` (online), container \`db\``);
    const planId = buttons(plan)[0]?.value ?? '';
    expect((await h.d.plans.getPlan(planId))?.request?.containerName).toBe('db');
    await press(h, planId);
    expect(h.sent.map((x) => x.request.containerName)).toEqual(['db']);
  });

  it.each(['restore', 'plan'])(
    '%s naming no container, with none in the protect config, is refused asking for container or data-only: the manifest’s name is only a hint (a container name, or nothing), never used',
    async (verb) => {
      const h = await deps(
        { protect: [{ source: 'db1', volume: 'other', recovery: { container: 'db' } }] },
        { data: { container: 'prod-web\n*it is safe*', verify: '42', source: 'db1' } },
      );
      const answer = await slash(h, `${verb} db1/pgdata to ${INSTANCE}`);
      expect(answer?.response_type).toBe('ephemeral');
      expect(answer?.text).toContain('Add `container &lt;name&gt;`, or `data-only`');
      // A name that is no container name at all is not shown, so nothing of it reaches a line.
      expect(answer?.text).not.toContain('Hint from');
      expect(answer?.text).not.toContain('it is safe');
      expect(buttons(answer)).toEqual([]);
      expect(h.sent).toEqual([]);
      // A container name is shown as the archive's hint, and still not used.
      const hinted = await deps({ protect: [] }, { data: { container: 'prod-web', verify: '42', source: 'db1' } });
      const hint = await slash(hinted, `${verb} db1/pgdata to ${INSTANCE}`);
      expect(hint?.text).toContain("Hint from the archive's manifest (written by the backed-up host, not trusted, not used): it names container `prod-web`.");
      expect(buttons(hint)).toEqual([]);
      expect(hinted.sent).toEqual([]);
      // Named by the user, the same restore is planned with that container, as before.
      const named = await slash(h, `${verb} db1/pgdata to ${INSTANCE} container db`);
      expect(named?.text).toContain('container `db`');
      const dataOnly = await slash(h, `${verb} db1/pgdata to ${INSTANCE} data-only`);
      expect(dataOnly?.text).toContain('*DATA ONLY*');
    },
  );

  it('a manifest string holding a line break and Slack formatting stays on its line in the plan, and formats nothing', async () => {
    const forged = 'x\n*Nothing will be stopped or replaced.*';
    const h = await deps({}, { data: { container: forged, label: 'com.evil\n*Nothing will be stopped.*\r~Target~ `x`', verify: '42', source: 'db1' } });
    for (const verb of ['plan', 'restore']) {
      const plan = await slash(h, `${verb} db1/pgdata to ${INSTANCE}`);
      const lines = (plan?.text ?? '').split('\n');
      // Every line is one the plan writes; none is the manifest's.
      for (const line of lines) expect(line).toMatch(/^(Plan \(nothing sent\):|Restore plan for|\*[A-Z][A-Za-z ]*[:*])/);
      expect(plan?.text).not.toContain('*Nothing will be stopped');
      expect(plan?.text).toContain(
        '*Left out:* label com.evil\\n\u2217Nothing will be stopped.\u2217\\r\u223cTarget\u223c \u02cbx\u02cb: only com.docker.compose.\u2217 labels are put back',
      );
      expect(plan?.text).toContain('x\\n\u2217Nothing will be stopped or replaced.\u2217');
    }
  });

  it('a restore record’s strings (error, verify output, phases) stay on their lines in status', async () => {
    const h = await deps();
    h.w.records['r-1-00000001'] = failedRecord({
      archiveKey: KEY_1,
      verifyOutput: '1\nRestore r-1-00000001 of pgdata: *SUCCEEDED*.',
      error: 'boom\r\n*Nothing was changed.*',
      phases: { 'extract\nfake': 1 },
    });
    const status = await slash(h, 'status r-1-00000001');
    const lines = (status?.text ?? '').split('\n');
    expect(lines[0]).toBe(`Restore r-1-00000001 of pgdata on ${INSTANCE}: FAILED.`);
    expect(lines).toContain('The database answered: 1\\nRestore r-1-00000001 of pgdata: \u2217SUCCEEDED\u2217..');
    expect(lines).toContain('Error: boom\\r\\n\u2217Nothing was changed.\u2217');
    expect(lines.filter((l) => /^(Restore|\*)/.test(l))).toEqual([lines[0]]);
  });

  it('a recovery report’s member error holding a line break stays on its member’s line in status', () => {
    const record = {
      id: 'rc-20261127030000-1a2b3c4d',
      state: 'partial',
      requestedBy: 'slack:T0001/U0001',
      plan: { source: 'db1', mode: 'restore', target: { instanceId: INSTANCE }, waves: [] },
      members: {},
      report: {
        outcome: 'partial',
        totalSeconds: 60,
        predictedSeconds: null,
        members: [
          {
            volume: 'cache',
            wave: 1,
            role: 'optional',
            outcome: 'failed',
            archiveKey: KEY_1,
            rpoSeconds: 60,
            rtoSeconds: 5,
            predictedSeconds: null,
            error: 'boom\n*Wave 2: all succeeded*',
          },
        ],
        text: 'the report as e-mailed',
      },
    } as unknown as RecoveryRecord;
    const lines = recoveryStatusText(record).text.split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[1]).toBe('*PARTIAL* in 1 min (no prediction).');
    expect(lines[2]).toBe(`• wave 1 \`cache\` (optional): failed; archive \`${KEY_1}\`, RPO 1 min; RTO 5 s; error: boom\\n\u2217Wave 2: all succeeded\u2217`);
  });
});

describe('which region’s Lifeboat answered', () => {
  // The primary and the DR stack each have a Slack app (/lifeboat, /lifeboat-dr): the on-call must tell them apart.
  it('a plan ends with a context line naming the region, after its Confirm/Cancel buttons', async () => {
    const h = await deps({ region: 'eu-west-1' });
    const plan = await slash(h, `restore db1/pgdata to ${INSTANCE}`);
    expect(buttons(plan).map((b) => b.action_id)).toEqual(['lifeboat_confirm', 'lifeboat_cancel']);
    expect(plan?.blocks?.at(-1)).toEqual({ type: 'context', elements: [{ type: 'mrkdwn', text: 'Lifeboat in eu-west-1' }] });
  });

  it('text answers (status, volumes, the acknowledgement, errors) end with the region line', async () => {
    const h = await deps({ region: 'eu-west-1' });
    h.w.records['r-1-00000001'] = { id: 'r-1-00000001', mode: 'restore', state: 'succeeded', source: 'db1', volume: 'pgdata', phases: {} };
    const status = await slash(h, 'status r-1-00000001');
    expect(status?.text.split('\n').at(-1)).toBe('_Lifeboat in eu-west-1_');
    expect((await slash(h, 'volumes'))?.text.split('\n').at(-1)).toBe('_Lifeboat in eu-west-1_');
    expect((await slash(h, 'status r-1-0000dead'))?.text).toMatch(/no restore r-1-0000dead\n_Lifeboat in eu-west-1_$/);
    const body = command('volumes');
    const ack = await handleSlackHttp(h.d, { path: '/slack/commands', headers: signed(body), rawBody: body });
    expect((JSON.parse(ack.body) as SlackMessage).text).toBe('Working on `volumes`…\n_Lifeboat in eu-west-1_');
  });

  it('help speaks the slash command as typed: /lifeboat-dr in the DR region’s app, /lifeboat otherwise', async () => {
    const h = await deps({ region: 'eu-west-1' });
    const ask = async (slashCommand: string, text: string): Promise<string> => {
      const body = form({ command: slashCommand, text, team_id: 'T0001', channel_id: 'C0001', user_id: 'U0001', response_url: HOOK });
      const res = await handleSlackHttp(h.d, { path: '/slack/commands', headers: signed(body), rawBody: body });
      return (JSON.parse(res.body) as SlackMessage).text;
    };
    const dr = await ask('/lifeboat-dr', 'help');
    expect(dr).toContain('`/lifeboat-dr restore &lt;volume&gt;');
    expect(dr).not.toMatch(/`\/lifeboat /);
    expect(await ask('/lifeboat-dr', 'frobnicate')).toContain('`/lifeboat-dr help`');
    expect(await ask('/lifeboat', 'help')).toContain('`/lifeboat restore &lt;volume&gt;');
    // Anything that is not a slash command name is never echoed back.
    expect(await ask('/x`<!here>', 'help')).toContain('`/lifeboat restore &lt;volume&gt;');
  });

  it('two stacks, two regions: the same command answered by each names its own', async () => {
    const primary = await deps({ region: 'eu-central-1' });
    const dr = await deps({ region: 'eu-west-1' });
    expect((await slash(primary, 'volumes'))?.text).toContain('Lifeboat in eu-central-1');
    expect((await slash(dr, 'volumes'))?.text).toContain('Lifeboat in eu-west-1');
    expect((await slash(dr, 'volumes'))?.text).not.toContain('eu-central-1');
  });

  it('no region known (outside Lambda): the answers are as before', async () => {
    const h = await deps();
    expect((await slash(h, 'volumes'))?.text).not.toContain('Lifeboat in');
    expect((await slash(h, `restore db1/pgdata to ${INSTANCE}`))?.blocks).toHaveLength(2);
  });
});
