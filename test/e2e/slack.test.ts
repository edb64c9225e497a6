import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalCommandRunner } from '#core/adapters/local-runner.ts';
import { Notifiers, SlackNotifier, postToSlack } from '#core/adapters/slack.ts';
import { S3ArchiveStore } from '#core/archive-store.ts';
import { DynamoDbCatalog } from '#core/catalog/dynamodb-catalog.ts';
import { ingestCreated } from '#core/catalog/ingest.ts';
import { startLocalDynamo, type LocalDynamo } from '#core/local/dynamodb.ts';
import { localRestore } from '#core/local/restore.ts';
import { startLocalS3, type LocalS3 } from '#core/local/s3.ts';
import { cancelRestore } from '#core/restore/cancel.ts';
import type { CommandRunner } from '#core/restore/ports.ts';
import { RestorePolicy } from '#core/policy.ts';
import { handleSlackHttp, performSlackWork, type SlackDeps, type SlackMessage, type SlackWork } from '#core/slack/app.ts';
import { DynamoDbSlackStore, PLAN_ID } from '#core/slack/plans.ts';
import { slackSignature } from '#core/slack/signature.ts';
import {
  HELPER_IMAGE,
  containerState,
  initPostgresVolume,
  removeAll,
  rowsFingerprint,
  seedRows,
  startPostgres,
  uniqueName,
  volumeExists,
  waitForPostgres,
} from './support/docker.ts';
import { backup, explain, restoreDocument } from './support/runbooks.ts';

