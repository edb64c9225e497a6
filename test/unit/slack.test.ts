import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SOURCE_PATTERN, VOLUME_PATTERN } from '#core/archive-key.ts';
import type { Catalog } from '#core/catalog/model.ts';
import { INSTANCE_ID_PATTERN, RestoreRequest } from '#core/restore/request.ts';
import { NASTY as CORPUS } from '../support/nasty.ts';
import type { RestoreService } from '#core/restore/service.ts';
import { handleSlackHttp, performSlackWork, type SlackDeps, type SlackMessage, type SlackWork } from '#core/slack/app.ts';
import { parseSlackText } from '#core/slack/grammar.ts';
import { slackSignature, verifySlackSignature } from '#core/slack/signature.ts';

const SECRET = '8f742231b10e8888abcd99yyyzzz85a5';
const NOW = new Date('2026-11-27T03:00:00Z');
const TS = String(NOW.getTime() / 1000);
const HOOK = 'https://hooks.slack.com/commands/T0001/123/abc';

function deps(overrides: Partial<SlackDeps> = {}) {
  const queued: SlackWork[] = [];
  const posts: { url: string; message: SlackMessage }[] = [];
  const sent: RestoreRequest[] = [];
  const service = {
    start: (r: RestoreRequest) => { sent.push(r); return Promise.resolve({ restoreId: 'r-1-00000000', plan: { archive: { key: 'k' } } }); },
    drill: () => { throw new Error('no drills here'); },
  } as unknown as RestoreService;
  const d: SlackDeps = {
    service,
    catalog: {} as Catalog,
    access: { teamIds: ['T0001'], channelIds: ['C0001'], userIds: ['U0001', 'U0002'] },
    signingSecret: () => Promise.resolve(SECRET),
    responseUrlPattern: /^https:\/\/hooks\.slack\.com\//,
    enqueue: (w) => { queued.push(w); return Promise.resolve(); },
    post: (url, message) => { posts.push({ url, message }); return Promise.resolve(); },
    now: () => NOW,
    ...overrides,
  };
  return { d, queued, posts, sent };
}
const form = (fields: Record<string, string>): string => new URLSearchParams(fields).toString();
const command = (text: string, who: Partial<Record<'team_id' | 'channel_id' | 'user_id', string>> = {}): string =>
  form({ command: '/lifeboat', text, team_id: 'T0001', channel_id: 'C0001', user_id: 'U0001', response_url: HOOK, ...who });
const signed = (body: string, ts = TS, secret = SECRET) => ({ 'X-Slack-Request-Timestamp': ts, 'X-Slack-Signature': slackSignature(secret, ts, body) });

