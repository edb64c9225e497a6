import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '#core/paths.ts';
import { BENCH_PAGE, benchTable, tableSection } from '#root/bench/table.ts';
import { BenchResults } from '#root/bench/results.ts';

describe('the benchmark table in docs/benchmarks.md', () => {
  it('is exactly what bench/results.json says (regenerate with npm run bench)', () => {
    const results = BenchResults.parse(JSON.parse(readFileSync(join(ROOT, 'bench/results.json'), 'utf8')));
    expect(tableSection(readFileSync(BENCH_PAGE, 'utf8'))).toBe(benchTable(results));
    expect(results.machine.smoke).toBe(false);
  });

  it('is reachable from the README, which no longer carries a copy', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    expect(readme).toContain('](docs/benchmarks.md)');
    expect(tableSection(readme)).toBeUndefined();
  });
});

describe('the restore-at-scale rows', () => {
  const r = (name: string, value: number, ratio: number | null, unit: 's' | 'ratio' | 'load', target?: { op: '>=' | '<='; value: number; pass: boolean }) => ({
    name: `restore_at_scale.${name}`,
    value,
    unit,
    baseline: 'x',
    ratio,
    samples: [value],
    ...(target ? { target } : {}),
  });

  it('say for each target whether this run met it, and give the prediction’s error as a percentage', () => {
    const results = BenchResults.parse({
      lifeboat: 'bench-results',
      version: 1,
      startedAt: '2026-12-02T09:00:00.000Z',
      finishedAt: '2026-12-02T09:10:00.000Z',
      machine: { cpus: 2, node: 'v24', smoke: false, scale: 40, runs: 3, catalogSize: 10 },
      results: [
        r('lifeboat_parallel', 20, 2.5, 's', { op: '>=', value: 3, pass: false }),
        r('lifeboat_one_connection', 50, null, 's'),
        r('recipe_aws_s3_cp_tar_xzf', 44, 2.2, 's', { op: '>=', value: 2, pass: true }),
        r('floor', 16, 1.25, 's', { op: '<=', value: 1.3, pass: true }),
        r('range_cut.extra', 0.2, 0.51, 's', { op: '<=', value: 1, pass: true }),
        r('prediction.from_warmup.error', 0.123, null, 'ratio'),
        r('machine.load_1min', 1.5, null, 'load'),
      ],
    });
    const table = benchTable(results);
    expect(table).toContain('| 20.00 s | 2.50× faster than one connection (target ≥ 3×: MISSED) |');
    expect(table).toContain('| 44.00 s | Lifeboat parallel is 2.20× faster (target ≥ 2×: met) |');
    expect(table).toContain('| 16.00 s | Lifeboat parallel is 1.25× the floor (target ≤ 1.3×: met) |');
    expect(table).toContain('| 0.20 s | 0.51× one range’s time (target ≤ 1×: met) |');
    expect(table).toContain('| 12 % | abs(predicted − measured) ÷ measured |');
    expect(table).toContain('| load 1.50 | (2 CPUs) |');
  });
});
