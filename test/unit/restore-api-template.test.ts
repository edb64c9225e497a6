/**
 * Threat: permission to call the API is permission to restore any source anywhere.
 * Every per-source route exists under /sources/{source}/… with AWS_IAM, nothing else
 * reaches a source's archives or restores, and `grantSourceAccess` builds a policy that
 * (checked by an IAM ARN-matching stand-in) lets a team reach its own sources only.
 */
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AccountPrincipal, Role } from 'aws-cdk-lib/aws-iam';
import { beforeAll, describe, expect, it } from 'vitest';
import { LifeboatStack } from '#root/lib/lifeboat-stack.ts';
import { ALL_VOLUMES_ROUTE, SOURCE_ROUTES } from '#root/functions/restore-api/routes.ts';

type Json = unknown;
interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: Json;
  Condition?: Record<string, Record<string, unknown>>;
}
interface Resource {
  Type: string;
  Properties: Record<string, Json>;
}

const API_ID = 'abcdef1234';
const ARN = (method: string, path: string): string => `arn:aws:execute-api:eu-west-1:123456789012:${API_ID}/v1/${method}${path}`;

/** Resolves the few intrinsics an ARN is built from, as CloudFormation would in one account and region. */
function resolve(value: Json, refs: Record<string, string>): string {
  if (typeof value === 'string') return value;
  const v = value as Record<string, Json>;
  if ('Ref' in v) return refs[String(v.Ref)] ?? `<${String(v.Ref)}>`;
  if ('Fn::Join' in v) {
    const [sep, parts] = v['Fn::Join'] as [string, Json[]];
    return parts.map((p) => resolve(p, refs)).join(sep);
  }
  throw new Error(`cannot resolve ${JSON.stringify(value)}`);
}

/** IAM's ARN matching: `*` any run of characters (slashes included), `?` one character. */
const matches = (pattern: string, arn: string): boolean =>
  new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
  ).test(arn);

/** A policy-evaluation stand-in for identity policies: allowed when an Allow matches and no Deny does. */
const allows = (statements: readonly Statement[], refs: Record<string, string>, action: string, arn: string): boolean => {
  const applies = (s: Statement): boolean =>
    (Array.isArray(s.Action) ? s.Action : [s.Action]).includes(action) &&
    (Array.isArray(s.Resource) ? s.Resource : [s.Resource]).some((r) => matches(resolve(r, refs), arn));
  return statements.some((s) => s.Effect === 'Allow' && applies(s)) && !statements.some((s) => s.Effect === 'Deny' && applies(s));
};

