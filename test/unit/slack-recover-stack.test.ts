import { Stack } from 'aws-cdk-lib';
import { RestApi } from 'aws-cdk-lib/aws-apigateway';
import { Template } from 'aws-cdk-lib/assertions';
import type { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import { Bucket } from 'aws-cdk-lib/aws-s3';
import { DefinitionBody, Pass, StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { describe, expect, it } from 'vitest';
import { ProtectionPolicy } from '#core/protection.ts';
import { SlackEnv } from '#root/functions/slack/env.ts';
import { templateApp } from '#root/lib/app-context.ts';
import { CatalogTables } from '#root/lib/catalog-table.ts';
import { Slack, SlackConfig } from '#root/lib/slack.ts';

const PROTECT = [
  ProtectionPolicy.parse({
    source: 'db1',
    volume: 'pgdata',
    drillHost: { instanceId: 'i-0123456789abcdef0' },
    rpoMinutes: 60,
    verify: { engine: 'postgres', check: 'select count(*) from orders', expectMinimum: 1 },
    notify: ['oncall@example.com'],
    backup: { schedule: 'rate(1 hour)', host: { instanceId: 'i-0123456789abcdef0' }, container: 'shop-db' },
    recovery: { wave: 1, role: 'critical', container: 'db' },
  }),
  ProtectionPolicy.parse({
    source: 'db1',
    volume: 'uploads',
    drillHost: { instanceId: 'i-0123456789abcdef0' },
    rpoMinutes: 60,
    recovery: { after: ['pgdata'], role: 'optional' },
  }),
];

/** The Slack construct on its own, with or without a recovery state machine. */
function synth(withRecovery: boolean) {
  const stack = new Stack(templateApp(), 'Test', { env: { account: '123456789012', region: 'eu-west-1' } });
  const api = new RestApi(stack, 'Api');
  const tables = new CatalogTables(stack, 'Tables');
  const machine = withRecovery ? new StateMachine(stack, 'Recovery', { definitionBody: DefinitionBody.fromChainable(new Pass(stack, 'Nothing')) }) : undefined;
  const slack = new Slack(stack, 'Slack', {
    config: SlackConfig.parse({ teamIds: ['T0LIFE'], channelIds: ['C0ONCALL'], userIds: ['U0ALICE'], sources: { U0ALICE: ['db1'] } }),
    api,
    bucket: new Bucket(stack, 'Archives'),
    table: tables.catalog,
    restoreDocumentName: 'Lifeboat-Restore',
    cancelDocumentName: 'Lifeboat-Cancel',
    outputLogGroup: new LogGroup(stack, 'Output'),
    helperImage: 'local/lifeboat-helper:1',
    instanceTag: { key: 'lifeboat', value: 'true' },
    prefix: 'archives',
    protect: PROTECT,
    ...(machine ? { recoveryStateMachine: machine } : {}),
  });
  const template = Template.fromStack(stack);
  const json = template.toJSON() as {
    Resources: Record<string, { Type: string; Properties: Record<string, unknown> }>;
  };
  const env = (fn: CfnFunction) =>
    (json.Resources[stack.getLogicalId(fn)]?.Properties.Environment as { Variables: Record<string, unknown> } | undefined)?.Variables ?? {};
  const roleOf = (fn: CfnFunction) => (json.Resources[stack.getLogicalId(fn)]?.Properties.Role as { 'Fn::GetAtt': [string] })['Fn::GetAtt'][0];
  /** Every statement granting states:* to a role. */
  const statesGrants = (role: string) =>
    Object.values(json.Resources)
      .filter((r) => r.Type === 'AWS::IAM::Policy' && JSON.stringify(r.Properties.Roles).includes(role))
      .flatMap((r) => (r.Properties.PolicyDocument as { Statement: { Action: string | string[]; Resource: unknown }[] }).Statement)
      .filter((s) => JSON.stringify(s.Action).includes('states:'));
  return {
    stack,
    machine,
    fn: slack.function.node.defaultChild as CfnFunction,
    worker: slack.worker.node.defaultChild as CfnFunction,
    env,
    roleOf,
    statesGrants,
  };
}

describe('Slack with the recovery state machine', () => {
  it('both functions get its ARN and the protect list (read back by the functions’ own schema); only the worker may start it, and nothing else', () => {
    const s = synth(true);
    for (const fn of [s.fn, s.worker]) {
      const env = s.env(fn);
      expect(env.RECOVERY_STATE_MACHINE_ARN).toEqual({ Ref: s.stack.getLogicalId(s.machine?.node.defaultChild as CfnFunction) });
      const parsed = SlackEnv.shape.LIFEBOAT_PROTECT.parse(env.LIFEBOAT_PROTECT);
      // What the planner reads: the volumes, their recovery roles, the backup's container; not verify or notify (LIFEBOAT_POLICY has those).
      expect(parsed.map((p) => `${p.source}/${p.volume}`)).toEqual(['db1/pgdata', 'db1/uploads']);
      expect(parsed[0]?.backup?.container).toBe('shop-db');
      expect(env.LIFEBOAT_PROTECT).not.toContain('oncall@example.com');
      expect(env.LIFEBOAT_PROTECT).not.toContain('select count');
      expect(parsed.map((p) => p.recovery)).toEqual([
        { wave: 1, role: 'critical', container: 'db' },
        { after: ['pgdata'], role: 'optional' },
      ]);
    }
    const grants = s.statesGrants(s.roleOf(s.worker));
    expect(grants).toEqual([
      { Effect: 'Allow', Action: 'states:StartExecution', Resource: { Ref: s.stack.getLogicalId(s.machine?.node.defaultChild as CfnFunction) } },
    ]);
    expect(s.statesGrants(s.roleOf(s.fn))).toEqual([]);
  });

  it('without it: no ARN (recover answers "not deployed"), no Step Functions permission; the protect list still (a restore naming no container takes its container from it)', () => {
    const s = synth(false);
    for (const fn of [s.fn, s.worker]) {
      expect(s.env(fn)).not.toHaveProperty('RECOVERY_STATE_MACHINE_ARN');
      // The containers a restore naming none stops and restarts.
      const parsed = SlackEnv.shape.LIFEBOAT_PROTECT.parse(s.env(fn).LIFEBOAT_PROTECT);
      expect(parsed.map((p) => [p.volume, p.recovery?.container, p.backup?.container])).toEqual([
        ['pgdata', 'db', 'shop-db'],
        ['uploads', undefined, undefined],
      ]);
      expect(s.statesGrants(s.roleOf(fn))).toEqual([]);
    }
    const env = SlackEnv.pick({ RECOVERY_STATE_MACHINE_ARN: true, LIFEBOAT_PROTECT: true }).parse({});
    expect(env).toEqual({ RECOVERY_STATE_MACHINE_ARN: '', LIFEBOAT_PROTECT: [] });
  });
});
