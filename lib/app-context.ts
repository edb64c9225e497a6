import { App } from 'aws-cdk-lib';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '#core/paths.ts';

/** The context `cdk` hands the app from cdk.json: the feature flags (and anything else set there). */
export function cdkJsonContext(): Record<string, unknown> {
  const json = JSON.parse(readFileSync(join(ROOT, 'cdk.json'), 'utf8')) as { context?: Record<string, unknown> };
  return json.context ?? {};
}

/**
 * An App with cdk.json's context, as `cdk synth` and `cdk deploy` build it, so what tests
 * synthesize is what deploys. `extra` adds to it (tests pass `aws:cdk:bundling-stacks: []`
 * to skip esbuild when only the template is asserted).
 */
export function appAsDeployed(extra: Record<string, unknown> = {}): App {
  return new App({ context: { ...cdkJsonContext(), ...extra } });
}

/** {@link appAsDeployed} without bundling the functions: for template tests. */
export const templateApp = (extra: Record<string, unknown> = {}): App => appAsDeployed({ 'aws:cdk:bundling-stacks': [], ...extra });
