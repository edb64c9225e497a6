/**
 * Predicted recovery times from the timings of earlier restores and drills of the same volumes
 * (the newest few the catalog keeps per volume). Pure functions: the planner hands them the
 * samples. One member's prediction is a single restore's (functions/core/predict.ts, which every
 * restore plan uses too); the recovery adds how waves and parallel slots combine them.
 */
import { predictRestore, round1 } from '../predict.ts';
import type { Prediction } from './model.ts';

export { BYTE_PHASES } from '../predict.ts';

/** One member's predicted time: exactly a single restore's prediction of its volume. */
export const predictMember = predictRestore;

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
