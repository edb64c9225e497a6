import * as z from 'zod';
import type { Catalog } from '../catalog/model.ts';
import { predictionText } from '../predict.ts';
import type { ProtectionPolicy } from '../protection.ts';
import { RecoveryRequest, type RecoveryApi } from '../recovery/model.ts';
import type { CancelOutcome } from '../restore/cancel.ts';
import { ClientError } from '../restore/errors.ts';
import { CONTAINER_PATTERN } from '../restore/request.ts';
import { DrillRequest, RestoreRequest } from '../restore/schemas.ts';
import type { RestorePlan, RestoreService } from '../restore/service.ts';
import { verificationLines } from '../restore/verification.ts';
import { SLACK_ID, Who, mayActOn, notGranted, refused, type SlackAccess } from './access.ts';
import { USAGE, SlackCommand, parseSlackText } from './grammar.ts';
import { oneLine } from '../visible-text.ts';
import { joinMd, md, mention, ownWords, slackMessage, type Mrkdwn, type SlackMessage } from './mrkdwn.ts';
import { PLAN_ID, newPlanId, planSource, type PlanClaim, type SlackStateStore, type StoredPlan } from './plans.ts';
import { recoveryPlanMessage, recoveryStartedMessage, recoveryStatusText } from './recovery.ts';
import { restoreStatusText } from './status.ts';
import { MAX_SKEW_SECONDS, verifySlackSignature } from './signature.ts';

export type { SlackAccess } from './access.ts';
export { slackMessage, type SlackMessage } from './mrkdwn.ts';

const ephemeral = (text: Mrkdwn, options: Omit<SlackMessage, 'text' | 'response_type'> = {}): SlackMessage =>
  slackMessage(text, { response_type: 'ephemeral', ...options });

/** Work done after the 3-second acknowledgement (a queue between the two in AWS). */
export const SlackWork = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('command'), command: SlackCommand, who: Who, responseUrl: z.url() }),
  /** The plan's Confirm button: the plan id is all it carries. */
  z.object({ kind: z.literal('confirm'), planId: z.string().regex(PLAN_ID), who: Who, responseUrl: z.url() }),
  /** The plan's Cancel button: the plan will never run. */
  z.object({ kind: z.literal('dismiss'), planId: z.string().regex(PLAN_ID), who: Who, responseUrl: z.url() }),
]);
export type SlackWork = z.infer<typeof SlackWork>;

export interface SlackDeps {
  readonly service: RestoreService;
  readonly catalog: Catalog;
  readonly access: SlackAccess;
  /** Stored plans and the replay record (the catalog table in AWS). */
  readonly plans: SlackStateStore;
  /**
   * Whole-host recovery (`recover`, its Confirm, `status rc-…`): the recovery service over the
   * recovery state machine. @default none — `recover` answers that recovery is not deployed
   */
  readonly recovery?: RecoveryApi;
  /**
   * The protect config's entries (LIFEBOAT_PROTECT): where a restore the user names no container
   * for finds the one to stop and restart (`recovery.container`, else `backup.container`), as a
   * recovery does. Never the archive's manifest: any backed-up host can write one.
   * @default none — such a restore must say `container <name>` or `data-only`
   */
  readonly protect?: readonly Pick<ProtectionPolicy, 'source' | 'volume' | 'recovery' | 'backup'>[];
  /** Cancels a restore or drill: `cancelRestore` bound to its deps. */
  readonly cancel: (id: string, requestedBy: string) => Promise<CancelOutcome>;
  /** The signing secret (Secrets Manager, cached). */
  readonly signingSecret: () => Promise<string>;
  /** Where a response_url may point: https://hooks.slack.com/ in production. */
  readonly responseUrlPattern: RegExp;
  readonly enqueue: (work: SlackWork) => Promise<void>;
  readonly post: (url: string, message: SlackMessage) => Promise<void>;
  readonly now?: () => Date;
  /** How long a plan can be confirmed. @default 900 */
  readonly planSeconds?: number;
  readonly newPlanId?: () => string;
  /**
   * The region this Lifeboat runs in (AWS_REGION, which Lambda sets): every answer names it, so
   * the on-call engineer can tell the primary's app from the DR stack's. @default none named
   */
  readonly region?: string;
}