describe('restore API: per-source routes and grants', () => {
  let template: Template;
  let resources: Record<string, Resource>;
  let refs: Record<string, string>;
  let stack: LifeboatStack;

  beforeAll(() => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    stack = new LifeboatStack(app, 'Scoped', { env: { account: '123456789012', region: 'eu-west-1' } });
    const teamA = new Role(stack, 'TeamA', { assumedBy: new AccountPrincipal('123456789012') });
    stack.api.grantSourceAccess(teamA, ['team-a', 'team-a.reports']);
    const readers = new Role(stack, 'Readers', { assumedBy: new AccountPrincipal('123456789012') });
    stack.api.grantSourceAccess(readers, ['team-b'], ['read']);
    template = Template.fromStack(stack);
    resources = (template.toJSON() as { Resources: Record<string, Resource> }).Resources;
    const apiId = Object.entries(resources).find(([, r]) => r.Type === 'AWS::ApiGateway::RestApi')?.[0] ?? '';
    const stage = Object.entries(resources).find(([, r]) => r.Type === 'AWS::ApiGateway::Stage');
    refs = {
      'AWS::Partition': 'aws',
      'AWS::Region': 'eu-west-1',
      'AWS::AccountId': '123456789012',
      [apiId]: API_ID,
      [stage?.[0] ?? '']: String(stage?.[1].Properties.StageName),
    };
  });

  /** Each API method as `METHOD /full/path`, with its authorization. */
  const methods = (): { route: string; auth: unknown }[] => {
    const pathOf = (id: string): string => {
      const r = resources[id];
      if (!r) return '';
      const parent = r.Properties.ParentId as { Ref?: string };
      return `${parent.Ref ? pathOf(parent.Ref) : ''}/${String(r.Properties.PathPart)}`;
    };
    return Object.values(resources)
      .filter((r) => r.Type === 'AWS::ApiGateway::Method' && r.Properties.HttpMethod !== 'OPTIONS')
      .map((m) => {
        const ref = (m.Properties.ResourceId as { Ref?: string }).Ref;
        return { route: `${String(m.Properties.HttpMethod)} ${ref ? pathOf(ref) : '/'}`, auth: m.Properties.AuthorizationType };
      });
  };
  const policyOf = (roleName: string): Statement[] =>
    Object.values(resources)
      .filter((r) => r.Type === 'AWS::IAM::Policy' && JSON.stringify(r.Properties.Roles).includes(roleName))
      .flatMap((r) => (r.Properties.PolicyDocument as { Statement: Statement[] }).Statement);

  it('each per-source method exists under /sources/{source}/… with AWS_IAM; the old unscoped routes are gone', () => {
    const all = methods();
    for (const r of SOURCE_ROUTES) expect(all, `${r.method} ${r.path}`).toContainEqual({ route: `${r.method} ${r.path}`, auth: 'AWS_IAM' });
    expect(all).toContainEqual({ route: `${ALL_VOLUMES_ROUTE.method} ${ALL_VOLUMES_ROUTE.path}`, auth: 'AWS_IAM' });
    const lifeboatRoutes = all.filter((m) => !m.route.includes('/slack/'));
    // The per-source routes this API has (the recovery routes only with the recovery state machine), and GET /volumes.
    expect(lifeboatRoutes).toHaveLength(stack.api.sourceRoutes.length + 1);
    for (const r of stack.api.sourceRoutes) expect(all, `${r.method} ${r.path}`).toContainEqual({ route: `${r.method} ${r.path}`, auth: 'AWS_IAM' });
    for (const gone of ['POST /restores', 'POST /drills', 'GET /archives', 'GET /restores/{id}', 'DELETE /restores/{id}'])
      expect(all.map((m) => m.route)).not.toContain(gone);
  });

  it('grantSourceAccess: a team may call every route of its own sources, and nothing of another source or GET /volumes (policy evaluation)', () => {
    const policy = policyOf('TeamA');
    const can = (method: string, path: string): boolean => allows(policy, refs, 'execute-api:Invoke', ARN(method, path));
    for (const source of ['team-a', 'team-a.reports']) {
      expect(can('POST', `/sources/${source}/restores`)).toBe(true);
      expect(can('POST', `/sources/${source}/drills`)).toBe(true);
      expect(can('GET', `/sources/${source}/archives`)).toBe(true);
      expect(can('GET', `/sources/${source}/volumes`)).toBe(true);
      expect(can('GET', `/sources/${source}/restores/r-mfx2k1a0-1a2b3c4d`)).toBe(true);
      expect(can('DELETE', `/sources/${source}/restores/r-mfx2k1a0-1a2b3c4d`)).toBe(true);
    }
    for (const [method, path] of [
      ['POST', '/sources/team-b/restores'],
      ['POST', '/sources/team-ab/restores'], // a prefix of another name is not the name
      ['POST', '/sources/team-a.reportsx/restores'],
      ['DELETE', '/sources/team-b/restores/r-mfx2k1a0-1a2b3c4d'],
      ['GET', '/sources/team-b/restores/r-mfx2k1a0-1a2b3c4d/sources/team-a/restores'],
      ['GET', '/volumes'],
      ['POST', '/restores'],
      ['PUT', '/sources/team-a/restores'],
    ]) {
      expect(can(method ?? '', path ?? ''), `${method ?? ''} ${path ?? ''}`).toBe(false);
    }
    // Every resource is spelled out: no pattern with a wildcard before the source.
    for (const s of policy)
      for (const r of Array.isArray(s.Resource) ? s.Resource : [s.Resource])
        expect(resolve(r, refs)).toMatch(/\/v1\/(GET|POST|DELETE)\/sources\/team-a(\.reports)?\/[a-z]+(\/\*)?$/);
  });

  it('grantSourceAccess with read only: the team can read its source, not restore, drill or cancel there', () => {
    const policy = policyOf('Readers');
    const can = (method: string, path: string): boolean => allows(policy, refs, 'execute-api:Invoke', ARN(method, path));
    expect(can('GET', '/sources/team-b/archives')).toBe(true);
    expect(can('GET', '/sources/team-b/restores/r-mfx2k1a0-1a2b3c4d')).toBe(true);
    expect(can('POST', '/sources/team-b/restores')).toBe(false);
    expect(can('POST', '/sources/team-b/drills')).toBe(false);
    expect(can('DELETE', '/sources/team-b/restores/r-mfx2k1a0-1a2b3c4d')).toBe(false);
  });

  it('grantSourceAccess refuses wildcards and names that are not sources at synth', () => {
    const role = new Role(stack, 'Bad', { assumedBy: new AccountPrincipal('123456789012') });
    for (const bad of ['*', 'team-*', '', '../x']) expect(() => stack.api.grantSourceAccess(role, [bad]), bad).toThrow(/is not a source name|wildcards/);
    expect(() => stack.api.grantSourceAccess(role, [])).toThrow(/at least one source/);
  });

  it('the API function may send to EC2 instances and mi- managed nodes only with the Lifeboat tag, read their lifeboat:sources tag, and cancel', () => {
    const fn = Object.entries(resources).find(([id, r]) => r.Type === 'AWS::IAM::Policy' && id.startsWith('RestoreApiFunction'))?.[1];
    const policy = (fn?.Properties.PolicyDocument as { Statement: Statement[] }).Statement;
    const send = (arn: string, tag?: string): boolean =>
      policy.some(
        (s) =>
          s.Effect === 'Allow' &&
          [s.Action].flat().includes('ssm:SendCommand') &&
          [s.Resource].flat().some((r) => matches(resolve(r, refs), arn)) &&
          (s.Condition === undefined || tag === (s.Condition.StringEquals as Record<string, string> | undefined)?.['ssm:resourceTag/lifeboat:managed']),
      );
    expect(send('arn:aws:ec2:eu-west-1:123456789012:instance/i-0123456789abcdef0', 'true')).toBe(true);
    expect(send('arn:aws:ssm:eu-west-1:123456789012:managed-instance/mi-0123456789abcdef0', 'true')).toBe(true);
    expect(send('arn:aws:ssm:eu-west-1:123456789012:managed-instance/mi-0123456789abcdef0')).toBe(false);
    expect(send('arn:aws:ec2:eu-west-1:123456789012:instance/i-0123456789abcdef0')).toBe(false);
    const granted = (action: string, arn: string): boolean => allows(policy, refs, action, arn);
    expect(granted('ssm:ListTagsForResource', 'arn:aws:ssm:eu-west-1:123456789012:managed-instance/mi-0123456789abcdef0')).toBe(true);
    expect(granted('ssm:ListTagsForResource', 'arn:aws:ssm:eu-west-1:123456789012:parameter/secret')).toBe(false);
    expect(granted('ec2:DescribeTags', '*')).toBe(true);
    expect(granted('ssm:CancelCommand', '*')).toBe(true);
    expect(granted('ssm:ListCommandInvocations', '*')).toBe(true);
  });
});
