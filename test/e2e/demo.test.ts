import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { ROOT } from '#core/paths.ts';
import { exec } from './support/exec.ts';
import { volumeExists, containerState } from './support/docker.ts';

// `npm run demo` is what a newcomer runs first: it must keep working.
describe('npm run demo', () => {
  it('backs up a database, loses the host, restores it, and shows the same rows', async () => {
    const out = await exec(join(ROOT, 'node_modules/.bin/tsx'), [join(ROOT, 'scripts/demo.ts')], { timeoutMs: 280_000 });
    expect(out.code, `${out.stdout}\n${out.stderr}`).toBe(0);
    expect(out.stdout).toContain('the database holds 10000 rows');
    expect(out.stdout).toContain('docker volume inspect lifeboat-demo-pgdata: no such volume');
    expect(out.stdout).toMatch(/restore r-[a-z0-9]+-[a-f0-9]{8} of lifeboat-demo-pgdata on i-0000000000000demo: SUCCEEDED/i);
    expect(out.stdout).toContain('restored rows: 10000 — identical to before the loss.');
    expect(out.stdout).toMatch(/Timeline: restore took \d+\.\d s on the host \(preflight/);
    // It cleans up after itself.
    expect(await volumeExists('lifeboat-demo-pgdata')).toBe(false);
    expect(await containerState('lifeboat-demo-db')).toBeUndefined();
  });
});