/**
 * The message with the answering Lifeboat's region: a context block after a message's blocks
 * (plans, recoveries), else a last line of its text.
 */
export function withRegion(message: SlackMessage, region: string | undefined): SlackMessage {
  if (region === undefined || region === '') return message;
  const line = md`Lifeboat in ${region}`;
  if (message.blocks !== undefined) return { ...message, blocks: [...message.blocks, { type: 'context', elements: [{ type: 'mrkdwn', text: line.text }] }] };
  // Both parts are escaped Mrkdwn already.
  return { ...message, text: `${message.text}\n_${line.text}_` };
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

const answer = (message?: SlackMessage, region?: string): HttpAnswer => ({
  statusCode: 200,
  headers: { 'content-type': 'application/json' },
  body: message ? JSON.stringify(withRegion(message, region)) : '',
});
const unauthorized = (why: string): HttpAnswer => ({ statusCode: 401, headers: { 'content-type': 'text/plain' }, body: why });
const header = (headers: HttpRequest['headers'], name: string): string | undefined => {
  for (const [k, v] of Object.entries(headers)) if (k.toLowerCase() === name) return v;
  return undefined;
};
const nowOf = (deps: Pick<SlackDeps, 'now'>): Date => deps.now?.() ?? new Date();

const CommandForm = z.object({
  team_id: z.string().regex(SLACK_ID),
  channel_id: z.string().regex(SLACK_ID),
  user_id: z.string().regex(SLACK_ID),
  text: z.string().max(4000).default(''),
  response_url: z.url(),
  /** The slash command as typed (`/lifeboat`, or `/lifeboat-dr` in the DR region's app): help speaks it. */
  command: z
    .string()
    .regex(/^\/[a-z0-9_-]{1,31}$/)
    .catch('/lifeboat'),
});
const Interaction = z.object({
  type: z.literal('block_actions'),
  team: z.object({ id: z.string().regex(SLACK_ID) }),
  user: z.object({ id: z.string().regex(SLACK_ID) }),
  channel: z.object({ id: z.string().regex(SLACK_ID) }),
  response_url: z.url(),
  actions: z.array(z.object({ action_id: z.string(), value: z.string().max(2000).optional() })).min(1),
});

/** {@link USAGE} for the slash command as the user typed it (a DR region's Slack app is `/lifeboat-dr`). */
const usageFor = (slashCommand: string): string => USAGE.replaceAll('`/lifeboat ', `\`${slashCommand} `);

/** Answered 401: refused before anything else happens. */
export const REPLAYED = 'replayed Slack request: this timestamp and signature were already received';

/**
 * The two Slack routes. The signature is checked before anything else; an
 * unsigned, tampered, stale or replayed request gets 401 and nothing happens.
 * Everything slow goes on the queue: Slack gets its answer within 3 s.
 */
export async function handleSlackHttp(deps: SlackDeps, request: HttpRequest): Promise<HttpAnswer> {
  const timestamp = header(request.headers, 'x-slack-request-timestamp') ?? '';
  const signature = header(request.headers, 'x-slack-signature') ?? '';
  const check = verifySlackSignature({ rawBody: request.rawBody, timestamp, signature, secret: await deps.signingSecret(), now: nowOf(deps) });
  if (!check.ok) return unauthorized('invalid Slack signature');
  // Signed and fresh, but maybe received before: remembered until it falls out of the window anyway.
  const forgetAfter = new Date((Number(timestamp) + MAX_SKEW_SECONDS + 60) * 1000);
  if (!(await deps.plans.firstSeen(timestamp, signature, forgetAfter))) return unauthorized(REPLAYED);

  const form = new URLSearchParams(request.rawBody);
  if (request.path === '/slack/commands') {
    if (form.get('ssl_check') === '1') return answer();
    const parsed = CommandForm.safeParse(Object.fromEntries(form));
    if (!parsed.success || !deps.responseUrlPattern.test(parsed.data.response_url))
      return answer(ephemeral(md`Lifeboat could not read this request from Slack.`), deps.region);
    const who = { teamId: parsed.data.team_id, channelId: parsed.data.channel_id, userId: parsed.data.user_id };
    const no = refused(deps.access, who);
    if (no) return answer(ephemeral(no), deps.region);
    const command = parseSlackText(parsed.data.text);
    const usage = usageFor(parsed.data.command);
    // The grammar's errors quote the user's words already made safe (`shown`): its backticks are its own.
    if (!command.ok) return answer(ephemeral(joinMd([ownWords(`${oneLine(command.error)}.`), ownWords(usage)], '\n\n')), deps.region);
    if (command.command.verb === 'help') return answer(ephemeral(ownWords(usage)), deps.region);
    await deps.enqueue({ kind: 'command', command: command.command, who, responseUrl: parsed.data.response_url });
    return answer(ephemeral(md`Working on \`${command.command.verb}\`…`), deps.region);
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
    await deps.post(responseUrl, withRegion(ephemeral(no, { replace_original: false }), deps.region));
    return answer();
  }
  const action = i.actions[0];
  const planId = action?.value ?? '';
  if (!PLAN_ID.test(planId)) return answer();
  if (action?.action_id === 'lifeboat_confirm') await deps.enqueue({ kind: 'confirm', planId, who, responseUrl });
  else if (action?.action_id === 'lifeboat_cancel') await deps.enqueue({ kind: 'dismiss', planId, who, responseUrl });
  return answer();
}

const requester = (who: Who): string => `slack:${who.teamId}/${who.userId}`;

async function sourceOf(deps: SlackDeps, ref: { source?: string; volume: string }): Promise<string> {
  if (ref.source) return ref.source;
  const sources = (await deps.catalog.listVolumes()).filter((v) => v.volume === ref.volume).map((v) => v.source);
  if (sources.length === 1 && sources[0]) return sources[0];
  throw new ClientError(
    400,
    sources.length === 0
      ? `no archives of volume ${ref.volume} are cataloged`
      : `volume ${ref.volume} has archives from several sources (${sources.join(', ')}): write \`<source>/${ref.volume}\``,
  );
}

function planText(plan: RestorePlan): Mrkdwn {
  const a = plan.archive;
  return joinMd([
    md`*Archive* \`${a.key}\` — taken ${a.takenAt} (${Math.round(a.ageSeconds / 60)} min ago), ${a.size} bytes ${a.compression}${a.sha256 ? ', sha256 checked' : ', no checksum'}`,
    plan.dataOnly
      ? md`*Target* volume \`${plan.volume}\` on \`${plan.target.instanceId}\` (${plan.target.online ? 'online' : `NOT online: ${plan.target.pingStatus}`}), *DATA ONLY*: no container is stopped, started, created or verified`
      : md`*Target* volume \`${plan.volume}\` on \`${plan.target.instanceId}\` (${plan.target.online ? 'online' : `NOT online: ${plan.target.pingStatus}`}), container \`${plan.containerName}\``,
    md`*Verify:* ${verificationLines(plan.verification).join('; ')}`,
    md`*If the volume has data:* ${plan.existingVolume}`,
    md`*If the container is missing:* ${plan.missingContainer}`,
    ...(plan.recreation.otherMounts.length > 0
      ? [md`*Other mounts:* ${plan.recreation.otherMounts.join('; ')} (never created; the host refuses to recreate the container while it has them)`]
      : []),
    ...plan.recreation.dropped.map((d) => md`*Left out:* ${d.what}: ${d.reason}`),
    md`*Integrity:* ${plan.integrity}`,
    md`*Size:* ${plan.expectedSize.bytes} bytes uncompressed (${plan.expectedSize.from}); the host needs that much free space and stops extracting beyond it`,
    md`*Time:* ${predictionText(plan.predicted)}`,
    md`*A new volume is made with:* ${driverText(plan.volumeCreation.used)} (${plan.volumeCreation.used.from})${plan.volumeCreation.manifestRecorded ? md` — the manifest recorded ${driverText(plan.volumeCreation.manifestRecorded)}, not used` : ''}`,
  ]);
}

const driverText = (d: { readonly driver: string; readonly driverOpts: Readonly<Record<string, string>> }): string =>
  `${d.driver}${
    Object.keys(d.driverOpts).length > 0
      ? ` ${Object.entries(d.driverOpts)
          .map(([k, v]) => `${k}=${v}`)
          .join(' ')}`
      : ''
  }`;

/** The container the protect config names for source/volume: its `recovery.container`, else its `backup.container`. */
export function protectedContainer(protect: SlackDeps['protect'], source: string, volume: string): string | undefined {
  const entry = protect?.find((p) => p.source === source && p.volume === volume);
  return entry?.recovery?.container ?? entry?.backup?.container;
}

/**
 * A restore with no container named and none in the protect config: refused, asking for one. The
 * archive's manifest may name one (its host wrote it): shown as a hint, said to be the archive's,
 * never used.
 */
async function noContainer(deps: SlackDeps, source: string, volume: string, archive: RestoreRequest['archive']): Promise<Mrkdwn> {
  const entry = await deps.service.resolveArchive({ source, volume, archive });
  // Shown only when it is a container name at all: the rest of a manifest's string is not worth showing.
  const named = entry.manifest?.container?.name.replace(/^\//, '');
  const hint = named !== undefined && CONTAINER_PATTERN.test(named) ? named : undefined;
  return joinMd([
    md`Which container should this restore stop and restart? The protect config names none for \`${source}/${volume}\`, and Lifeboat never takes one from the archive. Add \`container <name>\`, or \`data-only\` to restore the volume and stop, start or verify no container; nothing was planned or sent.`,
    ...(hint ? [md`Hint from the archive's manifest (written by the backed-up host, not trusted, not used): it names container \`${hint}\`.`] : []),
  ]);
}

/** The plan with Confirm / Cancel. The buttons carry only the stored plan's id. */
export function planMessage(plan: RestorePlan, stored: StoredPlan): SlackMessage {
  const text = joinMd([
    md`Restore plan for \`${plan.volume}\` — nothing is sent until ${mention(stored.requester.userId)} confirms (before ${stored.expiresAt}). Confirm restores exactly this archive, even if a newer one arrives.`,
    planText(plan),
  ]);
  return ephemeral(text, {
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: text.text } },
      {
        type: 'actions',
        elements: [
          { type: 'button', action_id: 'lifeboat_confirm', style: 'danger', text: { type: 'plain_text', text: 'Confirm restore' }, value: stored.id },
          { type: 'button', action_id: 'lifeboat_cancel', text: { type: 'plain_text', text: 'Cancel' }, value: stored.id },
        ],
      },
    ],
  });
}

