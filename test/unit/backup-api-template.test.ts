/**
 * Threat: "back up now" becomes "run any document on any host" or "read any command's output".
 * The two backup routes exist under /sources/{source}/… with AWS_IAM; the API function may
 * send only the backup document (besides restore and cancel) and only to instances carrying
 * the Lifeboat tag; it reads command status (no resource-level permissions exist) and only
 * the command-output log group; grantSourceAccess scopes the routes per source, and starts
 * backups only for callers who opt in with "backup".
 */
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AccountPrincipal, Role } from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { LifeboatStack } from '#root/lib/lifeboat-stack.ts';

interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}
interface Resource {
  Type: string;
  Properties: Record<string, unknown>;
}

const ACCOUNT = '123456789012';
const REGION = 'eu-west-1';
const API_ID = 'abcdef1234';

/** Resolves the few intrinsics an ARN is built from, as CloudFormation would in one account and region. */
function resolve(value: unknown, refs: Record<string, string>): string {
  if (typeof value === 'string') return value;
  const v = value as Record<string, unknown>;
  if ('Ref' in v) return refs[String(v.Ref)] ?? `<${String(v.Ref)}>`;
  if ('Fn::Join' in v) {
    const [sep, parts] = v['Fn::Join'] as [string, unknown[]];
    return parts.map((p) => resolve(p, refs)).join(sep);
  }
  if ('Fn::GetAtt' in v) {
    const [id, attr] = v['Fn::GetAtt'] as [string, string];
    return refs[`${id}.${attr}`] ?? `<${id}.${attr}>`;
  }
  throw new Error(`cannot resolve ${JSON.stringify(value)}`);
}

/** IAM's ARN matching: `*` any run of characters, `?` one character. */
const matches = (pattern: string, arn: string): boolean =>
  new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
  ).test(arn);

/** Identity-policy evaluation stand-in: an Allow whose action, resource and (StringEquals) condition all match. */
const allows = (statements: readonly Statement[], refs: Record<string, string>, action: string, arn: string, context: Record<string, string> = {}): boolean =>
  statements.some(
    (s) =>
      s.Effect === 'Allow' &&
      [s.Action].flat().includes(action) &&
      [s.Resource].flat().some((r) => matches(resolve(r, refs), arn)) &&
      Object.entries(s.Condition ?? {}).every(([op, kv]) => op === 'StringEquals' && Object.entries(kv).every(([k, v]) => context[k] === v)),
  );

