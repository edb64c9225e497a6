/**
 * The example configuration the deploy guide walks through (examples/lifeboat.json, the
 * `lifeboat` context block) synthesizes with the stack: as shipped, and without Slack.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { templateApp } from '#root/lib/app-context.ts';
import { LifeboatConfig, LifeboatStack } from '#root/lib/lifeboat-stack.ts';
import { ROOT } from '#core/paths.ts';

const example = JSON.parse(readFileSync(join(ROOT, 'examples', 'lifeboat.json'), 'utf8')) as LifeboatConfig;

/** The stack as `cdk deploy -c lifeboat="$(cat examples/lifeboat.json)"` builds it (bin/app.ts reads the context block). */
function synthFromContext(config: unknown): { stack: LifeboatStack; template: Template } {
  const app = templateApp({ lifeboat: config });
  const stack = new LifeboatStack(app, 'Lifeboat', { config: app.node.tryGetContext('lifeboat') as LifeboatConfig });
  return { stack, template: Template.fromStack(stack) };
}

describe('examples/lifeboat.json', () => {
  it('is a valid configuration with scheduled backups, drills (every protected volume has one) and Slack', () => {
    const parsed = LifeboatConfig.parse(example);
    expect(parsed.protect.some((p) => p.backup !== undefined)).toBe(true);
    expect(parsed.slack).toBeDefined();
  });

  it('synthesizes with the stack: associations, drills, Slack routes; cdk-nag is clean', () => {
    const { stack, template } = synthFromContext(example);
    template.resourceCountIs('AWS::SSM::Association', 2);
    expect(Object.keys(template.findResources('AWS::Scheduler::Schedule')).length).toBe(3); // two drills, one freshness check
    expect(Object.keys(template.findOutputs('*'))).toEqual(expect.arrayContaining(['SlackCommandsUrl', 'HostPolicyshop', 'HostPolicybilling']));
    expect(new AwsSolutionsChecks().validateScope(stack).violations).toEqual([]);
  });

  it('Slack is optional: without it the stack has no Slack routes or outputs', () => {
    const { template } = synthFromContext({ ...example, slack: undefined });
    expect(Object.keys(template.findOutputs('*')).filter((k) => k.startsWith('Slack'))).toEqual([]);
    expect(JSON.stringify(template.findResources('AWS::ApiGateway::Resource'))).not.toContain('"slack"');
  });
});