/** Does the work of one acknowledged request and posts the answer to its response_url. */
export async function performSlackWork(deps: SlackDeps, work: SlackWork): Promise<void> {
  if (!deps.responseUrlPattern.test(work.responseUrl)) return;
  const post = (message: SlackMessage): Promise<void> => deps.post(work.responseUrl, withRegion(message, deps.region));
  try {
    // The allowlists are checked again here, when acting: the configuration may have changed since the request.
    const no = refused(deps.access, work.who);
    if (no) {
      await post(ephemeral(no, { replace_original: false }));
      return;
    }
    if (work.kind === 'confirm') await post(await confirmPlan(deps, work));
    else if (work.kind === 'dismiss') await post(await dismissPlan(deps, work));
    else await post(await commandAnswer(deps, work.command, work.who, work.responseUrl));
  } catch (e) {
    if (!(e instanceof ClientError)) {
      await post(ephemeral(md`Lifeboat hit an internal error. The on-call engineer can use the API or the CLI meanwhile.`)).catch(() => undefined);
      throw e;
    }
    await post(ephemeral(md`Lifeboat: ${e.message}`));
  }
}

/** Why a click on a stored plan does nothing, said to the clicker. */
function notClaimed(claim: Extract<PlanClaim, { ok: false }>): Mrkdwn {
  const plan = claim.plan;
  const again = plan?.recovery ? md`\`/lifeboat recover …\`` : md`\`/lifeboat restore …\``;
  switch (claim.why) {
    case 'unknown':
      return md`This plan is unknown or long expired; nothing was sent. Ask for a new one with \`/lifeboat restore …\` or \`/lifeboat recover …\`.`;
    case 'expired':
      return md`This plan expired at ${plan?.expiresAt ?? '?'}; nothing was sent. Ask for a new one with ${again}.`;
    case 'starting':
      return md`This plan is already being started by an earlier click; nothing more was sent. The result will be posted here.`;
    case 'started':
      if (plan?.recovery)
        return md`This plan was already started as recovery \`${plan.recoveryId ?? '?'}\`; nothing more was sent. \`/lifeboat status ${plan.recoveryId ?? ''}\` shows how it is going.`;
      return md`This plan was already started as \`${plan?.restoreId ?? '?'}\`; nothing more was sent. \`/lifeboat status ${plan?.restoreId ?? ''}\` shows how it is going; \`/lifeboat cancel ${plan?.restoreId ?? ''}\` stops it.`;
    case 'failed':
      return md`This plan could not be started (${plan?.error ?? 'unknown error'}); nothing more was sent. Ask for a new one with ${again}.`;
    case 'cancelled':
      return md`This plan was cancelled by ${mention(plan?.cancelledBy ?? '')}; nothing was sent.`;
  }
}

