import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '#core/paths.ts';
import { BenchResults } from '#root/bench/results.ts';
import { exec } from './support/exec.ts';

// `npm run bench` is not part of npm test (it takes minutes); its smoke mode is, so it cannot rot.
describe('npm run bench -- --smoke', () => {
  it('runs every benchmark on small data and writes results.json with ratios', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lifeboat-bench-smoke-'));
    try {
      const out = join(dir, 'results.json');
      const run = await exec(join(ROOT, 'node_modules/.bin/tsx'), [join(ROOT, 'bench/run.ts'), '--smoke', '--out', out], {
        timeoutMs: 400_000,
      });
      expect(run.code, `${run.stdout}\n${run.stderr.slice(-3000)}`).toBe(0);
      const results = BenchResults.parse(JSON.parse(await readFile(out, 'utf8')));
      const byName = new Map(results.results.map((r) => [r.name, r]));
      for (const name of [
        'backup.lifeboat',
        'backup.classic_tar_czf',
        'restore.lifeboat',
        'restore.classic',
        'restore.floor_gnu_tar_plain',
        'restore.lifeboat.phase.download',
        'e2e.orchestration_overhead',
        'lambda.restore-api.bundle_bytes',
        'lambda.restore-api.init_ms',
        'lambda.slack.init_ms',
        'catalog.latest.10.items_read',
        'catalog.latest.200.items_read',
        'catalog.before_t.200.items_read',
        'restore_at_scale.lifeboat_parallel',
        'restore_at_scale.lifeboat_half_connections',
        'restore_at_scale.machine.download_ceiling',
      ]) {
        expect(byName.get(name), name).toBeDefined();
      }
      for (const r of results.results) {
        expect(Number.isFinite(r.value), r.name).toBe(true);
        if (r.ratio !== null) expect(Number.isFinite(r.ratio) && r.ratio >= 0, r.name).toBe(true);
      }
      for (const name of ['restore_at_scale.lifeboat_parallel.cpu_busy', 'restore_at_scale.machine.download_ceiling.cpu_busy']) {
        const busy = byName.get(name)?.value;
        expect(busy !== undefined && busy > 0 && busy <= 1, `${name}: ${String(busy)}`).toBe(true);
      }
      // The catalog reads one item per lookup however many archives there are.
      expect(byName.get('catalog.latest.200.items_read')?.value).toBe(byName.get('catalog.latest.10.items_read')?.value);
      expect(run.stdout).toContain('| restore.lifeboat');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
