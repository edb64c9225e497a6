/**
 * What `/lifeboat recover` posts: the plan (waves, members, archives and their age, predicted
 * times, problems) with Confirm / Cancel, the start, and a recovery's status. Everything a
 * catalog, an archive or a host controls (keys, container names, errors, the planner's
 * sentences) goes through {@link md} and is escaped.
 */
import type { RecoveryMemberPlan, RecoveryPlan, RecoveryRecord, RecoveryTarget, StartedRecovery } from '../recovery/model.ts';
import { joinMd, md, mention, slackMessage, type Mrkdwn, type SlackMessage } from './mrkdwn.ts';
import type { StoredPlan } from './plans.ts';

/** Slack's limits: a section's text, and blocks per message. */
export const SECTION_MAX_CHARS = 3000;
export const MAX_BLOCKS = 50;

/** `45 s`, `3 min 20 s`, `2 h 5 min`, `3 d 4 h`. */
export function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s.toString()} s`;
  if (s < 3600) return `${Math.floor(s / 60).toString()} min${s % 60 ? ` ${(s % 60).toString()} s` : ''}`;
  if (s < 86_400) return `${Math.floor(s / 3600).toString()} h${Math.floor((s % 3600) / 60) ? ` ${Math.floor((s % 3600) / 60).toString()} min` : ''}`;
  return `${Math.floor(s / 86_400).toString()} d${Math.floor((s % 86_400) / 3600) ? ` ${Math.floor((s % 86_400) / 3600).toString()} h` : ''}`;
}

/** `512 B`, `58.1 MB`, `1.2 GB` (powers of 1000, as `du --si`). */
export function bytes(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let v = n;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return i === 0 ? `${n.toString()} B` : `${v.toFixed(1)} ${units[i] ?? ''}`;
}

export function targetText(target: RecoveryTarget): Mrkdwn {
  if ('instanceId' in target) return md`\`${target.instanceId}\``;
  if ('volumes' in target)
    return md`${Object.entries(target.volumes)
      .map(([v, i]) => `${v} → ${i}`)
      .join(', ')}`;
  return md`a new instance from launch template \`${target.launchTemplate.id}\` (${target.launchTemplate.version ?? '$Default'})`;
}

/** One member as a plan shows it: role, order, archive and its age (the RPO it gives), container, prediction. */
export function memberLine(m: RecoveryMemberPlan): Mrkdwn {
  const order =
    m.after.length > 0
      ? md`, after ${joinMd(
          m.after.map((a) => md`\`${a}\``),
          ', ',
        )}`
      : md``;
  const archive = m.archive
    ? md`archive \`${m.archive.key}\` taken ${m.archive.takenAt} (*RPO ${duration(m.archive.ageSeconds)}*), ${bytes(m.archive.size)}`
    : md`*no archive*`;
  const container = m.containerName ? md`container \`${m.containerName}\`` : md`*data only* (no container)`;
  const predicted =
    m.predicted.seconds === null ? md`no prediction: ${m.predicted.basis}` : md`predicted ${duration(m.predicted.seconds)} (${m.predicted.basis})`;
  return md`• \`${m.volume}\` — ${m.role}${order}; ${archive}; ${container} on \`${m.instanceId}\`; ${predicted}`;
}

/** Lines packed into sections of at most {@link SECTION_MAX_CHARS} characters (a longer single line is cut). */
function sections(lines: readonly Mrkdwn[]): string[] {
  const out: string[] = [];
  let current = '';
  for (const line of lines) {
    // Cut without splitting an escape (`&amp;`) in two.
    const text = line.text.length > SECTION_MAX_CHARS ? `${line.text.slice(0, SECTION_MAX_CHARS - 1).replace(/&[a-z]{0,3}$/, '')}…` : line.text;
    if (current && current.length + 1 + text.length > SECTION_MAX_CHARS) {
      out.push(current);
      current = '';
    }
    current = current ? `${current}\n${text}` : text;
  }
  if (current) out.push(current);
  return out;
}

const section = (text: string) => ({ type: 'section', text: { type: 'mrkdwn', text } });

/** The plan's parts, in order: summary, each wave's members, problems, warnings. */
function planParts(plan: RecoveryPlan): { summary: Mrkdwn; waves: Mrkdwn[][]; problems: Mrkdwn[]; warnings: Mrkdwn[] } {
  const members = plan.waves.reduce((n, w) => n + w.members.length, 0);
  const total =
    plan.predicted.seconds === null
      ? md`no prediction of the total: ${plan.predicted.basis}`
      : md`predicted total ${duration(plan.predicted.seconds)} (${plan.predicted.basis})`;
  const summary = joinMd([
    md`*${members} volumes* of \`${plan.source}\` in *${plan.waves.length} waves* onto ${targetText(plan.target)}${plan.at ? md`, each volume’s newest archive at or before ${plan.at}` : md`, each volume’s newest archive`}; up to ${plan.parallel} members of a wave at once; ${total}.`,
    md`*If a volume already holds data:* ${plan.ifVolumeExists === 'preserve' ? 'its contents are kept aside (preserve) and the archive goes live' : 'that member is refused (nothing on the host is touched for it)'}. A member that fails puts its part of the host back as it was.`,
  ]);
  const waves = plan.waves.map((w) => [md`*Wave ${w.wave}*${w.wave === 1 ? '' : ' (starts when the wave before it has ended)'}`, ...w.members.map(memberLine)]);
  const problems = plan.problems.length > 0 ? [md`*Problems — this plan cannot run:*`, ...plan.problems.map((p) => md`• ${p}`)] : [];
  const warnings = plan.warnings.length > 0 ? [md`*Worth knowing:*`, ...plan.warnings.map((w) => md`• ${w}`)] : [];
  return { summary, waves, problems, warnings };
}