// Slack, end to end on 127.0.0.1: a signed slash command, the plan stored server-side and
// shown with buttons (carrying only its id) at a local receiver standing in for
// response_url, a newer archive landing meanwhile, a signed Confirm, the restore of exactly
// the archive shown on real Docker through the local runner, the result with its timings
// posted back, and a second Confirm or a replayed click that start nothing.
describe('/lifeboat restore from Slack, on real Docker', () => {
  const SECRET = 'e2e-signing-secret-0123456789abcdef';
  const INSTANCE = 'i-00000000000051ac';
  const volume = uniqueName('slack-data');
  const db = uniqueName('slack-db');
  let s3: LocalS3;
  let dynamo: LocalDynamo;
  let catalog: DynamoDbCatalog;
  let archiveKey: string;
  let runner: LocalCommandRunner;
  let deps: SlackDeps;
  let slackApi: Server;
  let receiver: Server;
  let slackUrl: string;
  let hookBase: string;
  let rows: string;
  const queue: SlackWork[] = [];
  const received: { path: string; message: SlackMessage }[] = [];
  let sends = 0;

  beforeAll(async () => {
    s3 = await startLocalS3();
    dynamo = await startLocalDynamo();
    const table = await dynamo.createCatalogTable();
    catalog = new DynamoDbCatalog(dynamo.doc, table);
    const store = new S3ArchiveStore(s3.client, s3.bucket);
    // The receiver standing in for Slack's response_url.
    receiver = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8').on('data', (c: string) => (body += c));
      req.on('end', () => {
        received.push({ path: req.url ?? '', message: JSON.parse(body) as SlackMessage });
        res.writeHead(200).end('ok');
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    hookBase = `http://127.0.0.1:${(receiver.address() as AddressInfo).port.toString()}`;
    const responseUrlPattern = new RegExp(`^${hookBase}/`);

    // The runner, counting what reaches the host.
    const counting = (inner: LocalCommandRunner): CommandRunner => ({
      sendRestore: (r) => {
        sends++;
        return inner.sendRestore(r);
      },
      invocationOutput: (commandId) => inner.invocationOutput(commandId),
      cancel: (commandId) => inner.cancel(commandId),
      commandFor: (restoreId) => inner.commandFor(restoreId),
    });
    const local = localRestore({
      catalog,
      store,
      instanceId: INSTANCE,
      document: restoreDocument,
      helperImage: HELPER_IMAGE,
      policy: RestorePolicy.parse({ allowedImages: ['local/postgres'] }),
      completion: { notifier: new Notifiers(new SlackNotifier({ responseUrlPattern })) },
      serviceRunner: counting,
    });
    runner = local.runner;
    const service = local.service;
    deps = {
      service,
      catalog,
      access: { teamIds: ['T0LIFE'], channelIds: ['C0ONCALL'], userIds: ['U0ALICE', 'U0BOB'], sources: { U0ALICE: ['chat-host'], U0BOB: ['*'] } },
      plans: new DynamoDbSlackStore(dynamo.doc, table),
      cancel: (id, requestedBy) => cancelRestore({ catalog, runner: counting(runner) }, id, requestedBy),
      signingSecret: () => Promise.resolve(SECRET),
      responseUrlPattern,
      enqueue: (w) => {
        queue.push(w);
        return Promise.resolve();
      },
      post: (url, message) => postToSlack(url, message),
      // The protect config names the volume's container: a restore naming none stops and restarts it (never the manifest's).
      protect: [{ source: 'chat-host', volume, recovery: { container: db } }],
    };
    // Slack's side of the app: the two routes over HTTP on 127.0.0.1.
    slackApi = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8').on('data', (c: string) => (body += c));
      req.on('end', () => {
        void handleSlackHttp(deps, {
          path: req.url === '/slack/interactions' ? '/slack/interactions' : '/slack/commands',
          headers: req.headers as Record<string, string>,
          rawBody: body,
        }).then((a) => {
          res.writeHead(a.statusCode, a.headers).end(a.body);
        });
      });
    });
    await new Promise<void>((resolve) => slackApi.listen(0, '127.0.0.1', resolve));
    slackUrl = `http://127.0.0.1:${(slackApi.address() as AddressInfo).port.toString()}`;

    // Production: a database, backed up by Lifeboat; then the host is lost.
    await initPostgresVolume(volume);
    await startPostgres(db, volume);
    await seedRows(db, 1500);
    rows = await rowsFingerprint(db);
    const made = await backup(s3, { VolumeName: volume, ContainerName: db, Consistency: 'pause', Source: 'chat-host' });
    expect(made.result?.outcome, explain(made)).toBe('succeeded');
    archiveKey = made.result?.archiveKey ?? '';
    await ingestCreated({ store, catalog }, archiveKey, { decoded: true });
    await ingestCreated({ store, catalog }, made.result?.manifestKey ?? '', { decoded: true });
    await removeAll([db], [volume]);
  });
  afterAll(async () => {
    await runner.settled();
    await removeAll([db], [volume]);
    await new Promise((resolve) => slackApi.close(resolve));
    await new Promise((resolve) => receiver.close(resolve));
    await s3.close();
    await dynamo.close();
  });

  /** Slack sending a signed request (the raw request too, to replay it). */
  async function slack(
    path: '/slack/commands' | '/slack/interactions',
    fields: Record<string, string>,
  ): Promise<{ status: number; body: string; replay: () => Promise<number> }> {
    const body = new URLSearchParams(fields).toString();
    const ts = Math.floor(Date.now() / 1000).toString();
    const send = () =>
      fetch(`${slackUrl}${path}`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'x-slack-request-timestamp': ts,
          'x-slack-signature': slackSignature(SECRET, ts, body),
        },
        body,
      });
    const res = await send();
    return { status: res.status, body: await res.text(), replay: async () => (await send()).status };
  }
  // Slack gives every command and click its own trigger id / action timestamp.
  let trigger = 0;
  const command = (text: string, user = 'U0ALICE', channel = 'C0ONCALL') =>
    slack('/slack/commands', {
      command: '/lifeboat',
      text,
      team_id: 'T0LIFE',
      channel_id: channel,
      user_id: user,
      response_url: `${hookBase}/command`,
      trigger_id: `t${(++trigger).toString()}`,
    });
  const click = (user: string, value: string, action = 'lifeboat_confirm') =>
    slack('/slack/interactions', {
      payload: JSON.stringify({
        type: 'block_actions',
        team: { id: 'T0LIFE' },
        user: { id: user },
        channel: { id: 'C0ONCALL' },
        response_url: `${hookBase}/interaction`,
        actions: [{ action_id: action, value, action_ts: `${Date.now().toString()}.${(++trigger).toString()}` }],
      }),
    });
  /** The queue worker (SQS in AWS). */
  async function drain(): Promise<void> {
    for (let w = queue.shift(); w; w = queue.shift()) await performSlackWork(deps, w);
  }

  it('plan stored with buttons → a newer archive lands → confirm by the requester → exactly the archive shown restored on Docker → the result posted back; a second Confirm or a replayed click starts nothing', async () => {
    const ack = await command(`restore chat-host/${volume} to ${INSTANCE}`);
    expect(ack.status).toBe(200);
    expect(JSON.parse(ack.body)).toMatchObject({ response_type: 'ephemeral', text: 'Working on `restore`…' });
    await drain();
    const plan = received.at(-1)?.message;
    expect(plan?.response_type).toBe('ephemeral');
    expect(plan?.text).toContain('nothing is sent until <@U0ALICE> confirms');
    expect(plan?.text).toContain(archiveKey);
    expect(plan?.text).toContain(`container \`${db}\``);
    const buttons = (plan?.blocks?.[1] as { elements: { action_id: string; value: string }[] }).elements;
    expect(buttons.map((b) => b.action_id)).toEqual(['lifeboat_confirm', 'lifeboat_cancel']);
    // The button carries only the id of the plan stored server-side, which pins the archive by key.
    const planId = buttons[0]?.value ?? '';
    expect(planId).toMatch(PLAN_ID);
    expect((await deps.plans.getPlan(planId))?.request?.archive).toEqual({ key: archiveKey });
    expect(sends).toBe(0);

    // A newer archive is cataloged between the plan and the click (its object does not even exist:
    // restoring it would fail). Confirm must restore the archive the plan showed.
    const shown = await catalog.getArchive(archiveKey);
    if (!shown) throw new Error('the archive is not cataloged');
    const newerKey = archiveKey.replace(/\/[^/]+$/, '/29991231T000000Z.tar.zst');
    await catalog.putArchive({ ...shown, key: newerKey, takenAt: '2999-12-31T00:00:00Z' });
    expect((await catalog.latestArchive('chat-host', volume))?.key).toBe(newerKey);

    // Bob clicks Alice's Confirm: refused, nothing sent.
    await click('U0BOB', buttons[0]?.value ?? '');
    await drain();
    expect(received.at(-1)?.message.text).toContain('Only <@U0ALICE>');
    expect(sends).toBe(0);

    // Alice confirms: the restore runs on the engine.
    const confirmed = await click('U0ALICE', planId);
    expect(confirmed.status).toBe(200);
    await drain();
    expect(sends).toBe(1);
    const startedMsg = received.at(-1);
    expect(startedMsg).toMatchObject({ path: '/interaction', message: { response_type: 'in_channel', replace_original: true } });
    const restoreId = /restore `(r-[a-z0-9]+-[a-f0-9]{8})`/.exec(startedMsg?.message.text ?? '')?.[1] ?? '';
    expect(restoreId).not.toBe('');
    expect(startedMsg?.message.text).toContain(`from \`${archiveKey}\``);
    expect((await deps.service.get(restoreId)).archiveKey).toBe(archiveKey);

    await runner.settled();
    const final = received.at(-1);
    expect(final?.path).toBe('/interaction');
    expect(final?.message.text).toContain(`Restore ${restoreId} of ${volume} on ${INSTANCE}: SUCCEEDED.`);
    expect(final?.message.text).toMatch(/Phases \(s\): preflight \d+\.\d, download \d+\.\d, extract/);
    expect(final?.message.text).toMatch(/total \d+\.\d s; \d+ bytes/);
    expect((await deps.service.get(restoreId)).requestedBy).toBe('slack:T0LIFE/U0ALICE');
    expect(final?.message.text).toContain(`Archive: ${archiveKey}.`);

    expect(await volumeExists(volume)).toBe(true);
    await waitForPostgres(db);
    expect(await rowsFingerprint(db)).toBe(rows);

    // status answers with the same record.
    await command(`status ${restoreId}`);
    await drain();
    expect(received.at(-1)?.message.text).toContain('SUCCEEDED');

    // A second Confirm: already started, nothing more sent. The first click replayed: 401.
    await click('U0ALICE', planId);
    await drain();
    expect(received.at(-1)?.message.text).toContain(`This plan was already started as \`${restoreId}\`; nothing more was sent.`);
    expect(await confirmed.replay()).toBe(401);
    await drain();
    expect(sends).toBe(1);
  });

  it('an unauthorized user, or the wrong channel, is refused and nothing is sent', async () => {
    for (const [user, channel, message] of [
      ['U0MALLORY', 'C0ONCALL', "is not on Lifeboat's list"],
      ['U0ALICE', 'C0RANDOM', 'does not take commands in this channel'],
    ] as const) {
      const ack = await command(`restore chat-host/${volume} to ${INSTANCE} preserve`, user, channel);
      expect((JSON.parse(ack.body) as SlackMessage).text).toContain(message);
    }
    expect(queue).toEqual([]);
    expect(sends).toBe(1); // only the one Alice confirmed above
    expect(await containerState(db)).toBe('running');
  });

  it('a request with a bad signature gets 401', async () => {
    const body = new URLSearchParams({
      command: '/lifeboat',
      text: 'volumes',
      team_id: 'T0LIFE',
      channel_id: 'C0ONCALL',
      user_id: 'U0ALICE',
      response_url: `${hookBase}/command`,
    }).toString();
    const res = await fetch(`${slackUrl}/slack/commands`, {
      method: 'POST',
      headers: { 'x-slack-request-timestamp': Math.floor(Date.now() / 1000).toString(), 'x-slack-signature': slackSignature('wrong', '1', body) },
      body,
    });
    expect(res.status).toBe(401);
    expect(queue).toEqual([]);
  });
});
