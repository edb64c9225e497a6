/**
 * The Slack app manifest each stack outputs (SlackAppManifest), resolved as CloudFormation would
 * with a made-up API id and stage: it is JSON Slack takes, its slash command and interactivity
 * point at the API's two Slack routes, it asks for the `commands` scope only; the DR stack's app
 * is `/lifeboat-dr`. And `npm run slack-manifest` prints the right one from a cdk outputs file.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '#core/paths.ts';
import { templateApp } from '#root/lib/app-context.ts';
import { lifeboatStacks } from '#root/lib/lifeboat-app.ts';
import type { LifeboatStack } from '#root/lib/lifeboat-stack.ts';
import { SLACK_APP_SCOPES, SLACK_ROUTES, type SlackAppManifest } from '#root/lib/slack.ts';

const ACCOUNT = '123456789012';
const PRIMARY = 'eu-central-1';
const DR = 'eu-west-1';
const DR_SECRET = `arn:aws:secretsmanager:${DR}:${ACCOUNT}:secret:lifeboat/slack-dr-AbCdEf`;

interface Resource {
  Type: string;
  Properties: Record<string, unknown>;
}
interface Json {
  Resources: Record<string, Resource>;
  Outputs: Record<string, { Value: unknown }>;
}

/** A made-up value for every Ref, as a deployment would give one: the API id, the stage, the pseudo parameters. */
function resolve(value: unknown, refs: Record<string, string>): string {
  if (typeof value === 'string') return value;
  const o = value as { Ref?: string; 'Fn::Join'?: [string, unknown[]]; 'Fn::GetAtt'?: [string, string] };
  if (o['Fn::GetAtt']) return `${o['Fn::GetAtt'].join('.')}-value`;
  if (o.Ref !== undefined) {
    const v = refs[o.Ref];
    if (v === undefined) throw new Error(`no value for Ref ${o.Ref}`);
    return v;
  }
  if (o['Fn::Join']) return o['Fn::Join'][1].map((p) => resolve(p, refs)).join(o['Fn::Join'][0]);
  throw new Error(`cannot resolve ${JSON.stringify(value)}`);
}

/** The stack's outputs as `cdk deploy --outputs-file` writes them, with fake ids for its resources. */
function deployedOutputs(stack: LifeboatStack, json: Json, apiId: string): Record<string, string> {
  const refs: Record<string, string> = { 'AWS::Region': stack.region, 'AWS::URLSuffix': 'amazonaws.com', 'AWS::AccountId': ACCOUNT, 'AWS::Partition': 'aws' };
  for (const [id, r] of Object.entries(json.Resources)) {
    if (r.Type === 'AWS::ApiGateway::RestApi') refs[id] = apiId;
    else if (r.Type === 'AWS::ApiGateway::Stage') refs[id] = String(r.Properties.StageName);
    else if (r.Type === 'AWS::SecretsManager::Secret') refs[id] = `arn:aws:secretsmanager:${stack.region}:${ACCOUNT}:secret:${id}-AbCdEf`;
    else refs[id] = `${id}-physical`;
  }
  // The outputs the Slack setup and the script read (others, such as the helper image digest, need values no template test has).
  const read = ['ApiUrl', 'Region', 'Role', 'SlackAppManifest', 'SlackCommandsUrl', 'SlackInteractionsUrl', 'SlackSigningSecretArn'];
  return Object.fromEntries(
    Object.entries(json.Outputs)
      .filter(([k]) => read.includes(k))
      .map(([k, o]) => [k, resolve(o.Value, refs)]),
  );
}

/** The API's resource paths that have a POST method, e.g. `/slack/commands`. */
function postPaths(json: Json): string[] {
  const resources = Object.entries(json.Resources).filter(([, r]) => r.Type === 'AWS::ApiGateway::Resource');
  const pathOf = (id: string): string => {
    const r = resources.find(([rid]) => rid === id)?.[1];
    if (!r) return '';
    const parent = r.Properties.ParentId as { Ref?: string };
    return `${parent.Ref === undefined ? '' : pathOf(parent.Ref)}/${String(r.Properties.PathPart)}`;
  };
  return Object.values(json.Resources)
    .filter((r) => r.Type === 'AWS::ApiGateway::Method' && r.Properties.HttpMethod === 'POST')
    .map((m) => pathOf((m.Properties.ResourceId as { Ref: string }).Ref));
}