/** The plan as text (the dry-run shape, and every message's fallback text). */
export function recoveryPlanText(plan: RecoveryPlan): Mrkdwn {
  const { summary, waves, problems, warnings } = planParts(plan);
  return joinMd([summary, ...waves.flat(), ...problems, ...warnings]);
}

/**
 * The recovery plan. With no problems and a stored plan: Confirm (runs exactly this plan,
 * once) and Cancel, each carrying only the stored plan's id. With problems: no Confirm.
 */
export function recoveryPlanMessage(plan: RecoveryPlan, stored: StoredPlan | undefined, requesterId: string): SlackMessage {
  const head =
    plan.problems.length > 0 || !stored
      ? md`Recovery plan for \`${plan.source}\` — it has problems, so it cannot be confirmed; nothing was recorded or sent. Fix them (or name another time with \`at\`) and ask again.`
      : md`Recovery plan for \`${plan.source}\` — nothing is sent until ${mention(requesterId)} confirms (before ${stored.expiresAt}). Confirm runs exactly these archives, even if newer ones arrive; if one of them is gone by then, nothing starts.`;
  const { summary, waves, problems, warnings } = planParts(plan);
  const bodies = [...sections([head, summary]), ...sections(problems), ...waves.flatMap((w) => sections(w)), ...sections(warnings)];
  const confirmable = plan.problems.length === 0 && stored !== undefined;
  const room = MAX_BLOCKS - (confirmable ? 2 : 1);
  const shown =
    bodies.length > room
      ? [...bodies.slice(0, room - 1), md`… the plan is longer than one Slack message; \`lifeboat recover ${plan.source} --dry-run\` shows all of it.`.text]
      : bodies;
  const blocks: unknown[] = shown.map(section);
  if (confirmable)
    blocks.push({
      type: 'actions',
      elements: [
        { type: 'button', action_id: 'lifeboat_confirm', style: 'danger', text: { type: 'plain_text', text: 'Confirm recovery' }, value: stored.id },
        { type: 'button', action_id: 'lifeboat_cancel', text: { type: 'plain_text', text: 'Cancel' }, value: stored.id },
      ],
    });
  return slackMessage(joinMd([head, recoveryPlanText(plan)]), { response_type: 'ephemeral', blocks });
}

/** Posted in the channel when Confirm started the recovery. */
export function recoveryStartedMessage(started: StartedRecovery, userId: string): SlackMessage {
  const p = started.plan;
  const members = p.waves.reduce((n, w) => n + w.members.length, 0);
  return slackMessage(
    md`${mention(userId)} started recovery \`${started.recoveryId}\` of \`${p.source}\` onto ${targetText(p.target)}: ${members} volumes in ${p.waves.length} waves${p.predicted.seconds === null ? '' : `, predicted ${duration(p.predicted.seconds)}`}. The report goes to the notification topic, and is posted here too if the recovery ends within 30 minutes (Slack’s reply link expires); \`/lifeboat status ${started.recoveryId}\` shows each member meanwhile and the report any time.`,
    { response_type: 'in_channel', replace_original: true },
  );
}

/** `/lifeboat status rc-…`: the state, each member, and the report once there is one. */
export function recoveryStatusText(r: RecoveryRecord): Mrkdwn {
  const head = md`Recovery \`${r.id}\` of \`${r.plan.source}\` (${r.plan.mode}) onto ${r.launchedInstanceId ? md`\`${r.launchedInstanceId}\` (launched)` : targetText(r.plan.target)}: *${r.state.toUpperCase()}*, requested by ${r.requestedBy}${r.startedAt ? `, started ${r.startedAt}` : ''}${r.endedAt ? `, ended ${r.endedAt}` : ''}.`;
  if (r.report) {
    // From the report's fields, not its text: an error or key holding a line break stays on its member's line.
    const report = r.report;
    const members = report.members.map(
      (m) =>
        md`• wave ${m.wave} \`${m.volume}\` (${m.role}): ${m.outcome}${m.archiveKey === null ? md`; no archive` : md`; archive \`${m.archiveKey}\`, RPO ${duration(m.rpoSeconds ?? 0)}`}${m.rtoSeconds === null ? '' : md`; RTO ${duration(m.rtoSeconds)}${m.predictedSeconds === null ? '' : md` (predicted ${duration(m.predictedSeconds)})`}`}${m.error ? md`; error: ${m.error}` : ''}`,
    );
    return joinMd([
      head,
      md`*${report.outcome.toUpperCase()}* in ${duration(report.totalSeconds)}${report.predictedSeconds === null ? ' (no prediction)' : md` (predicted ${duration(report.predictedSeconds)})`}.`,
      ...members,
      ...(r.error ? [md`Error: ${r.error}`] : []),
    ]);
  }
  const lines = r.plan.waves.flatMap((w) =>
    w.members.map((m) => {
      const p = r.members[m.volume];
      const took = p?.totalSeconds === undefined ? '' : ` in ${duration(p.totalSeconds)}`;
      return md`• wave ${w.wave} \`${m.volume}\` (${m.role}): ${p?.state ?? 'pending'}${took}${p?.restoreId ? md` — \`${p.restoreId}\`` : ''}${p?.error ? md` — ${p.error}` : ''}`;
    }),
  );
  return joinMd([head, ...lines, ...(r.error ? [md`Error: ${r.error}`] : [])]);
}