/** Only the requester, still granted the plan's source, may confirm or cancel a plan. */
async function ownPlan(deps: SlackDeps, work: Extract<SlackWork, { planId: string }>): Promise<StoredPlan | SlackMessage> {
  const stored = await deps.plans.getPlan(work.planId);
  if (!stored) return ephemeral(notClaimed({ ok: false, why: 'unknown' }), { replace_original: false });
  if (stored.requester.userId !== work.who.userId || stored.requester.teamId !== work.who.teamId) {
    return ephemeral(md`Only ${mention(stored.requester.userId)}, who asked for this ${stored.recovery ? 'recovery' : 'restore'}, can confirm or cancel it.`, {
      replace_original: false,
    });
  }
  const source = planSource(stored);
  if (!mayActOn(deps.access, work.who.userId, source)) return ephemeral(notGranted(work.who.userId, source), { replace_original: false });
  return stored;
}

const NOT_DEPLOYED = md`Whole-host recovery is not deployed in this Lifeboat stack (it has no recovery state machine); nothing was planned or sent. Restore volumes one at a time with \`/lifeboat restore\`, or ask the Lifeboat owners to deploy recovery.`;

/** Confirm of a recovery plan: runs exactly the stored plan (every member's archive pinned), once. */
async function confirmRecovery(deps: SlackDeps, work: Extract<SlackWork, { kind: 'confirm' }>, own: StoredPlan): Promise<SlackMessage> {
  const { recovery } = deps;
  // Checked before the claim: the plan stays pending, and can be confirmed once recovery is deployed again.
  if (!recovery || !own.recovery) return ephemeral(NOT_DEPLOYED, { replace_original: false });
  const claim = await deps.plans.claimPlan(own.id, nowOf(deps));
  if (!claim.ok) return ephemeral(notClaimed(claim), { replace_original: false });
  const plan = claim.plan.recovery ?? own.recovery;
  const { who } = work;
  let started: Awaited<ReturnType<RecoveryApi['startPlan']>>;
  try {
    started = await recovery.startPlan(plan, requester(who), {
      notifySlack: { responseUrl: work.responseUrl, channelId: who.channelId, userId: who.userId },
    });
  } catch (e) {
    // Spent either way (a pinned archive gone, a lock held, …): a second click must not try again behind the first one's back.
    await deps.plans.settlePlan(own.id, { error: e instanceof ClientError ? e.message : 'internal error' }).catch(() => undefined);
    throw e;
  }
  await deps.plans.settlePlan(own.id, { recoveryId: started.recoveryId }).catch(() => undefined);
  return recoveryStartedMessage(started, who.userId);
}