describe('restore API: the backup routes and what the function may do for them', () => {
  let stack: LifeboatStack;
  let resources: Record<string, Resource>;
  let refs: Record<string, string>;
  let apiPolicy: Statement[];
  const policyOf = (roleName: string): Statement[] =>
    Object.values(resources)
      .filter((r) => r.Type === 'AWS::IAM::Policy' && JSON.stringify(r.Properties.Roles).includes(roleName))
      .flatMap((r) => (r.Properties.PolicyDocument as { Statement: Statement[] }).Statement);

  beforeAll(() => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    stack = new LifeboatStack(app, 'Backups', { env: { account: ACCOUNT, region: REGION } });
    stack.api.grantSourceAccess(new Role(stack, 'TeamA', { assumedBy: new AccountPrincipal(ACCOUNT) }), ['team-a']);
    stack.api.grantSourceAccess(
      new Role(stack, 'OptedIn', { assumedBy: new AccountPrincipal(ACCOUNT) }),
      ['team-a'],
      ['read', 'restore', 'drill', 'cancel', 'backup'],
    );
    stack.api.grantSourceAccess(new Role(stack, 'Readers', { assumedBy: new AccountPrincipal(ACCOUNT) }), ['team-a'], ['read']);
    stack.api.grantSourceAccess(new Role(stack, 'Backuppers', { assumedBy: new AccountPrincipal(ACCOUNT) }), ['team-a'], ['backup']);
    resources = (Template.fromStack(stack).toJSON() as { Resources: Record<string, Resource> }).Resources;
    const id = (type: string): string => Object.entries(resources).find(([, r]) => r.Type === type)?.[0] ?? '';
    const logGroup = stack.getLogicalId(stack.lifeboat.node.findChild('CommandOutput').node.defaultChild as never);
    refs = {
      'AWS::Partition': 'aws',
      'AWS::Region': REGION,
      'AWS::AccountId': ACCOUNT,
      [stack.getLogicalId(stack.runbooks.documents['backup-volume'])]: 'Backups-backup-volume-ABC',
      [stack.getLogicalId(stack.runbooks.documents['restore-volume'])]: 'Backups-restore-volume-ABC',
      [stack.getLogicalId(stack.runbooks.documents['cancel-restore'])]: 'Backups-cancel-restore-ABC',
      [`${logGroup}.Arn`]: `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:lifeboat-out:*`,
      [id('AWS::ApiGateway::RestApi')]: API_ID,
      [id('AWS::ApiGateway::Stage')]: 'v1',
    };
    const apiRole = stack.getLogicalId(stack.api.function.role?.node.defaultChild as never);
    apiPolicy = policyOf(apiRole);
  });

  it('POST /sources/{source}/backups and GET /sources/{source}/backups/{id} exist, IAM-authorized, behind the API function', () => {
    const pathOf = (id: string): string => {
      const r = resources[id];
      if (!r) return '';
      const parent = r.Properties.ParentId as { Ref?: string };
      return `${parent.Ref ? pathOf(parent.Ref) : ''}/${String(r.Properties.PathPart)}`;
    };
    const methods = Object.values(resources)
      .filter((r) => r.Type === 'AWS::ApiGateway::Method')
      .map((m) => `${String(m.Properties.HttpMethod)} ${pathOf((m.Properties.ResourceId as { Ref: string }).Ref)} ${String(m.Properties.AuthorizationType)}`);
    expect(methods).toContain('POST /sources/{source}/backups AWS_IAM');
    expect(methods).toContain('GET /sources/{source}/backups/{id} AWS_IAM');
  });

  it("the function's environment names the backup document, the archive prefix and the bucket's region", () => {
    const fn = resources[stack.getLogicalId(stack.api.function.node.defaultChild as never)];
    const env = (fn?.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    expect(env.BACKUP_DOCUMENT_NAME).toEqual({ Ref: stack.getLogicalId(stack.runbooks.documents['backup-volume']) });
    expect(env.ARCHIVE_PREFIX).toBe('archives');
    expect(env.ARCHIVE_REGION).toBe(REGION);
    expect(env.HELPER_IMAGE).toBeDefined();
    expect(env.OUTPUT_LOG_GROUP).toBeDefined();
  });

  it('SendCommand: the backup document, and only to instances and managed nodes tagged lifeboat:managed=true', () => {
    const doc = (name: string): string => `arn:aws:ssm:${REGION}:${ACCOUNT}:document/${name}`;
    const tagged = { 'ssm:resourceTag/lifeboat:managed': 'true' };
    expect(allows(apiPolicy, refs, 'ssm:SendCommand', doc('Backups-backup-volume-ABC'))).toBe(true);
    expect(allows(apiPolicy, refs, 'ssm:SendCommand', doc('AWS-RunShellScript'))).toBe(false);
    expect(allows(apiPolicy, refs, 'ssm:SendCommand', `arn:aws:ec2:${REGION}:${ACCOUNT}:instance/i-0123456789abcdef0`, tagged)).toBe(true);
    expect(allows(apiPolicy, refs, 'ssm:SendCommand', `arn:aws:ec2:${REGION}:${ACCOUNT}:instance/i-0123456789abcdef0`)).toBe(false);
    expect(allows(apiPolicy, refs, 'ssm:SendCommand', `arn:aws:ssm:${REGION}:${ACCOUNT}:managed-instance/mi-0123456789abcdef0`)).toBe(false);
    // The backup document statement names exactly that document: no wildcard.
    const backupStatements = apiPolicy.filter((s) => JSON.stringify(s.Resource).includes(stack.getLogicalId(stack.runbooks.documents['backup-volume'])));
    expect(backupStatements).toHaveLength(1);
    expect(backupStatements[0]?.Action).toBe('ssm:SendCommand');
    expect(JSON.stringify(backupStatements[0]?.Resource)).not.toContain('*');
  });

  it('no other function may send the backup document (drills, Slack, completion, sweeper)', () => {
    const apiRole = stack.getLogicalId(stack.api.function.role?.node.defaultChild as never);
    const others = Object.values(resources).filter(
      (r) => r.Type === 'AWS::IAM::Policy' && !JSON.stringify(r.Properties.Roles).includes(apiRole) && !JSON.stringify(r.Properties.Roles).includes('TeamA'),
    );
    for (const p of others) expect(JSON.stringify(p.Properties.PolicyDocument)).not.toContain(stack.getLogicalId(stack.runbooks.documents['backup-volume']));
  });

  it('status reads: Get/ListCommandInvocations (no resource-level permissions exist) and GetLogEvents on the command-output log group only', () => {
    expect(allows(apiPolicy, refs, 'ssm:GetCommandInvocation', '*')).toBe(true);
    expect(allows(apiPolicy, refs, 'ssm:ListCommandInvocations', '*')).toBe(true);
    expect(allows(apiPolicy, refs, 'logs:GetLogEvents', `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:lifeboat-out:log-stream:x/i-1/backupVolume/stdout`)).toBe(
      true,
    );
    expect(allows(apiPolicy, refs, 'logs:GetLogEvents', `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:other:log-stream:x`)).toBe(false);
    for (const s of apiPolicy.filter((x) => [x.Resource].flat().includes('*')))
      for (const a of [s.Action].flat())
        expect(a).toMatch(/^(ssm:(GetCommandInvocation|ListCommandInvocations|CancelCommand|DescribeInstanceInformation)|ec2:DescribeTags|xray:Put.*)$/);
  });

  it('grantSourceAccess: the default grant cannot start a backup (callers opt in with "backup"); read-only reads backup status but cannot start one; "backup" alone starts but reads nothing else', () => {
    const arn = (method: string, path: string): string => `arn:aws:execute-api:${REGION}:${ACCOUNT}:${API_ID}/v1/${method}${path}`;
    const can = (role: string, method: string, path: string): boolean => allows(policyOf(role), refs, 'execute-api:Invoke', arn(method, path));
    const status = '/sources/team-a/backups/0b6b7c6e-1f2a-4c3d-9e8f-001122334455';
    // The default: restores, drills, cancels and reads, no backup (a grant made before backups existed gains nothing).
    expect(can('TeamA', 'POST', '/sources/team-a/backups')).toBe(false);
    expect(can('TeamA', 'POST', '/sources/team-a/restores')).toBe(true);
    expect(can('TeamA', 'GET', status)).toBe(true);
    expect(can('OptedIn', 'POST', '/sources/team-a/backups')).toBe(true);
    expect(can('OptedIn', 'GET', status)).toBe(true);
    expect(can('OptedIn', 'POST', '/sources/team-b/backups')).toBe(false);
    expect(can('Readers', 'GET', status)).toBe(true);
    expect(can('Readers', 'POST', '/sources/team-a/backups')).toBe(false);
    expect(can('Backuppers', 'POST', '/sources/team-a/backups')).toBe(true);
    expect(can('Backuppers', 'GET', status)).toBe(false);
    expect(can('Backuppers', 'POST', '/sources/team-a/restores')).toBe(false);
  });

  it('cdk-nag has no findings on the stack as deployed (each wildcard acknowledged with its reason)', () => {
    // Environment-agnostic, without the test's roles: as `cdk synth` checks it.
    const plain = new LifeboatStack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'Plain');
    expect(new AwsSolutionsChecks().validateScope(plain).violations).toEqual([]);
  });
});
