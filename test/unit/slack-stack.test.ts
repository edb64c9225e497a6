import { templateApp } from '#root/lib/app-context.ts';
import { AuthorizationType, Method, MockIntegration } from 'aws-cdk-lib/aws-apigateway';
import type { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import { Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { LifeboatStack, type LifeboatConfig } from '#root/lib/lifeboat-stack.ts';
import { SLACK_ROUTES, slackRouteReason } from '#root/lib/slack.ts';
import { SlackEnv } from '#root/functions/slack/env.ts';

const synth = (config?: LifeboatConfig): LifeboatStack => {
  const app = templateApp();
  return new LifeboatStack(app, 'Test', { config });
};
const slack = {
  teamIds: ['T0LIFE'],
  channelIds: ['C0ONCALL'],
  userIds: ['U0ALICE', 'U0BOB', 'U0CAROL'],
  sources: { U0ALICE: ['shop-db', 'billing'], U0BOB: ['*'] },
};

/** A function's environment variables as synthesized. */
const templates = new WeakMap<LifeboatStack, Template>();
function environment(stack: LifeboatStack, fn: CfnFunction): Record<string, string> {
  const template = templates.get(stack) ?? Template.fromStack(stack);
  templates.set(stack, template);
  const resources = template.toJSON() as { Resources: Record<string, { Properties: { Environment: { Variables: Record<string, string> } } }> };
  return resources.Resources[stack.getLogicalId(fn)]?.Properties.Environment.Variables ?? {};
}

/** Every cdk-nag acknowledgement of a rule in the stack: where it sits and its reason. */
function acknowledgements(stack: LifeboatStack, rule: string): { path: string; construct: IConstruct; reason: string }[] {
  return stack.node.findAll().flatMap((construct) =>
    construct.node.metadata
      .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((m) => Object.entries(m.data as Record<string, string>))
      .filter(([id]) => id.endsWith(`AwsSolutions-${rule}`))
      .map(([, reason]) => ({ path: construct.node.path, construct, reason })),
  );
}

describe('Slack routes and cdk-nag', () => {
  let stack: LifeboatStack;
  beforeAll(() => {
    stack = synth({ slack });
  });

  const expectRouteReasons = (rule: 'APIG4' | 'COG4', acks: ReturnType<typeof acknowledgements>): void => {
    for (const [i, route] of SLACK_ROUTES.entries()) {
      const method = stack.slack?.methods[i];
      expect(method).toBeInstanceOf(Method);
      expect((method?.node.defaultChild as { authorizationType?: string } | undefined)?.authorizationType).toBe('NONE');
      const ack = acks.find((a) => a.construct === method);
      expect(ack?.reason).toBe(slackRouteReason(route, rule));
      expect(ack?.reason).toContain(`POST /slack/${route}:`);
      expect(ack?.reason).toContain('answers 401 before reading anything else');
    }
  };

  it('APIG4 (no authorization) is acknowledged on the two Slack methods only, each with its own route’s reason', () => {
    const acks = acknowledgements(stack, 'APIG4');
    expect(acks.map((a) => a.path).sort()).toEqual((stack.slack?.methods ?? []).map((m) => m.node.path).sort());
    expect(acks).toHaveLength(2);
    expectRouteReasons('APIG4', acks);
  });

  it('COG4 (no Cognito authorizer) is acknowledged on each Slack method with its own route’s reason', () => {
    expectRouteReasons('COG4', acknowledgements(stack, 'COG4'));
  });

  it('an unauthenticated method added elsewhere on the same API is still reported by cdk-nag (APIG4)', () => {
    const other = synth({ slack });
    expect(new AwsSolutionsChecks().validateScope(other).violations).toEqual([]);
    other.api.api.root.addResource('open').addMethod('GET', new MockIntegration(), { authorizationType: AuthorizationType.NONE });
    const report = JSON.stringify(new AwsSolutionsChecks().validateScope(other).violations);
    expect(report).toMatch(/AwsSolutions-APIG4/);
    expect(report).toMatch(/open\/GET/);
    expect(report).not.toMatch(/slackcommands|slackinteractions/i);
  });
});

describe('Slack configuration', () => {
  it('the sources each user may act on, and the plan lifetime, reach both Slack functions as checked environment', () => {
    const stack = synth({ slack: { ...slack, planSeconds: 600 } });
    for (const fn of [stack.slack?.function, stack.slack?.worker]) {
      const env = environment(stack, fn?.node.defaultChild as CfnFunction);
      expect(JSON.parse(env.SLACK_USER_SOURCES ?? '')).toEqual({ U0ALICE: ['shop-db', 'billing'], U0BOB: ['*'] });
      expect(env.SLACK_PLAN_SECONDS).toBe('600');
      // The function reads it with the same schema (tokens stand in for resource names here).
      const parsed = SlackEnv.parse({
        ...env,
        TABLE_NAME: 'catalog',
        BUCKET_NAME: 'bucket',
        RESTORE_DOCUMENT_NAME: 'doc',
        CANCEL_DOCUMENT_NAME: 'cdoc',
        OUTPUT_LOG_GROUP: 'g',
        HELPER_IMAGE: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/helper@sha256:' + 'a'.repeat(64),
        SIGNING_SECRET_ARN: 'arn:x',
        WORK_QUEUE_URL: 'https://q',
        RECOVERY_STATE_MACHINE_ARN: 'arn:aws:states:eu-west-1:123456789012:stateMachine:recovery',
      });
      expect(parsed.SLACK_USER_SOURCES).toEqual({ U0ALICE: ['shop-db', 'billing'], U0BOB: ['*'] });
    }
  });

  it('without sources nobody acts on any source from Slack (the default)', () => {
    const stack = synth({ slack: { teamIds: ['T0LIFE'], channelIds: ['C0ONCALL'], userIds: ['U0ALICE'] } });
    const env = environment(stack, stack.slack?.worker.node.defaultChild as CfnFunction);
    expect(env.SLACK_USER_SOURCES).toBe('{}');
  });

  it.each([
    [
      'a user granted sources but not on userIds',
      { sources: { U0DAVE: ['shop-db'] } },
      /lifeboat\.slack\.sources\.U0DAVE: U0DAVE is granted sources but is not in userIds/,
    ],
    [
      'a source that is not a source name',
      { sources: { U0ALICE: ['shop db;rm'] } },
      /lifeboat\.slack\.sources\.U0ALICE\.0: must be a source name .* or "\*" for every source/,
    ],
    ['an empty grant', { sources: { U0ALICE: [] } }, /lifeboat\.slack\.sources\.U0ALICE: grant at least one source/],
    ['a user id that is not a Slack id', { sources: { alice: ['shop-db'] } }, /lifeboat\.slack\.sources\.alice/],
    ['a plan lifetime past the response URL’s 30 minutes', { planSeconds: 3600 }, /lifeboat\.slack\.planSeconds: must be at most 1800 seconds/],
  ])('%s fails synth naming the field', (_case, change, message) => {
    expect(() => synth({ slack: { ...slack, ...change } })).toThrow(message);
  });
});

describe('cancelling through the API or Slack', () => {
  // SsmCommandRunner.cancel asks GetCommandInvocation first (running → the cancel-restore document,
  // not yet delivered → CancelCommand): without it a cancel fails with AccessDenied in a real account.
  it('every function that may send the cancel-restore document may also read, list and cancel invocations', () => {
    const stack = synth({ slack });
    const template = Template.fromStack(stack).toJSON() as {
      Resources: Record<
        string,
        { Type: string; Properties: { Roles?: { Ref: string }[]; PolicyDocument?: { Statement: { Action: string | string[]; Resource: unknown }[] } } }
      >;
    };
    const cancelDoc = stack.getLogicalId(stack.runbooks.documents['cancel-restore']);
    const actionsOf = (s: { Action: string | string[] }): string[] => (Array.isArray(s.Action) ? s.Action : [s.Action]);
    const byRole = new Map<string, { Action: string | string[]; Resource: unknown }[]>();
    for (const r of Object.values(template.Resources)) {
      if (r.Type !== 'AWS::IAM::Policy') continue;
      for (const role of r.Properties.Roles ?? []) byRole.set(role.Ref, [...(byRole.get(role.Ref) ?? []), ...(r.Properties.PolicyDocument?.Statement ?? [])]);
    }
    const cancellers = [...byRole.entries()].filter(([, ss]) =>
      ss.some((s) => actionsOf(s).includes('ssm:SendCommand') && JSON.stringify(s.Resource).includes(cancelDoc)),
    );
    expect(cancellers.map(([role]) => role).sort()).toEqual(
      [stack.api.function, stack.slack?.worker].map((f) => stack.getLogicalId(f?.role?.node.defaultChild as CfnFunction)).sort(),
    );
    for (const [role, ss] of cancellers) {
      const star = ss.filter((s) => JSON.stringify(s.Resource) === '"*"').flatMap(actionsOf);
      for (const a of ['ssm:GetCommandInvocation', 'ssm:CancelCommand', 'ssm:ListCommandInvocations']) expect(star, `${role} ${a}`).toContain(a);
    }
  });
});
