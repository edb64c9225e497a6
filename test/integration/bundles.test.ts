import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tmpdir } from 'node:os';
import { FUNCTION_ENTRIES, bundleName, type FunctionEntry } from '#root/lib/lifeboat-function.ts';
import { bundleFunctions } from '#root/scripts/build-lib.ts';
import { bundleEnv, synthBundles, type Bundles } from '../support/bundles.ts';

// The functions as the stack really bundles them (local esbuild), loaded by a fresh Node.js process.
describe('Lambda bundles', () => {
  let bundles: Bundles;
  let assets: Record<string, string>;

  beforeAll(() => {
    bundles = synthBundles();
    ({ assets } = bundles);
  }, 180_000);
  afterAll(() => {
    bundles.close();
  });

  it('the restore API bundle carries the runbooks it validates against', () => {
    expect(existsSync(join(assets['restore-api'] ?? '', 'runbooks/restore-volume.json'))).toBe(true);
  });

  it('no bundle carries a YAML parser (the documents travel as JSON)', () => {
    for (const [name, dir] of Object.entries(assets)) expect(readFileSync(join(dir, 'index.mjs'), 'utf8'), name).not.toContain('YAMLParseError');
  });

  it('the drill bundle carries the runbooks too', () => {
    expect(existsSync(join(assets.drill ?? '', 'runbooks/restore-volume.json'))).toBe(true);
  });

  it.each(['restore-api', 'catalog', 'command-finished', 'drill', 'freshness', 'slack', 'slack-worker', 'sweeper'])(
    '%s loads in a fresh Node.js process with its environment',
    (name) => {
      const dir = assets[name] ?? '';
      const out = execFileSync(process.execPath, ['--input-type=module', '-e', "const m = await import('./index.mjs'); console.log(typeof m.handler);"], {
        cwd: dir,
        env: bundleEnv(dir),
        encoding: 'utf8',
      });
      expect(out.trim()).toBe('function');
    },
  );

  it('the package’s pre-bundled functions (scripts/build-lib.ts) are what synth bundles, byte for byte', async () => {
    const outdir = mkdtempSync(join(tmpdir(), 'lifeboat-prebundled-'));
    try {
      const prebundled = await bundleFunctions(outdir);
      const names = (Object.keys(FUNCTION_ENTRIES) as FunctionEntry[]).map(bundleName);
      // Not vacuous: synth made every function the package ships.
      expect(Object.keys(assets).sort()).toEqual([...names].sort());
      for (const [entry, dir] of Object.entries(prebundled)) {
        const asset = assets[bundleName(entry as FunctionEntry)] ?? '';
        expect(readFileSync(join(dir, 'index.mjs')), entry).toEqual(readFileSync(join(asset, 'index.mjs')));
        expect(existsSync(join(dir, 'runbooks/restore-volume.json')), entry).toBe(FUNCTION_ENTRIES[entry as FunctionEntry].withRunbooks);
      }
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  }, 120_000);
});
