import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '#core/paths.ts';
import { LAMBDA_RUNTIME } from '#root/lib/runtime.ts';

describe('Node.js version', () => {
  it('the tests run on the same Node.js major as the Lambda runtime', () => {
    const lambdaMajor = /nodejs(\d+)\.x/.exec(LAMBDA_RUNTIME.name)?.[1];
    expect(process.versions.node.split('.')[0]).toBe(lambdaMajor);
  });

  it('package.json pins that Node.js for npm scripts', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { devDependencies: Record<string, string>; engines: { node: string } };
    expect(pkg.devDependencies.node?.split('.')[0]).toBe(process.versions.node.split('.')[0]);
    expect(pkg.engines.node).toBe(`>=${process.versions.node.split('.')[0] ?? ''}`);
  });
});
