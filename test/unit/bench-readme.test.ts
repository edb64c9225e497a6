import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '#core/paths.ts';
import { END, START, benchTable } from '#root/bench/readme.ts';
import { BenchResults } from '#root/bench/results.ts';

describe('the README benchmark table', () => {
  it('is exactly what bench/results.json says (regenerate with npm run bench)', () => {
    const results = BenchResults.parse(JSON.parse(readFileSync(join(ROOT, 'bench/results.json'), 'utf8')));
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf(START) + START.length, readme.indexOf(END)).trim();
    expect(section).toBe(benchTable(results));
    expect(results.machine.smoke).toBe(false);
  });
});
