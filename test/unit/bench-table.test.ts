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
