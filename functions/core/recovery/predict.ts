/**
 * Predicted recovery times from the timings of earlier restores and drills of the same volumes
 * (the newest few the catalog keeps per volume). Pure functions: the planner hands them the
 * samples.
 */
import type { RestoreRateSample } from '../catalog/model.ts';
import type { Prediction } from './model.ts';

/**
 * Phases whose time grows with the archive's bytes (they stream together: `download` ends with
 * the last byte, `extract` is the tail; runbooks/results.md). The others (preflight, swap, start,
 * verify, cleanup) depend on the host and the database, not on this archive's size.
 */
export const BYTE_PHASES: readonly string[] = ['download', 'extract'];

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
};

const round1 = (x: number): number => Math.round(x * 10) / 10;

const megabytesPerSecond = (bytes: number, seconds: number): string => (seconds > 0 ? `${(bytes / seconds / 1e6).toFixed(1)} MB/s` : 'instant');

/**
 * One member's predicted time: each byte-bound phase scaled from every sample by archive size /
 * sample bytes (median over samples), every other phase its median; the total is their sum.
 * Without samples (or without an archive to size) the prediction is null and says why.
 */
export function predictMember(where: { source: string; volume: string }, archiveBytes: number | null, samples: readonly RestoreRateSample[]): Prediction {
  const name = `${where.source}/${where.volume}`;
  if (samples.length === 0) return { seconds: null, basis: `no restore or drill of ${name} recorded yet` };
  if (archiveBytes === null) return { seconds: null, basis: `no archive of ${name} to restore` };
  const names = new Set(samples.flatMap((s) => Object.keys(s.phases)));
  const phases: Record<string, number> = {};
  for (const phase of names) {
    const values: number[] = [];
    for (const s of samples) {
      const seconds = s.phases[phase];
      if (seconds === undefined) continue;
      if (BYTE_PHASES.includes(phase)) {
        // A sample of an empty archive says nothing about a rate.
        if (s.bytes > 0) values.push((seconds * archiveBytes) / s.bytes);
      } else values.push(seconds);
    }
    if (values.length) phases[phase] = round1(median(values));
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
    basis: `median of ${n.toString()} earlier restore${n === 1 ? '' : 's'}/drill${n === 1 ? '' : 's'} of ${name} (${rate}) scaled to ${archiveBytes.toString()} bytes`,
  };
}

/**
 * The longest time `parallel` slots take for these jobs, placed longest first each on the slot
 * that frees first (list scheduling, as the state machine's bounded Map runs them).
 */
export function makespan(seconds: readonly number[], parallel: number): number {
  const slots = new Array<number>(Math.max(1, parallel)).fill(0);
  for (const s of [...seconds].sort((a, b) => b - a)) {
    let first = 0;
    for (let i = 1; i < slots.length; i++) if ((slots[i] ?? 0) < (slots[first] ?? 0)) first = i;
    slots[first] = (slots[first] ?? 0) + s;
  }
  return Math.max(...slots);
}

/**
 * The whole recovery: wave by wave (waves run one after another), each wave's members on
 * `parallel` slots. Members without a prediction count as 0 and the basis says how many; null
 * when no member has one.
 */
export function predictTotal(
  waves: readonly { readonly members: readonly { readonly predicted: Prediction }[] }[],
  parallel: number,
  options: { readonly launch?: boolean } = {},
): Prediction {
  const members = waves.flatMap((w) => w.members);
  const unknown = members.filter((m) => m.predicted.seconds === null).length;
  const launch = options.launch ? '; launching the replacement host is not included' : '';
  if (members.length === 0 || unknown === members.length) {
    return { seconds: null, basis: `no member of this recovery has a restore or drill recorded yet${launch}` };
  }
  const seconds = round1(
    waves.reduce(
      (total, w) =>
        total +
        makespan(
          w.members.map((m) => m.predicted.seconds ?? 0).filter((s) => s > 0),
          parallel,
        ),
      0,
    ),
  );
  const waveCount = waves.length;
  const basis =
    `${waveCount.toString()} wave${waveCount === 1 ? '' : 's'} one after another, each on ${parallel.toString()} parallel slot${parallel === 1 ? '' : 's'}` +
    (unknown ? `; ${unknown.toString()} of ${members.length.toString()} members have no history and count as 0 (the total is a lower bound)` : '') +
    launch;
  return { seconds, basis };
}
