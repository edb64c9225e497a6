import * as z from 'zod';
import type { Catalog } from '../catalog/model.ts';
import { describe } from '../restore/completion.ts';
import { ClientError } from '../restore/errors.ts';
import { DrillRequest, RestoreRequest } from '../restore/request.ts';
import type { RestorePlan, RestoreService } from '../restore/service.ts';
import { USAGE, parseSlackText, type SlackCommand } from './grammar.ts';
import { verifySlackSignature } from './signature.ts';

/** Who may use Lifeboat from Slack (stack configuration). */
export interface SlackAccess {
  readonly teamIds: readonly string[];
  readonly channelIds: readonly string[];
  readonly userIds: readonly string[];
}

/** A Slack message as response_url takes it. */
export interface SlackMessage {
  readonly response_type?: 'ephemeral' | 'in_channel';
  readonly replace_original?: boolean;
  readonly text: string;
  readonly blocks?: readonly unknown[];
}

const SLACK_ID = /^[A-Z0-9]{2,32}$/;
const Who = z.object({ teamId: z.string().regex(SLACK_ID), channelId: z.string().regex(SLACK_ID), userId: z.string().regex(SLACK_ID) });
type Who = z.infer<typeof Who>;

/** Work done after the 3-second acknowledgement (a queue between the two in AWS). */
export const SlackWork = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('command'), command: z.custom<SlackCommand>(), who: Who, responseUrl: z.url() }),
  z.object({ kind: z.literal('confirm'), request: RestoreRequest, who: Who, responseUrl: z.url() }),
  z.object({ kind: z.literal('cancel'), who: Who, responseUrl: z.url() }),
]);
export type SlackWork = z.infer<typeof SlackWork>;

export interface SlackDeps {
  readonly service: RestoreService;
  readonly catalog: Catalog;
  readonly access: SlackAccess;
  /** The signing secret (Secrets Manager, cached). */
  readonly signingSecret: () => Promise<string>;
  /** Where a response_url may point: https://hooks.slack.com/ in production. */
  readonly responseUrlPattern: RegExp;
  readonly enqueue: (work: SlackWork) => Promise<void>;
  readonly post: (url: string, message: SlackMessage) => Promise<void>;
  readonly now?: () => Date;
}

