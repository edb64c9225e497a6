import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '#core/paths.ts';
import { LAMBDA_RUNTIME } from '#root/lib/runtime.ts';

interface PackageJson {
  devDependencies: Record<string, string>;
  engines: { node: string };
  devEngines: { runtime: { name: string; version: string; onFail: string } };
}

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as PackageJson;
const lambdaMajor = /nodejs(\d+)\.x/.exec(LAMBDA_RUNTIME.name)?.[1];

// One Node.js major everywhere: the Lambda runtime, .nvmrc (nvm, fnm, setup-node, and .ci/run, which
// installs that major where the system's Node.js is older), devEngines (npm warns when it runs on
// another) and engines. Not the `node` npm package as a dev dependency: the conventional pins only.
describe('Node.js version', () => {
  it('the tests run on the same Node.js major as the Lambda runtime', () => {
    expect(lambdaMajor).toMatch(/^\d+$/);
    expect(process.versions.node.split('.')[0]).toBe(lambdaMajor);
  });

  it('.nvmrc names one version of that major (what .ci/run installs, nvm and setup-node pick)', () => {
    expect(readFileSync(join(ROOT, '.nvmrc'), 'utf8')).toMatch(new RegExp(`^${lambdaMajor ?? 'none'}\\.\\d+\\.\\d+\\n$`));
  });

  it('package.json pins it the conventional way: devEngines.runtime (an error: npm runs on the PATH’s Node.js, which .ci/run makes the pinned one) and engines, not a `node` dev dependency', () => {
    expect(pkg.devEngines.runtime).toEqual({ name: 'node', version: `^${lambdaMajor ?? ''}`, onFail: 'error' });
    expect(pkg.engines.node).toBe(`>=${lambdaMajor ?? ''}`);
    expect(pkg.devDependencies).not.toHaveProperty('node');
  });

  it('.ci/run installs the .nvmrc major where the PATH has another and runs npm on it', () => {
    const ci = readFileSync(join(ROOT, '.ci/run'), 'utf8');
    expect(ci).toMatch(/want=\$\(<\.nvmrc\)/);
    expect(ci).toMatch(/node-linux-\$arch@\$want/);
    expect(ci.indexOf('ensure_node;')).toBeGreaterThan(-1);
    expect(ci.indexOf('ensure_node;')).toBeLessThan(ci.indexOf('npm ci'));
  });
});