/** Confirm: runs exactly the stored plan (its archive by key), once. */
async function confirmPlan(deps: SlackDeps, work: Extract<SlackWork, { kind: 'confirm' }>): Promise<SlackMessage> {
  const own = await ownPlan(deps, work);
  if ('text' in own) return own;
  if (own.recovery) return confirmRecovery(deps, work, own);
  const claim = await deps.plans.claimPlan(own.id, nowOf(deps));
  if (!claim.ok) return ephemeral(notClaimed(claim), { replace_original: false });
  const { request } = claim.plan;
  // A restore plan always has its request (StoredPlan holds exactly one of the two).
  if (!request) throw new Error(`stored plan ${own.id} has neither a restore request nor a recovery plan`);
  const { who } = work;
  let started: Awaited<ReturnType<RestoreService['start']>>;
  try {
    started = await deps.service.start(request, requester(who), {
      notifySlack: { responseUrl: work.responseUrl, channelId: who.channelId, userId: who.userId },
    });
  } catch (e) {
    // The plan is spent either way: a second click must not try again behind the first one's back.
    await deps.plans.settlePlan(own.id, { error: e instanceof ClientError ? e.message : 'internal error' }).catch(() => undefined);
    throw e;
  }
  // The restore runs whatever happens to this bookkeeping; the plan stays `starting`, which still refuses a second run.
  await deps.plans.settlePlan(own.id, { restoreId: started.restoreId }).catch(() => undefined);
  return slackMessage(
    md`${mention(who.userId)} started restore \`${started.restoreId}\` of \`${request.volume}\` on \`${request.instanceId}\` from \`${started.plan.archive.key}\`. The result will be posted here.`,
    { response_type: 'in_channel', replace_original: true },
  );
}