export interface HttpRequest {
  readonly path: '/slack/commands' | '/slack/interactions';
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly rawBody: string;
}
export interface HttpAnswer {
  readonly statusCode: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

const answer = (message?: SlackMessage): HttpAnswer => ({ statusCode: 200, headers: { 'content-type': 'application/json' }, body: message ? JSON.stringify(message) : '' });
const ephemeral = (text: string): SlackMessage => ({ response_type: 'ephemeral', text });
const header = (headers: HttpRequest['headers'], name: string): string | undefined => {
  for (const [k, v] of Object.entries(headers)) if (k.toLowerCase() === name) return v;
  return undefined;
};

const CommandForm = z.object({
  team_id: z.string().regex(SLACK_ID),
  channel_id: z.string().regex(SLACK_ID),
  user_id: z.string().regex(SLACK_ID),
  text: z.string().max(4000).default(''),
  response_url: z.url(),
});
const Interaction = z.object({
  type: z.literal('block_actions'),
  team: z.object({ id: z.string().regex(SLACK_ID) }),
  user: z.object({ id: z.string().regex(SLACK_ID) }),
  channel: z.object({ id: z.string().regex(SLACK_ID) }),
  response_url: z.url(),
  actions: z.array(z.object({ action_id: z.string(), value: z.string().max(2000).optional() })).min(1),
});
/** What a Confirm button carries: the exact request shown, and who asked. */
const ConfirmValue = z.object({ requester: z.string().regex(SLACK_ID), request: RestoreRequest });

function refused(access: SlackAccess, who: Who): string | undefined {
  if (!access.teamIds.includes(who.teamId)) return 'Lifeboat is not enabled for this Slack workspace.';
  if (!access.channelIds.includes(who.channelId)) return 'Lifeboat does not take commands in this channel; use the on-call channel.';
  if (!access.userIds.includes(who.userId)) return `<@${who.userId}> is not on Lifeboat's list of people who may plan and run restores; ask the Lifeboat owners to add you.`;
  return undefined;
}

/**
 * The two Slack routes. The signature is checked before anything else; an
 * unsigned, tampered or stale request gets 401 and nothing happens. Everything
 * slow goes on the queue: Slack gets its answer within 3 s.
 */
export async function handleSlackHttp(deps: SlackDeps, request: HttpRequest): Promise<HttpAnswer> {
  const check = verifySlackSignature({
    rawBody: request.rawBody,
    timestamp: header(request.headers, 'x-slack-request-timestamp'),
    signature: header(request.headers, 'x-slack-signature'),
    secret: await deps.signingSecret(),
    now: deps.now?.() ?? new Date(),
  });
  if (!check.ok) return { statusCode: 401, headers: { 'content-type': 'text/plain' }, body: 'invalid Slack signature' };
  const form = new URLSearchParams(request.rawBody);
  if (request.path === '/slack/commands') {
    if (form.get('ssl_check') === '1') return answer();
    const parsed = CommandForm.safeParse(Object.fromEntries(form));
    if (!parsed.success || !deps.responseUrlPattern.test(parsed.data.response_url)) return answer(ephemeral('Lifeboat could not read this request from Slack.'));
    const who = { teamId: parsed.data.team_id, channelId: parsed.data.channel_id, userId: parsed.data.user_id };
    const no = refused(deps.access, who);
    if (no) return answer(ephemeral(no));
    const command = parseSlackText(parsed.data.text);
    if (!command.ok) return answer(ephemeral(`${command.error}.\n\n${USAGE}`));
    if (command.command.verb === 'help') return answer(ephemeral(USAGE));
    await deps.enqueue({ kind: 'command', command: command.command, who, responseUrl: parsed.data.response_url });
    return answer(ephemeral(`Working on \`${command.command.verb}\`…`));
  }
  let payload: unknown;
  try {
    payload = JSON.parse(form.get('payload') ?? '');
  } catch {
    payload = undefined;
  }
  const interaction = Interaction.safeParse(payload);
  if (!interaction.success || !deps.responseUrlPattern.test(interaction.data.response_url)) return answer();
  const i = interaction.data;
  const who = { teamId: i.team.id, channelId: i.channel.id, userId: i.user.id };
  const responseUrl = i.response_url;
  const no = refused(deps.access, who);
  if (no) {
    await deps.post(responseUrl, { ...ephemeral(no), replace_original: false });
    return answer();
  }
  const action = i.actions[0];
  let value: z.infer<typeof ConfirmValue> | undefined;
  try {
    value = ConfirmValue.parse(JSON.parse(action?.value ?? ''));
  } catch {
    value = undefined;
  }
  if (!value) return answer();
  if (value.requester !== who.userId) {
    await deps.post(responseUrl, { ...ephemeral(`Only <@${value.requester}>, who asked for this restore, can confirm or cancel it.`), replace_original: false });
    return answer();
  }
  if (action?.action_id === 'lifeboat_confirm') await deps.enqueue({ kind: 'confirm', request: value.request, who, responseUrl });
  else if (action?.action_id === 'lifeboat_cancel') await deps.enqueue({ kind: 'cancel', who, responseUrl });
  return answer();
}

const requester = (who: Who): string => `slack:${who.teamId}/${who.userId}`;

async function sourceOf(deps: SlackDeps, ref: { source?: string; volume: string }): Promise<string> {
  if (ref.source) return ref.source;
  const sources = (await deps.catalog.listVolumes()).filter((v) => v.volume === ref.volume).map((v) => v.source);
  if (sources.length === 1 && sources[0]) return sources[0];
  throw new ClientError(400, sources.length === 0 ? `no archives of volume ${ref.volume} are cataloged` : `volume ${ref.volume} has archives from several sources (${sources.join(', ')}): write \`<source>/${ref.volume}\``);
}

function planText(plan: RestorePlan): string {
  const a = plan.archive;
  return [
    `*Archive* \`${a.key}\` — taken ${a.takenAt} (${Math.round(a.ageSeconds / 60).toString()} min ago), ${a.size.toString()} bytes ${a.compression}${a.sha256 ? ', sha256 checked' : ', no checksum'}`,
    `*Target* volume \`${plan.volume}\` on \`${plan.target.instanceId}\` (${plan.target.online ? 'online' : `NOT online: ${plan.target.pingStatus}`}), container \`${plan.containerName}\``,
    `*If the volume has data:* ${plan.existingVolume}`,
    `*If the container is missing:* ${plan.missingContainer}`,
  ].join('\n');
}

/** The plan with Confirm / Cancel: only the requester's Confirm sends it. */
export function planMessage(plan: RestorePlan, request: RestoreRequest, who: Who): SlackMessage {
  const value = JSON.stringify({ requester: who.userId, request });
  const text = `Restore plan for \`${request.volume}\` — nothing is sent until <@${who.userId}> confirms.\n${planText(plan)}`;
  return {
    response_type: 'ephemeral',
    text,
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text } },
      {
        type: 'actions',
        elements: [
          { type: 'button', action_id: 'lifeboat_confirm', style: 'danger', text: { type: 'plain_text', text: 'Confirm restore' }, value },
          { type: 'button', action_id: 'lifeboat_cancel', text: { type: 'plain_text', text: 'Cancel' }, value },
        ],
      },
    ],
  };
}

