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

// One Node.js major everywhere: the Lambda runtime, .nvmrc (nvm, fnm, CI images), devEngines (npm
// warns when it runs on another), engines, and the `node` package npm scripts run on (this machine's
// system Node.js is older, and no other Node.js 24 is installable here but that package).
describe('Node.js version', () => {
  it('the tests run on the same Node.js major as the Lambda runtime', () => {
    expect(lambdaMajor).toMatch(/^\d+$/);
    expect(process.versions.node.split('.')[0]).toBe(lambdaMajor);
  });

  it('.nvmrc names that major', () => {
    expect(readFileSync(join(ROOT, '.nvmrc'), 'utf8')).toBe(`${lambdaMajor ?? ''}\n`);
  });

  it('package.json pins it: devEngines.runtime (a warning, not an error: npm itself may run on an older system Node.js), engines, and the `node` package', () => {
    expect(pkg.devEngines.runtime).toEqual({ name: 'node', version: `^${lambdaMajor ?? ''}`, onFail: 'warn' });
    expect(pkg.engines.node).toBe(`>=${lambdaMajor ?? ''}`);
    expect(pkg.devDependencies.node?.split('.')[0]).toBe(lambdaMajor);
  });
});
