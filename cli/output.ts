import type { BackupStatus } from '#core/backup/service.ts';
import type { RestoreRecord } from '#core/catalog/model.ts';
import { predictionText } from '#core/predict.ts';
import type { RestorePlan } from '#core/restore/service.ts';
import { verificationLines } from '#core/restore/verification.ts';
import type { BackupResult } from '#core/runbooks/results.ts';
import type { RecoveryPlan, RecoveryRecord, RecoveryTarget } from '#core/recovery/model.ts';
import type { ArchiveListItem, ProgressSink, RecoveryProgress, VolumeView } from './backend.ts';
import { forTerminal, terminalSafe } from './terminal.ts';

export function bytes(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = n;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value.toFixed(unit === 0 || value >= 100 ? 0 : 1)} ${units[unit] ?? 'B'}`;
}

export function age(seconds: number): string {
  if (seconds < 120) return `${Math.round(seconds).toString()} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60).toString()} min`;
  if (seconds < 172_800) return `${(seconds / 3600).toFixed(1)} h`;
  return `${(seconds / 86_400).toFixed(1)} d`;
}

/** Left-aligned columns with a header row. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

export const volumesText = forTerminal(function volumesText(volumes: readonly VolumeView[]): string {
  if (volumes.length === 0) return 'No archives cataloged yet. Back a volume up first: lifeboat backup <volume>';
  const now = Date.now();
  return table(
    ['SOURCE', 'VOLUME', 'NEWEST ARCHIVE', 'AGE', 'LAST PROVEN RESTORABLE'],
    volumes.map((v) => [
      v.source,
      v.volume,
      v.newestTakenAt,
      age(v.newestAgeSeconds),
      v.lastProvenAt
        ? `${age((now - Date.parse(v.lastProvenAt)) / 1000)} ago`
        : v.lastDrill
          ? `never (last drill ${v.lastDrill.outcome})`
          : 'never (no drill yet)',
    ]),
  );
});

export const archivesText = forTerminal(function archivesText(source: string, volume: string, archives: readonly ArchiveListItem[]): string {
  if (archives.length === 0) return `No archives of ${source}/${volume}.`;
  return table(
    ['TAKEN AT', 'SIZE', 'COMPRESSION', 'CHECKSUM', 'KEY'],
    archives.map((a) => [a.takenAt, bytes(a.size), a.compression, a.sha256 ? `sha256 ${a.sha256.slice(0, 12)}…` : 'none (made by hand)', a.key]),
  );
});

export const planText = forTerminal(function planText(plan: RestorePlan): string {
  const a = plan.archive;
  const t = plan.target;
  return [
    `Archive:   ${a.key}`,
    `           taken ${a.takenAt} (${age(a.ageSeconds)} ago), ${bytes(a.size)} ${a.compression}, ${a.sha256 ? `sha256 ${a.sha256}` : 'no checksum (no manifest)'}`,
    `Target:    volume ${plan.volume} on ${t.instanceId} (${t.online ? 'online' : `NOT ONLINE: ${t.pingStatus}`}), ` +
      `receives ${t.sources === undefined ? 'no source (no lifeboat:sources tag)' : t.sources.includes('*') ? 'any source (spare host)' : `sources ${t.sources.join(', ')}`}`,
    `Container: ${plan.dataOnly ? 'none: DATA-ONLY restore (the volume is filled; no container is stopped, started, created or verified)' : plan.containerName}`,
    `Mount:     ${plan.mountPath.path || "the detected engine's default (decided on the host)"} (from the ${plan.mountPath.from})`,
    ...verificationLines(plan.verification).map((line, i) => `${i === 0 ? 'Verify:   ' : '          '} ${line}`),
    `Integrity: ${plan.integrity}`,
    `Time:      ${predictionText(plan.predicted)}`,
    `New volume: ${plan.volumeCreation.used.driver}${Object.keys(plan.volumeCreation.used.driverOpts).length > 0 ? ` ${JSON.stringify(plan.volumeCreation.used.driverOpts)}` : ''} (from the ${plan.volumeCreation.used.from})` +
      (plan.volumeCreation.manifestRecorded ? `; the manifest recorded ${plan.volumeCreation.manifestRecorded.driver} (not used)` : ''),
    `If the volume has data: ${plan.existingVolume}`,
    `If the container is missing: ${plan.missingContainer}`,
    ...(plan.recreation.otherMounts.length > 0
      ? [`Other mounts: ${plan.recreation.otherMounts.join('; ')} (never created; the host refuses to recreate the container while it has them)`]
      : []),
    ...plan.recreation.dropped.map((d) => `Left out:  ${d.what}: ${d.reason}`),
  ].join('\n');
});

export const recordText = forTerminal(function recordText(r: RestoreRecord): string {
  const lines = r.drill
    ? [`Drill ${r.id}: ${r.state.toUpperCase()}`, `  proves ${r.source}/${r.drill.volume} restorable, on ${r.instanceId} under the throwaway name ${r.volume}`]
    : [
        `Restore ${r.id}: ${r.state.toUpperCase()}`,
        `  volume ${r.volume} on ${r.instanceId}, ${r.containerName ? `container ${r.containerName}` : 'no container (data only)'}`,
      ];
  lines.push(`  archive ${r.archiveKey}`, `  requested by ${r.requestedBy} at ${r.createdAt}`);
  if (r.cancelRequestedAt) lines.push(`  cancel asked by ${r.cancelRequestedBy ?? 'unknown'} at ${r.cancelRequestedAt}`);
  if (r.phases) {
    const phases = Object.entries(r.phases)
      .filter(([, v]) => v > 0)
      .map(([k, v]) => `${k} ${v.toFixed(1)} s`)
      .join(', ');
    lines.push(`  took ${(r.totalSeconds ?? 0).toFixed(1)} s on the host: ${phases}`);
    if (typeof r.predictedSeconds === 'number')
      lines.push(`  the plan predicted ${r.predictedSeconds.toFixed(1)} s from earlier restores and drills of the volume`);
  }
  if (r.bytes !== undefined) lines.push(`  ${bytes(r.bytes)} downloaded`);
  if (r.drill && r.verifyOutput)
    lines.push(
      `  the check answered: ${r.verifyOutput}${r.drill.expectMinimum === undefined ? '' : ` (at least ${r.drill.expectMinimum.toString()} expected)`}`,
    );
  else if (r.state === 'succeeded' && !r.drill && !r.containerName) lines.push("  the volume holds the archive's data; no database was started (data only)");
  else if (r.state === 'succeeded') lines.push('  the database answers queries again');
  if (r.preservedVolume) lines.push(`  the previous data is kept, byte for byte, in volume ${r.preservedVolume}`);
  if (r.error) lines.push(`  error${r.failedPhase ? ` in ${r.failedPhase}` : ''}: ${r.error}`);
  if (r.error?.includes('IfVolumeExists=preserve')) lines.push('  to keep the current data aside and restore anyway, add --preserve');
  if (r.drill && r.state !== 'planned' && r.state !== 'sent' && r.state !== 'running')
    lines.push(`  the throwaway volume and container were removed; ${r.drill.volume} was never touched`);
  else if (r.state === 'failed' || r.state === 'cancelled') lines.push('  the host was put back as it was before the restore');
  return lines.join('\n');
});

export const backupText = forTerminal(function backupText(result: BackupResult, container: string | null): string {
  const lines = [
    `Backup of ${result.volume ?? result.hostPath ?? '?'}: ${result.outcome.toUpperCase()}`,
    `  archive ${result.archiveKey ?? '-'}`,
    `  ${bytes(result.bytes)} zstd from ${bytes(result.uncompressedBytes)} (${result.fileCount.toString()} files), sha256 ${result.sha256 ?? '-'}`,
    `  took ${result.totalSeconds.toFixed(1)} s; ${container ? `container ${container} ${result.consistency === 'none' ? 'kept running (live copy)' : `${result.consistency === 'stop' ? 'stopped' : 'paused'} for ${result.containerFrozenSeconds.toFixed(1)} s`}` : 'no container (data only)'}`,
  ];
  const risk = result.pruneRisk.notUsedByRunningContainer;
  if (risk.length > 0) lines.push(`  warning: \`docker system prune --volumes\` would delete ${risk.join(', ')} right now (no running container uses them)`);
  return lines.join('\n');
});