describe('Slack request signing', () => {
  const body = command('volumes');
  it('a valid signature is accepted', () => {
    expect(verifySlackSignature({ rawBody: body, ...{ timestamp: TS, signature: slackSignature(SECRET, TS, body) }, secret: SECRET, now: NOW })).toEqual({ ok: true });
  });
  it.each([
    ['body tampered', { rawBody: `${body}&x=1`, timestamp: TS, signature: slackSignature(SECRET, TS, body) }],
    ['wrong secret', { rawBody: body, timestamp: TS, signature: slackSignature('another-secret', TS, body) }],
    ['stale timestamp (5 min 1 s old)', { rawBody: body, timestamp: String(Number(TS) - 301), signature: slackSignature(SECRET, String(Number(TS) - 301), body) }],
    ['future timestamp (5 min 1 s ahead)', { rawBody: body, timestamp: String(Number(TS) + 301), signature: slackSignature(SECRET, String(Number(TS) + 301), body) }],
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
    ['tampered body', { ...signed(command('volumes')), body: command('restore pgdata to i-0123456789abcdef0') }],
    ['wrong secret', { ...signed(command('volumes'), TS, 'not-the-secret'), body: command('volumes') }],
    ['stale', { ...signed(command('volumes'), String(Number(TS) - 3600)), body: command('volumes') }],
    ['no headers', { body: command('volumes') }],
  ])('the route answers 401 to a %s request, and nothing else happens', async (_case, req) => {
    const { d, queued, posts } = deps();
    const { body: rawBody, ...headers } = req;
    const res = await handleSlackHttp(d, { path: '/slack/commands', headers, rawBody });
    expect(res.statusCode).toBe(401);
    expect(queued).toEqual([]);
    expect(posts).toEqual([]);
  });

  it('answers Slack ssl_check probes', async () => {
    const { d, queued } = deps();
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
    ['plan pgdata at 2026-11-27T03:00:00Z to i-0123456789abcdef0', { verb: 'plan', volume: 'pgdata', at: '2026-11-27T03:00:00Z', instanceId: 'i-0123456789abcdef0' }],
    ['restore pgdata archive archives/db1/pgdata/20261127T031500Z.tar.zst to i-0123456789abcdef0 container db preserve', { verb: 'restore', volume: 'pgdata', archiveKey: 'archives/db1/pgdata/20261127T031500Z.tar.zst', instanceId: 'i-0123456789abcdef0', container: 'db', preserve: true }],
    ['RESTORE pgdata to i-0123456789abcdef0', { verb: 'restore', volume: 'pgdata', instanceId: 'i-0123456789abcdef0', preserve: false }],
    ['status r-mfx2k1a0-1a2b3c4d', { verb: 'status', restoreId: 'r-mfx2k1a0-1a2b3c4d' }],
    ['drill pgdata to i-0123456789abcdef0', { verb: 'drill', volume: 'pgdata', instanceId: 'i-0123456789abcdef0' }],
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
    ['rm -rf /', 'is not a Lifeboat command'],
    [`restore ${'a'.repeat(3000)}`, 'too long'],
  ])('%j is refused with a reason', (text, reason) => {
    const out = parseSlackText(text);
    expect(out.ok).toBe(false);
    if (!out.ok) expect(out.error).toContain(reason);
  });

  const NASTY = ['; rm -rf /', '$(reboot)', '`id`', '\n', '\r\n', "' OR 1=1", '&&', '|', '../..', '%2e%2e', '\u0000', '\u202e', 'é', '🚀', '<@U0001>', '<!channel>', '*bold*'];
  const hostile = fc.array(fc.oneof(fc.constantFrom(...NASTY, 'restore', 'plan', 'drill', 'to', 'at', 'archive', 'container', 'preserve', 'i-0123456789abcdef0', 'pgdata', 'db1/pgdata'), fc.string({ maxLength: 40 }), fc.string({ unit: 'grapheme', maxLength: 20 })), { maxLength: 12 }).map((w) => w.join(' '));

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
        for (const v of Object.values(c)) if (typeof v === 'string') expect(v).toMatch(/^[A-Za-z0-9_.:/+-]+$/);
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
    const { d, queued } = deps();
    const body = command('restore pgdata to i-0123456789abcdef0', who);
    const res = await handleSlackHttp(d, { path: '/slack/commands', headers: signed(body), rawBody: body });
    expect(res.statusCode).toBe(200);
    expect((JSON.parse(res.body) as SlackMessage).text).toContain(message);
    expect(queued).toEqual([]);
  });

  const request: RestoreRequest = { source: 'db1', volume: 'pgdata', archive: 'latest', instanceId: 'i-0123456789abcdef0', containerName: 'db', ifVolumeExists: 'fail', dryRun: false };
  const click = (user: string, action = 'lifeboat_confirm', channel = 'C0001') =>
    form({ payload: JSON.stringify({ type: 'block_actions', team: { id: 'T0001' }, user: { id: user }, channel: { id: channel }, response_url: HOOK, actions: [{ action_id: action, value: JSON.stringify({ requester: 'U0001', request }) }] }) });

  it('a confirmation by someone other than the requester is refused; nothing is sent', async () => {
    const { d, queued, posts, sent } = deps();
    const body = click('U0002');
    await handleSlackHttp(d, { path: '/slack/interactions', headers: signed(body), rawBody: body });
    expect(queued).toEqual([]);
    expect(sent).toEqual([]);
    expect(posts[0]?.message.text).toContain('Only <@U0001>, who asked for this restore, can confirm');
  });

  it('a confirmation from another channel is refused; nothing is sent', async () => {
    const { d, queued, sent } = deps();
    const body = click('U0001', 'lifeboat_confirm', 'C9999');
    await handleSlackHttp(d, { path: '/slack/interactions', headers: signed(body), rawBody: body });
    expect(queued).toEqual([]);
    expect(sent).toEqual([]);
  });

  it("the requester's confirmation sends exactly the request shown, as requested by the Slack user", async () => {
    const { d, queued, sent, posts } = deps();
    const body = click('U0001');
    await handleSlackHttp(d, { path: '/slack/interactions', headers: signed(body), rawBody: body });
    expect(queued).toHaveLength(1);
    const work = queued[0];
    if (work) await performSlackWork(d, work);
    expect(sent).toEqual([request]);
    expect(posts.at(-1)?.message).toMatchObject({ response_type: 'in_channel', replace_original: true });
  });

  // Threat: a signed but crafted interaction (Slack signs whatever a client sends back in a
  // button's value): a changed request, a hostile volume, broken JSON, odd shapes.
  it('hostile interaction payloads never throw and never send anything but a valid request by its requester (property)', async () => {
    const nasty = fc.oneof(fc.constantFrom(...CORPUS, 'i-0123456789abcdef0', 'pgdata'), fc.string({ maxLength: 30 }));
    const value = fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.jsonValue().map((v) => JSON.stringify(v)),
      fc.record({ requester: fc.constantFrom('U0001', 'U0002', 'U0003'), request: fc.record({ source: nasty, volume: nasty, instanceId: nasty, containerName: nasty, archive: fc.oneof(nasty, fc.jsonValue()), ifVolumeExists: nasty }, { requiredKeys: [] }) }).map((v) => JSON.stringify(v)),
    );
    const payload = fc.oneof(
      fc.string({ maxLength: 300 }),
      fc.record({ type: fc.constantFrom('block_actions', 'view_submission', 'x'), user: fc.record({ id: fc.constantFrom('U0001', 'U0002', 'U9') }), team: fc.record({ id: fc.constantFrom('T0001', 'T9') }), channel: fc.record({ id: fc.constantFrom('C0001', 'C9') }), response_url: fc.constantFrom(HOOK, 'http://169.254.169.254/'), actions: fc.array(fc.record({ action_id: fc.constantFrom('lifeboat_confirm', 'lifeboat_cancel', 'x'), value }), { maxLength: 2 }) }, { requiredKeys: [] }).map((p) => JSON.stringify(p)),
    );
    await fc.assert(
      fc.asyncProperty(payload, async (p) => {
        const { d, queued, sent } = deps();
        const body = form({ payload: p });
        const res = await handleSlackHttp(d, { path: '/slack/interactions', headers: signed(body), rawBody: body });
        expect(res.statusCode).toBeLessThan(500);
        for (const work of queued) await performSlackWork(d, work);
        for (const r of sent) {
          // Whatever got through is a request the schema accepts, confirmed by its requester (U0001 in this table).
          expect(RestoreRequest.safeParse(r).success).toBe(true);
          for (const v of Object.values(r)) if (typeof v === 'string') expect(v).toMatch(/^[A-Za-z0-9_.:/+-]+$/);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('a response_url that is not Slack is never posted to', async () => {
    const { d, queued } = deps();
    const body = form({ command: '/lifeboat', text: 'volumes', team_id: 'T0001', channel_id: 'C0001', user_id: 'U0001', response_url: 'http://169.254.169.254/latest' });
    const res = await handleSlackHttp(d, { path: '/slack/commands', headers: signed(body), rawBody: body });
    expect(res.statusCode).toBe(200);
    expect(queued).toEqual([]);
  });
});