describe('SlackAppManifest output', () => {
  let primary: LifeboatStack;
  let replica: LifeboatStack;
  let p: Json;
  let r: Json;
  let pOut: Record<string, string>;
  let rOut: Record<string, string>;
  let dir: string | undefined;
  beforeAll(() => {
    const stacks = lifeboatStacks(
      templateApp(),
      {
        slack: { teamIds: ['T0LIFE'], channelIds: ['C0ONCALL'], userIds: ['U0ALICE'] },
        replication: { region: DR, slackSigningSecretArn: DR_SECRET },
      },
      { account: ACCOUNT, region: PRIMARY },
    );
    if (!stacks.replica) throw new Error('no DR stack');
    ({ primary, replica } = stacks);
    p = Template.fromStack(primary).toJSON() as Json;
    r = Template.fromStack(replica).toJSON() as Json;
    pOut = deployedOutputs(primary, p, 'prim4pi1d0');
    rOut = deployedOutputs(replica, r, 'dr0api1d00');
    dir = mkdtempSync(join(tmpdir(), 'lifeboat-slack-manifest-'));
  });
  afterAll(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  const manifestOf = (outputs: Record<string, string>): SlackAppManifest => JSON.parse(outputs.SlackAppManifest ?? 'missing') as SlackAppManifest;

  it('the primary’s manifest is JSON: /lifeboat at <ApiUrl>slack/commands, interactivity at <ApiUrl>slack/interactions, scope commands only', () => {
    const apiUrl = pOut.ApiUrl ?? '';
    expect(apiUrl).toBe(`https://prim4pi1d0.execute-api.${PRIMARY}.amazonaws.com/v1/`);
    const m = manifestOf(pOut);
    expect(m.features.slash_commands).toHaveLength(1);
    expect(m.features.slash_commands[0]).toMatchObject({ command: '/lifeboat', url: `${apiUrl}slack/commands`, should_escape: false });
    expect(m.settings.interactivity).toEqual({ is_enabled: true, request_url: `${apiUrl}slack/interactions` });
    expect(m.oauth_config.scopes).toEqual({ bot: ['commands'] });
    expect(SLACK_APP_SCOPES).toEqual(['commands']);
    expect(m.settings.socket_mode_enabled).toBe(false);
    // The same URLs as the outputs the setup used to paste by hand.
    expect(m.features.slash_commands[0]?.url).toBe(pOut.SlackCommandsUrl);
    expect(m.settings.interactivity.request_url).toBe(pOut.SlackInteractionsUrl);
    // Within Slack's limits: app name ≤ 35 characters, description ≤ 140, command ≤ 32 lowercase.
    expect(m.display_information.name.length).toBeLessThanOrEqual(35);
    expect(m.display_information.description.length).toBeLessThanOrEqual(140);
    expect(m.features.slash_commands[0]?.command).toMatch(/^\/[a-z0-9_-]{1,31}$/);
  });

  it('the two URLs are the API’s two Slack POST routes (no more, no less)', () => {
    const m = manifestOf(pOut);
    const apiUrl = pOut.ApiUrl ?? '';
    const paths = [m.features.slash_commands[0]?.url, m.settings.interactivity.request_url].map((u) => `/${(u ?? '').slice(apiUrl.length)}`);
    expect(paths).toEqual(SLACK_ROUTES.map((route) => `/slack/${route}`));
    const slackPosts = postPaths(p).filter((path) => path.startsWith('/slack/'));
    expect(slackPosts.sort()).toEqual([...paths].sort());
  });

  it('the DR stack’s manifest is a second app, /lifeboat-dr, at the DR API’s URLs', () => {
    const apiUrl = rOut.ApiUrl ?? '';
    expect(apiUrl).toBe(`https://dr0api1d00.execute-api.${DR}.amazonaws.com/v1/`);
    const m = manifestOf(rOut);
    expect(m.features.slash_commands[0]).toMatchObject({ command: '/lifeboat-dr', url: `${apiUrl}slack/commands` });
    expect(m.settings.interactivity.request_url).toBe(`${apiUrl}slack/interactions`);
    expect(m.display_information.name).not.toBe(manifestOf(pOut).display_information.name);
    expect(JSON.stringify(m)).not.toContain(PRIMARY);
  });

  it('without slack.chatbot no AWS Chatbot configuration is created', () => {
    for (const json of [p, r]) expect(Object.values(json.Resources).filter((x) => x.Type === 'AWS::Chatbot::SlackChannelConfiguration')).toEqual([]);
  });

  const run = (args: string[], outputs: unknown): { code: number | null; stdout: string; stderr: string } => {
    if (dir === undefined) throw new Error('no temporary folder');
    writeFileSync(join(dir, 'cdk-outputs.json'), JSON.stringify(outputs));
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !['LIFEBOAT_OUTPUTS', 'LIFEBOAT_REGION', 'NODE_OPTIONS'].includes(k)));
    const out = spawnSync(process.execPath, [join(ROOT, 'scripts', 'slack-manifest.ts'), ...args], { cwd: dir, env, encoding: 'utf8', timeout: 30_000 });
    return { code: out.status, stdout: out.stdout, stderr: out.stderr };
  };

  it('npm run slack-manifest prints the primary’s manifest from cdk-outputs.json, the secret command, and how to get the DR one', () => {
    const out = run([], { Lifeboat: pOut, LifeboatDr: rOut });
    expect(out.code, out.stderr).toBe(0);
    expect(JSON.parse(out.stdout)).toEqual(manifestOf(pOut));
    expect(out.stderr).toContain(
      `aws secretsmanager put-secret-value --region ${PRIMARY} --secret-id ${pOut.SlackSigningSecretArn ?? '?'} --secret-string file:///dev/stdin`,
    );
    expect(out.stderr).toContain(`npm run slack-manifest -- --outputs cdk-outputs.json --region ${DR}`);
  });

  it('--region picks the DR stack: /lifeboat-dr, and its own secret in the DR region', () => {
    const out = run(['--outputs', 'cdk-outputs.json', '--region', DR], { Lifeboat: pOut, LifeboatDr: rOut });
    expect(out.code, out.stderr).toBe(0);
    expect(JSON.parse(out.stdout)).toEqual(manifestOf(rOut));
    expect(rOut.SlackSigningSecretArn).toBe(DR_SECRET);
    expect(out.stderr).toContain(`--region ${DR} --secret-id ${DR_SECRET}`);
  });

  it('a region with no stack, or outputs without Slack, fail with exit 2 saying what the file holds or what to configure', () => {
    const wrong = run(['--region', 'us-east-1'], { Lifeboat: pOut, LifeboatDr: rOut });
    expect(wrong.code).toBe(2);
    expect(wrong.stdout).toBe('');
    expect(wrong.stderr).toContain(`no Lifeboat stack with Slack in region us-east-1: it holds Lifeboat (${PRIMARY}), LifeboatDr (${DR})`);
    const withoutSlack = Object.fromEntries(Object.entries(pOut).filter(([k]) => !k.startsWith('Slack')));
    const none = run([], { Lifeboat: withoutSlack });
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('has no SlackAppManifest output: configure "slack"');
  });
});