/** A backup run through a deployed Lifeboat: its result when it has one, else its SSM status. */
export const backupStatusText = forTerminal(function backupStatusText(status: BackupStatus): string {
  if (status.result) return `${backupText(status.result, status.result.container)}${status.result.error ? `\n  error: ${status.result.error}` : ''}`;
  const head = `Backup ${status.backupId ?? '?'} (SSM command ${status.commandId}) on ${status.instanceId ?? '?'}: ${status.status}${status.statusDetails ? ` (${status.statusDetails})` : ''}`;
  return status.problem ? `${head}\n  ${status.problem}` : head;
});

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/**
 * The live progress line on stderr: phase, bytes, rate, elapsed. On a terminal it
 * redraws one line; elsewhere (CI logs, pipes) it prints a line per change.
 */
export class ProgressDisplay implements ProgressSink {
  private readonly started = Date.now();
  private current: string;
  private read: (() => number) | undefined;
  private total: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private frame = 0;
  private lastBytes = 0;
  private lastAt = Date.now();
  private rate = 0;

  constructor(
    private readonly label: string,
    private readonly out: NodeJS.WriteStream = process.stderr,
    first = 'starting',
  ) {
    // Phases are the host's words: shown on one line, as every host-written string.
    this.label = terminalSafe(label);
    this.current = terminalSafe(first);
    if (out.isTTY)
      this.timer = setInterval(() => {
        this.draw();
      }, 200);
    else this.log(`${this.label}: ${this.current}`);
  }

