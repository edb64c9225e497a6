/**
 * Predicted restore times from the timings of earlier restores and drills of the same volume
 * (the newest few the catalog keeps per volume; functions/core/catalog). Pure functions: the
 * restore planner and the whole-host recovery planner hand them the samples.
 */
import type { RestoreRateSample } from './catalog/model.ts';
import type { Prediction } from './recovery/model.ts';

export type { Prediction } from './recovery/model.ts';

/**
 * Phases whose time grows with the archive's bytes (they stream together: `download` ends with
 * the last byte, `extract` is the tail; runbooks/results.md). The others (preflight, swap, start,
 * verify, cleanup) depend on the host and the database, not on this archive's size.
 */
export const BYTE_PHASES: readonly string[] = ['download', 'extract'];

export const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
};

export const round1 = (x: number): number => Math.round(x * 10) / 10;

const megabytesPerSecond = (bytes: number, seconds: number): string => (seconds > 0 ? `${(bytes / seconds / 1e6).toFixed(1)} MB/s` : 'instant');

/** Samples this much apart in size can tell a phase's fixed part from its per-byte rate. */
const FIT_RATIO = 1.5;

/**
 * A byte-bound phase's seconds for `bytes`, from the samples' (bytes, seconds): a fixed part plus
 * a per-byte rate (Theil–Sen: the median slope of the pairs at least FIT_RATIO apart in size, not
 * below 0, then the median intercept) when such pairs exist and the fixed part is not negative;
 * else each sample scaled by bytes / its bytes (median). Scaling alone scales the fixed part too
 * (the pipeline filling, the helper's start, the final sync): a small sample then overestimates a
 * large restore.
 */
function phaseSeconds(points: readonly (readonly [number, number])[], bytes: number): { seconds: number; fitted: boolean } {
  const slopes: number[] = [];
  for (const [x1, y1] of points) for (const [x2, y2] of points) if (x2 >= FIT_RATIO * x1) slopes.push((y2 - y1) / (x2 - x1));
  const slope = Math.max(0, median(slopes));
  const fixed = median(points.map(([x, y]) => y - slope * x));
  if (slopes.length === 0 || fixed < 0) return { seconds: median(points.map(([x, y]) => (y * bytes) / x)), fitted: false };
  return { seconds: fixed + slope * bytes, fitted: true };
}

/**
 * One volume's predicted restore time: each byte-bound phase from every sample (a fixed part and
 * a per-byte rate when the samples' sizes differ enough, else scaled by archive size / sample
 * bytes; phaseSeconds), every other phase its median; the total is their sum. Without samples
 * (or without an archive to size) the prediction is null and says why.
 */
export function predictRestore(where: { source: string; volume: string }, archiveBytes: number | null, samples: readonly RestoreRateSample[]): Prediction {
  const name = `${where.source}/${where.volume}`;
  if (samples.length === 0) return { seconds: null, basis: `no restore or drill of ${name} recorded yet` };
  if (archiveBytes === null) return { seconds: null, basis: `no archive of ${name} to restore` };
  const names = new Set(samples.flatMap((s) => Object.keys(s.phases)));
  const phases: Record<string, number> = {};
  let fitted = false;
  for (const phase of names) {
    const timed = samples.flatMap((s) => (s.phases[phase] === undefined ? [] : [[s.bytes, s.phases[phase] ?? 0] as const]));
    if (BYTE_PHASES.includes(phase)) {
      // A sample of an empty archive says nothing about a rate.
      const points = timed.filter(([bytes]) => bytes > 0);
      if (points.length === 0) continue;
      const p = phaseSeconds(points, archiveBytes);
      fitted ||= p.fitted;
      phases[phase] = round1(p.seconds);
    } else if (timed.length) phases[phase] = round1(median(timed.map(([, seconds]) => seconds)));
  }
  const seconds = round1(Object.values(phases).reduce((a, b) => a + b, 0));
  const rates = samples.filter((s) => s.bytes > 0);
  const rate = rates.length
    ? megabytesPerSecond(median(rates.map((s) => s.bytes)), median(rates.map((s) => BYTE_PHASES.reduce((t, p) => t + (s.phases[p] ?? 0), 0))))
    : 'no bytes recorded';
  const n = samples.length;
  return {
    seconds,
    phases,
    basis: `${fitted ? 'fixed part and rate of' : 'median of'} ${n.toString()} earlier restore${n === 1 ? '' : 's'}/drill${n === 1 ? '' : 's'} of ${name} (${rate}) scaled to ${archiveBytes.toString()} bytes`,
  };
}

/** `45 s`, `4 min 10 s`, `2 h 5 min` (whole seconds: a prediction is no more precise). */
export function spokenDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s.toString()} s`;
  if (s < 3600) return `${Math.floor(s / 60).toString()} min${s % 60 ? ` ${(s % 60).toString()} s` : ''}`;
  const minutes = Math.floor((s % 3600) / 60);
  return `${Math.floor(s / 3600).toString()} h${minutes ? ` ${minutes.toString()} min` : ''}`;
}

/** The order the restore document runs its phases in (runbooks/results.ts), for showing them. */
const PHASE_ORDER: readonly string[] = ['preflight', 'download', 'extract', 'swap', 'start', 'verify', 'cleanup'];
const phaseRank = (name: string): number => (PHASE_ORDER.includes(name) ? PHASE_ORDER.indexOf(name) : PHASE_ORDER.length);

/**
 * One line for people: `predicted 4 min 10 s (download 2 min, extract 1 min 50 s, verify 20 s):
 * median of 6 earlier restores/drills of db1/pgdata (…)`, or `no prediction yet: no restore or
 * drill of db1/pgdata recorded yet`. Phases in the order the host runs them; those under half a
 * second are left out.
 */
export function predictionText(p: Prediction): string {
  if (p.seconds === null) return `no prediction yet: ${p.basis}`;
  const phases = Object.entries(p.phases ?? {})
    .filter(([, s]) => s >= 0.5)
    .sort(([a], [b]) => phaseRank(a) - phaseRank(b))
    .map(([name, s]) => `${name} ${spokenDuration(s)}`);
  return `predicted ${spokenDuration(p.seconds)}${phases.length ? ` (${phases.join(', ')})` : ''}: ${p.basis}`;
}
