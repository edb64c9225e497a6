/**
 * The end of a recovery: its outcome from its members' states, and the report people read (the
 * topic's e-mail, Slack, the incident review). Pure functions of the record.
 */
import type { MemberProgress, RecoveryMemberPlan, RecoveryRecord, RecoveryReport } from './model.ts';

export type RecoveryOutcome = RecoveryReport['outcome'];

const seconds = (from: string | undefined, to: string | undefined): number | null =>
  from === undefined || to === undefined ? null : Math.max(0, (Date.parse(to) - Date.parse(from)) / 1000);

const planned = (record: RecoveryRecord): RecoveryMemberPlan[] => record.plan.waves.flatMap((w) => w.members);

/**
 * How a recovery ended:
 * - failed: it ended before any member ran (a Prepare or Launch error, an unrunnable drill), or
 *   with an error while nothing had stopped it, or its last critical members failed, or a critical
 *   member did not succeed (skipped, never run) without one failing, or no member succeeded at all;
 * - stopped: a critical member failed and later waves did not run;
 * - partial: every critical member succeeded (and at least one member did), an optional one did not;
 * - succeeded.
 */
export function recoveryOutcome(record: RecoveryRecord, members: Readonly<Record<string, MemberProgress>>, error: string | undefined): RecoveryOutcome {
  if (record.state === 'failed') return 'failed';
  const plan = planned(record);
  const ran = plan.filter((m) => members[m.volume]?.startedAt !== undefined);
  if (error !== undefined && ran.length === 0) return 'failed';
  const state = (m: RecoveryMemberPlan) => members[m.volume]?.state;
  const criticalFailed = plan.filter((m) => m.role === 'critical' && state(m) === 'failed');
  if (criticalFailed.length) {
    const firstFailedWave = Math.min(...criticalFailed.map((m) => m.wave));
    return plan.some((m) => m.wave > firstFailedWave) ? 'stopped' : 'failed';
  }
  // Partial promises the host's critical part is back: only when every critical member succeeded.
  if (error !== undefined || plan.some((m) => m.role === 'critical' && state(m) !== 'succeeded')) return 'failed';
  if (plan.every((m) => state(m) === 'succeeded')) return 'succeeded';
  return plan.some((m) => state(m) === 'succeeded') ? 'partial' : 'failed';
}

const minutes = (s: number): string => (s < 90 ? `${Math.round(s).toString()} s` : `${(s / 60).toFixed(1)} min`);

/** The report of a finished recovery, from its record with every member final. */
export function recoveryReport(
  record: RecoveryRecord,
  members: Readonly<Record<string, MemberProgress>>,
  outcome: RecoveryOutcome,
  endedAt: Date,
  error: string | undefined,
): RecoveryReport {
  const startedAt = record.startedAt ?? record.createdAt;
  const ends = Object.values(members)
    .map((m) => m.endedAt)
    .filter((e): e is string => e !== undefined)
    .sort();
  const lastEnd = ends.at(-1) ?? endedAt.toISOString();
  const totalSeconds = seconds(startedAt, lastEnd) ?? 0;
  const rows = planned(record).map((m) => {
    const p = members[m.volume] ?? { state: 'skipped' as const };
    const rpo = m.archive ? Math.max(0, Math.round((Date.parse(startedAt) - Date.parse(m.archive.takenAt)) / 1000)) : null;
    return {
      volume: m.volume,
      wave: m.wave,
      role: m.role,
      outcome: p.state,
      archiveKey: m.archive?.key ?? null,
      rpoSeconds: rpo,
      rtoSeconds: seconds(p.startedAt, p.endedAt),
      predictedSeconds: m.predicted.seconds,
      ...(p.phases ? { phases: p.phases } : {}),
      ...(p.error ? { error: p.error } : {}),
    };
  });
  const what = record.plan.mode === 'drill' ? 'Recovery drill' : 'Recovery';
  const lines = [
    `${what} ${record.id} of ${record.plan.source}: ${outcome.toUpperCase()} in ${minutes(totalSeconds)}` +
      (record.plan.predicted.seconds === null ? ' (no prediction: no history).' : ` (predicted ${minutes(record.plan.predicted.seconds)}).`),
  ];
  const launched = record.launchedInstanceId;
  const target = record.plan.target;
  if (launched && 'launchTemplate' in target) {
    const { id, version } = target.launchTemplate;
    lines.push(`Replacement ${launched} launched from ${id}${version === undefined ? '' : ` version ${version}`}; it is left running.`);
  }
  if (error) lines.push(`Error: ${error}`);
  for (const r of rows) {
    const parts = [`Wave ${r.wave.toString()} ${r.volume} (${r.role}): ${r.outcome}`];
    if (r.archiveKey) parts.push(`archive ${r.archiveKey}, RPO ${minutes(r.rpoSeconds ?? 0)}`);
    else parts.push('no archive');
    if (r.rtoSeconds !== null) parts.push(`RTO ${minutes(r.rtoSeconds)}${r.predictedSeconds === null ? '' : ` (predicted ${minutes(r.predictedSeconds)})`}`);
    if (r.phases) {
      parts.push(
        `phases ${Object.entries(r.phases)
          .map(([k, v]) => `${k} ${v.toFixed(1)}`)
          .join(', ')}`,
      );
    }
    if (r.error) parts.push(`error: ${r.error}`);
    lines.push(`${parts.join('; ')}.`);
  }
  return {
    recoveryId: record.id,
    source: record.plan.source,
    mode: record.plan.mode,
    outcome,
    startedAt,
    endedAt: endedAt.toISOString(),
    totalSeconds,
    predictedSeconds: record.plan.predicted.seconds,
    members: rows,
    ...(launched ? { launchedInstanceId: launched } : {}),
    text: lines.join('\n'),
  };
}

/** The topic's subject line: a drill's proof ("provably recoverable in N min") or a recovery's outcome. */
export function reportSubject(report: RecoveryReport): string {
  const source = report.source;
  if (report.mode === 'drill') {
    return report.outcome === 'succeeded'
      ? `Lifeboat recovery drill passed: ${source} provably recoverable in ${Math.max(1, Math.ceil(report.totalSeconds / 60)).toString()} min`
      : `Lifeboat recovery drill FAILED: ${source} (${report.outcome})`;
  }
  const ok = report.members.filter((m) => m.outcome === 'succeeded').length;
  return `Lifeboat recovery ${report.recoveryId} ${report.outcome}: ${source} (${ok.toString()} of ${report.members.length.toString()} volumes back)`;
}