  private elapsed(): string {
    return `${((Date.now() - this.started) / 1000).toFixed(1)} s`;
  }

  private log(text: string): void {
    this.out.write(`[${this.elapsed().padStart(7)}] ${text}\n`);
  }

  private draw(): void {
    const now = Date.now();
    let moved = '';
    if (this.read) {
      const n = this.read();
      if (now - this.lastAt >= 1000) {
        this.rate = ((n - this.lastBytes) * 1000) / (now - this.lastAt);
        this.lastBytes = n;
        this.lastAt = now;
      }
      moved = ` · ${bytes(n)}${this.total ? ` / ${bytes(this.total)}` : ''} · ${bytes(this.rate)}/s`;
    }
    this.frame = (this.frame + 1) % SPINNER.length;
    this.out.write(`\r\x1b[2K${SPINNER[this.frame] ?? ''} ${this.label} · ${this.current}${moved} · ${this.elapsed()}`);
  }

  phase(name: string): void {
    // `finished` is the runbook's bookkeeping after the last phase.
    const shown = terminalSafe(name);
    if (shown === this.current || name === 'finished') return;
    this.current = shown;
    if (!this.out.isTTY) this.log(`${this.label}: ${shown}${this.read ? ` (${bytes(this.read())} moved)` : ''}`);
  }

  state(name: string): void {
    this.phase(name);
  }

  bytes(read: () => number, total?: number): void {
    this.read = read;
    this.total = total;
  }

  stop(): void {
    if (this.timer) {
      clearInterval(this.timer);
      this.out.write('\r\x1b[2K');
    } else {
      this.log(`${this.label}: over${this.read ? ` (${bytes(this.read())} moved)` : ''}`);
    }
  }
}

/** A measured or predicted time: tenths of a second under two minutes, then minutes and hours. */
export function duration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return '-';
  return seconds < 120 ? `${seconds.toFixed(1)} s` : age(seconds);
}

function targetText(target: RecoveryTarget): string {
  if ('instanceId' in target) return target.instanceId;
  if ('volumes' in target)
    return Object.entries(target.volumes)
      .map(([v, i]) => `${v}→${i}`)
      .join(', ');
  return `a new instance from launch template ${target.launchTemplate.id} (${target.launchTemplate.version ?? '$Default'})`;
}

/** The dry run of a whole-host recovery: every member by wave, its archive and age (RPO), predicted times, problems. */
export const recoveryPlanText = forTerminal(function recoveryPlanText(plan: RecoveryPlan): string {
  const members = plan.waves.flatMap((w) => w.members);
  const lines = [
    `Recovery of ${plan.source}: ${members.length.toString()} volume${members.length === 1 ? '' : 's'} in ${plan.waves.length.toString()} wave${plan.waves.length === 1 ? '' : 's'}, ${plan.parallel.toString()} at a time per wave${plan.mode === 'drill' ? ' (DRILL: throwaway names)' : ''}`,
    `Target:    ${targetText(plan.target)}`,
    `Archives:  each volume's newest${plan.at === undefined ? '' : ` taken at or before ${plan.at}`} (a member's RPO is its archive's age)`,
    `If a volume has data: ${plan.ifVolumeExists === 'preserve' ? 'kept aside as <volume>.pre-restore.<id>, then restored' : 'that member is refused and its volume left as it is'}`,
  ];
  for (const wave of plan.waves) {
    lines.push('', `Wave ${wave.wave.toString()}`);
    const rows = wave.members.map((m) => [
      m.volume,
      m.role,
      m.instanceId,
      m.containerName === '' ? '(data only)' : m.containerName,
      m.after.length > 0 ? m.after.join(',') : '-',
      m.archive === null ? 'NONE' : m.archive.takenAt,
      m.archive === null ? '-' : age(m.archive.ageSeconds),
      m.archive === null ? '-' : bytes(m.archive.size),
      duration(m.predicted.seconds),
    ]);
    lines.push(
      ...table(['VOLUME', 'ROLE', 'TARGET', 'CONTAINER', 'AFTER', 'ARCHIVE TAKEN', 'RPO', 'SIZE', 'PREDICTED'], rows)
        .split('\n')
        .map((l) => `  ${l}`),
    );
  }
  lines.push('', 'Predictions:');
  for (const m of members) lines.push(`  ${m.volume}: ${m.archive === null ? 'no archive' : m.archive.key}; ${m.predicted.basis}`);
  lines.push(`Predicted total: ${duration(plan.predicted.seconds)} (${plan.predicted.basis})`);
  for (const p of plan.problems) lines.push(`Problem:   ${p}`);
  for (const w of plan.warnings) lines.push(`Warning:   ${w}`);
  return lines.join('\n');
});