/** Does the work of one acknowledged request and posts the answer to its response_url. */
export async function performSlackWork(deps: SlackDeps, work: SlackWork): Promise<void> {
  if (!deps.responseUrlPattern.test(work.responseUrl)) return;
  const post = (message: SlackMessage): Promise<void> => deps.post(work.responseUrl, message);
  try {
    if (work.kind === 'cancel') {
      await post({ response_type: 'ephemeral', replace_original: true, text: `Cancelled by <@${work.who.userId}>; nothing was sent.` });
      return;
    }
    if (work.kind === 'confirm') {
      const started = await deps.service.start(work.request, requester(work.who), {
        notifySlack: { responseUrl: work.responseUrl, channelId: work.who.channelId, userId: work.who.userId },
      });
      await post({
        response_type: 'in_channel',
        replace_original: true,
        text: `<@${work.who.userId}> started restore \`${started.restoreId}\` of \`${work.request.volume}\` on \`${work.request.instanceId}\` from \`${started.plan.archive.key}\`. The result will be posted here.`,
      });
      return;
    }
    await post(await commandAnswer(deps, work.command, work.who, work.responseUrl));
  } catch (e) {
    if (!(e instanceof ClientError)) {
      await post(ephemeral('Lifeboat hit an internal error; nothing was sent. The on-call engineer can use the API or the CLI meanwhile.')).catch(() => undefined);
      throw e;
    }
    await post(ephemeral(`Lifeboat: ${e.message}`));
  }
}

async function commandAnswer(deps: SlackDeps, command: SlackCommand, who: Who, responseUrl: string): Promise<SlackMessage> {
  switch (command.verb) {
    case 'help':
      return ephemeral(USAGE);
    case 'volumes': {
      const now = (deps.now?.() ?? new Date()).getTime();
      const volumes = await deps.catalog.listVolumes();
      if (volumes.length === 0) return ephemeral('No archives are cataloged yet.');
      return ephemeral(
        volumes
          .map((v) => `• \`${v.source}/${v.volume}\` newest ${v.newestTakenAt} (${Math.round((now - Date.parse(v.newestTakenAt)) / 60_000).toString()} min ago)${v.lastProvenAt ? `, last proven restorable ${v.lastProvenAt}` : ''}`)
          .join('\n'),
      );
    }
    case 'list': {
      const source = await sourceOf(deps, command);
      const archives = await deps.catalog.listArchives(source, command.volume, { limit: 10 });
      if (archives.length === 0) return ephemeral(`No archives of ${source}/${command.volume}.`);
      return ephemeral(archives.map((a) => `• ${a.takenAt} \`${a.key}\` ${a.size.toString()} bytes${a.lastDrill ? ` (drill ${a.lastDrill.outcome})` : ''}`).join('\n'));
    }
    case 'status':
      return ephemeral(describe(await deps.service.get(command.restoreId)));
    case 'plan':
    case 'restore': {
      const source = await sourceOf(deps, command);
      const archive = command.verb === 'restore' && command.archiveKey ? { key: command.archiveKey } : command.at ? { before: command.at } : ('latest' as const);
      let container = command.verb === 'restore' ? command.container : undefined;
      if (container === undefined) {
        const entry = await deps.service.resolveArchive({ source, volume: command.volume, archive });
        container = entry.manifest?.container?.name.replace(/^\//, '');
        if (!container) throw new ClientError(400, `archive ${entry.key} does not name its container: add \`container <name>\``);
      }
      const request = RestoreRequest.parse({
        source,
        volume: command.volume,
        archive,
        instanceId: command.instanceId,
        containerName: container,
        ifVolumeExists: command.verb === 'restore' && command.preserve ? 'preserve' : 'fail',
        dryRun: command.verb === 'plan',
      });
      const plan = await deps.service.plan(request);
      if (command.verb === 'plan') return ephemeral(`Plan (nothing sent):\n${planText(plan)}`);
      return planMessage(plan, { ...request, dryRun: false }, who);
    }
    case 'drill': {
      const source = await sourceOf(deps, command);
      const started = await deps.service.drill(DrillRequest.parse({ source, volume: command.volume, instanceId: command.instanceId }), requester(who), {
        notifySlack: { responseUrl, channelId: who.channelId, userId: who.userId },
      });
      return { response_type: 'in_channel', text: `<@${who.userId}> started drill \`${started.restoreId}\` of \`${source}/${command.volume}\` on \`${command.instanceId}\` (throwaway \`${started.plan.volume}\`). The result will be posted here.` };
    }
  }
}
