/** What every benchmark section shares: timing, medians, contenders run side by side, shell lines. */
import { spawn, spawnSync } from 'node:child_process';

export const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] ?? 0) : ((s[m - 1] ?? 0) + (s[m] ?? 0)) / 2;
};

/** Wall-clock seconds `fn` takes. */
export const seconds = async (fn: () => unknown): Promise<number> => {
  const t = performance.now();
  await fn();
  return (performance.now() - t) / 1000;
};

/** Runs a shell line without blocking the event loop (the S3-compatible servers live in this process). */
export const sh = (script: string, env: Record<string, string> = {}): Promise<void> =>
  new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', script], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, ...env } });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve();
      else reject(new Error(`${script.slice(0, 80)}: exit ${String(code)}`));
    });
  });

export interface Contender {
  /** Untimed, before each run (a fresh target). */
  readonly prepare?: () => unknown;
  /** One timed run: its seconds. */
  readonly run: () => Promise<number>;
}

/**
 * Alternates the contenders run by run (`runs` rounds); each gets a fresh target first (not timed).
 * Each round starts one contender further on (round 2 starts with the second, and so on), so no
 * contender always runs first or always follows the same one: a slot's own cost (the first run
 * after the set-up, the write-back of a particular predecessor) is spread over the contenders
 * instead of landing on one. `onRun` hears each time.
 */
export async function sideBySide(
  runs: number,
  contenders: Record<string, Contender>,
  onRun?: (name: string, round: number, seconds: number) => void,
): Promise<Record<string, number[]>> {
  const entries = Object.entries(contenders);
  const samples: Record<string, number[]> = Object.fromEntries(entries.map(([k]) => [k, []]));
  for (let i = 0; i < runs; i++) {
    for (const [name, c] of [...entries.slice(i % entries.length), ...entries.slice(0, i % entries.length)]) {
      await c.prepare?.();
      // Untimed: the previous run's dirty pages and volume removal reach the disk before this one starts.
      spawnSync('sync');
      const t = await c.run();
      samples[name]?.push(t);
      onRun?.(name, i, t);
    }
  }
  return samples;
}