/** One line per member started or ended and per wave ended, while a recovery runs. */
export const recoveryProgressText = forTerminal(function recoveryProgressText(event: RecoveryProgress, startedSeconds?: number): string {
  switch (event.type) {
    case 'memberStarted':
      return `${event.volume}: started`;
    case 'memberEnded': {
      const seconds = event.seconds ?? startedSeconds;
      if (!event.started) return `${event.volume}: NOT STARTED${event.error ? `: ${event.error}` : ''}`;
      return `${event.volume}: ${event.outcome.toUpperCase()}${seconds === undefined ? '' : ` after ${duration(seconds)}`}${event.error ? `: ${event.error}` : ''}`;
    }
    case 'waveEnded':
      return `wave ${event.wave.toString()} over${event.stop ? `; later waves will not run${event.reason ? `: ${event.reason}` : ''}` : ''}`;
  }
});

/** The end of a recovery: per member RPO, RTO, phases and outcome; total RTO; predicted against measured. */
export const recoveryReportText = forTerminal(function recoveryReportText(record: RecoveryRecord): string {
  const plan = record.plan;
  const report = record.report;
  const lines = [`Recovery ${record.id} of ${plan.source}: ${(report?.outcome ?? record.state).toUpperCase()}`];
  const total = report?.totalSeconds ?? (record.startedAt && record.endedAt ? (Date.parse(record.endedAt) - Date.parse(record.startedAt)) / 1000 : null);
  lines.push(
    `  started ${record.startedAt ?? record.createdAt}${record.endedAt ? `, ended ${record.endedAt}` : ''}; total RTO ${duration(total)}, predicted ${duration(report?.predictedSeconds ?? plan.predicted.seconds)}`,
  );
  if (record.launchedInstanceId) lines.push(`  launched ${record.launchedInstanceId} from the launch template`);
  const planned = new Map(plan.waves.flatMap((w) => w.members.map((m) => [m.volume, m] as const)));
  const members =
    report?.members ??
    [...planned.values()].map((m) => {
      const progress = record.members[m.volume];
      return {
        volume: m.volume,
        wave: m.wave,
        role: m.role,
        outcome: progress?.state ?? 'pending',
        archiveKey: m.archive?.key ?? null,
        rpoSeconds: m.archive?.ageSeconds ?? null,
        rtoSeconds: progress?.totalSeconds ?? null,
        predictedSeconds: m.predicted.seconds,
        phases: progress?.phases,
        error: progress?.error ?? null,
      };
    });
  lines.push(
    ...table(
      ['WAVE', 'VOLUME', 'ROLE', 'OUTCOME', 'RPO', 'RTO', 'PREDICTED', 'PHASES'],
      members.map((m) => [
        m.wave.toString(),
        m.volume,
        m.role,
        m.outcome.toUpperCase(),
        m.rpoSeconds === null ? '-' : age(m.rpoSeconds),
        duration(m.rtoSeconds),
        duration(m.predictedSeconds),
        Object.entries(m.phases ?? {})
          .filter(([, v]) => v > 0)
          .map(([k, v]) => `${k} ${v.toFixed(1)}`)
          .join(', ') || '-',
      ]),
    )
      .split('\n')
      .map((l) => `  ${l}`),
  );
  for (const m of members) if (m.error) lines.push(`  ${m.volume}: ${m.error}`);
  const outcome = report?.outcome ?? record.state;
  const missed = members.filter((m) => m.outcome !== 'succeeded').map((m) => `${m.volume} (${m.role}, ${m.outcome})`);
  if (outcome === 'partial') lines.push(`  PARTIAL: every critical member is back; not recovered: ${missed.join(', ')}`);
  else if (outcome === 'stopped') lines.push(`  STOPPED: a critical member failed, so later waves did not run; not recovered: ${missed.join(', ')}`);
  else if (outcome === 'failed') lines.push(`  FAILED: not recovered: ${missed.join(', ') || 'none started'}`);
  if (record.error) lines.push(`  error: ${record.error}`);
  return lines.join('\n');
});