/** The plan's Cancel button: the plan can no longer be confirmed. */
async function dismissPlan(deps: SlackDeps, work: Extract<SlackWork, { kind: 'dismiss' }>): Promise<SlackMessage> {
  const own = await ownPlan(deps, work);
  if ('text' in own) return own;
  const claim = await deps.plans.cancelPlan(own.id, work.who.userId, nowOf(deps));
  if (!claim.ok) return ephemeral(notClaimed(claim), { replace_original: false });
  return ephemeral(md`Cancelled by ${mention(work.who.userId)}; nothing was sent.`, { replace_original: true });
}

async function commandAnswer(deps: SlackDeps, command: SlackCommand, who: Who, responseUrl: string): Promise<SlackMessage> {
  switch (command.verb) {
    case 'help':
      return ephemeral(ownWords(USAGE));
    case 'volumes': {
      const now = nowOf(deps).getTime();
      const volumes = await deps.catalog.listVolumes();
      if (volumes.length === 0) return ephemeral(md`No archives are cataloged yet.`);
      return ephemeral(
        joinMd(
          volumes.map(
            (v) =>
              md`• \`${v.source}/${v.volume}\` newest ${v.newestTakenAt} (${Math.round((now - Date.parse(v.newestTakenAt)) / 60_000)} min ago)${v.lastProvenAt ? md`, last proven restorable ${v.lastProvenAt}` : ''}`,
          ),
        ),
      );
    }
    case 'list': {
      const source = await sourceOf(deps, command);
      if (!mayActOn(deps.access, who.userId, source)) return ephemeral(notGranted(who.userId, source));
      const archives = await deps.catalog.listArchives(source, command.volume, { limit: 10 });
      if (archives.length === 0) return ephemeral(md`No archives of ${source}/${command.volume}.`);
      return ephemeral(joinMd(archives.map((a) => md`• ${a.takenAt} \`${a.key}\` ${a.size} bytes${a.lastDrill ? md` (drill ${a.lastDrill.outcome})` : ''}`)));
    }
    case 'status': {
      if (command.recoveryId !== undefined) {
        if (!deps.recovery) return ephemeral(NOT_DEPLOYED);
        const recovery = await deps.recovery.get(command.recoveryId);
        if (!mayActOn(deps.access, who.userId, recovery.plan.source)) return ephemeral(notGranted(who.userId, recovery.plan.source));
        return ephemeral(recoveryStatusText(recovery));
      }
      // A record shows its source's archive, host and verify output: only to users granted that source.
      const record = await deps.service.get(command.restoreId ?? '');
      if (!mayActOn(deps.access, who.userId, record.source)) return ephemeral(notGranted(who.userId, record.source));
      return ephemeral(restoreStatusText(record));
    }
    case 'cancel': {
      const record = await deps.service.get(command.restoreId);
      if (!mayActOn(deps.access, who.userId, record.source)) return ephemeral(notGranted(who.userId, record.source));
      const outcome = await deps.cancel(command.restoreId, requester(who));
      if (outcome.state !== 'cancelling') return ephemeral(md`\`${command.restoreId}\`: ${outcome.message}`);
      // The result reaches this channel only for a restore started from Slack (its record keeps that response_url).
      const where = record.requestedBy.startsWith('slack:') ? md`you'll get the result here` : md`\`/lifeboat status ${command.restoreId}\` shows the result`;
      return slackMessage(md`cancelling \`${command.restoreId}\` (the host puts things back; ${where}) — asked by ${mention(who.userId)}`, {
        response_type: 'in_channel',
      });
    }
    case 'plan':
    case 'restore': {
      const source = await sourceOf(deps, command);
      if (!mayActOn(deps.access, who.userId, source)) return ephemeral(notGranted(who.userId, source));
      const archive =
        command.verb === 'restore' && command.archiveKey ? { key: command.archiveKey } : command.at ? { before: command.at } : ('latest' as const);
      const container = command.dataOnly ? undefined : (command.container ?? protectedContainer(deps.protect, source, command.volume));
      if (container === undefined && !command.dataOnly) return ephemeral(await noContainer(deps, source, command.volume, archive));
      const parsed = RestoreRequest.safeParse({
        source,
        volume: command.volume,
        archive,
        instanceId: command.instanceId,
        containerName: container,
        ifVolumeExists: command.verb === 'restore' && command.preserve ? 'preserve' : 'fail',
        engine: command.engine,
        check: command.check,
        expectMinimum: command.expectMinimum,
        dryRun: command.verb === 'plan',
      });
      // The container name comes from the user or the protect config, never from the archive's manifest.
      if (!parsed.success)
        throw new ClientError(
          400,
          `this restore cannot be planned: ${parsed.error.issues.map((i) => `${i.path.join('.')} ${i.message}`).join('; ')}; name the container with \`container <name>\``,
        );
      const request = parsed.data;
      const plan = await deps.service.plan(request);
      if (command.verb === 'plan') return ephemeral(joinMd([md`Plan (nothing sent):`, planText(plan)]));
      // What Confirm will run: this request with the archive pinned to the key just shown.
      const now = nowOf(deps);
      const stored: StoredPlan = {
        id: deps.newPlanId?.() ?? newPlanId(),
        request: { ...request, archive: { key: plan.archive.key }, dryRun: false },
        requester: who,
        createdAt: now.toISOString(),
        expiresAt: new Date(now.getTime() + (deps.planSeconds ?? 900) * 1000).toISOString(),
        state: 'pending',
      };
      await deps.plans.savePlan(stored);
      return planMessage(plan, stored);
    }
    case 'recover': {
      if (!deps.recovery) return ephemeral(NOT_DEPLOYED);
      if (!mayActOn(deps.access, who.userId, command.source)) return ephemeral(notGranted(who.userId, command.source));
      const parsed = RecoveryRequest.safeParse({
        source: command.source,
        target: { instanceId: command.instanceId },
        ...(command.at === undefined ? {} : { at: command.at }),
        ifVolumeExists: command.preserve ? 'preserve' : 'fail',
        dryRun: true,
      });
      if (!parsed.success)
        throw new ClientError(400, `this recovery cannot be planned: ${parsed.error.issues.map((i) => `${i.path.join('.')} ${i.message}`).join('; ')}`);
      const plan = await deps.recovery.plan(parsed.data);
      // A plan with problems is shown, never stored: there is nothing to confirm.
      if (plan.problems.length > 0) return recoveryPlanMessage(plan, undefined, who.userId);
      const now = nowOf(deps);
      const stored: StoredPlan = {
        id: deps.newPlanId?.() ?? newPlanId(),
        recovery: plan,
        requester: who,
        createdAt: now.toISOString(),
        expiresAt: new Date(now.getTime() + (deps.planSeconds ?? 900) * 1000).toISOString(),
        state: 'pending',
      };
      await deps.plans.savePlan(stored);
      return recoveryPlanMessage(plan, stored, who.userId);
    }
    case 'drill': {
      const source = await sourceOf(deps, command);
      if (!mayActOn(deps.access, who.userId, source)) return ephemeral(notGranted(who.userId, source));
      const parsed = DrillRequest.safeParse({
        source,
        volume: command.volume,
        instanceId: command.instanceId,
        engine: command.engine,
        check: command.check,
        expectMinimum: command.expectMinimum,
      });
      if (!parsed.success)
        throw new ClientError(400, `this drill cannot start: ${parsed.error.issues.map((i) => `${i.path.join('.')} ${i.message}`).join('; ')}`);
      const started = await deps.service.drill(parsed.data, requester(who), {
        notifySlack: { responseUrl, channelId: who.channelId, userId: who.userId },
      });
      return slackMessage(
        md`${mention(who.userId)} started drill \`${started.restoreId}\` of \`${source}/${command.volume}\` on \`${command.instanceId}\` (throwaway \`${started.plan.volume}\`); ${predictionText(started.plan.predicted)}. The result will be posted here.`,
        { response_type: 'in_channel' },
      );
    }
  }
}
