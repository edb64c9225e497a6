/**
 * Whole-host recoveries through the API: `POST /sources/{source}/recoveries` (dry run → the plan;
 * otherwise 202 with the recovery and its execution) and `GET /sources/{source}/recoveries/{id}`,
 * the source always the path's (what IAM scoped the caller to); and the construct: the routes
 * exist only with the recovery state machine, whose StartExecution is all the function may do
 * with Step Functions, and the per-source and operator grants follow the routes.
 */
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AttributeType, TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { AccountPrincipal, Role } from 'aws-cdk-lib/aws-iam';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import { Bucket } from 'aws-cdk-lib/aws-s3';
import { DefinitionBody, Pass, StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { NotFoundError } from '#core/restore/errors.ts';
import type { RecoveryApi, RecoveryRequest, StartedRecovery } from '#core/recovery/model.ts';
import { errorToResponse } from '#root/functions/commons/http-errors.ts';
import { handleApi, type ApiDeps, type StartRecoveryInput } from '#root/functions/restore-api/app.ts';
import { RECOVERY_ROUTES } from '#root/functions/restore-api/routes.ts';
import { OperatorPolicies } from '#root/lib/operator-policies.ts';
import { RestoreApi } from '#root/lib/restore-api.ts';
import { routeEvent } from '../support/api.ts';
import { PLAN, RECOVERY_ID, TARGET, recoveryRecord } from '../support/recovery-fixtures.ts';

/** A recovery service that records what it was asked. */
function fakeRecoveries() {
  const calls: { plan: RecoveryRequest[]; start: { request: RecoveryRequest; by: string }[]; idempotent: StartRecoveryInput[] } = {
    plan: [],
    start: [],
    idempotent: [],
  };
  const started: StartedRecovery = {
    recoveryId: RECOVERY_ID,
    state: 'running',
    executionArn: `arn:aws:states:eu-west-1:1:execution:R:${RECOVERY_ID}`,
    plan: PLAN,
  };
  const service: RecoveryApi = {
    plan: (request) => {
      calls.plan.push(request);
      return Promise.resolve(PLAN);
    },
    start: (request, by) => {
      calls.start.push({ request, by });
      return Promise.resolve(started);
    },
    startPlan: () => Promise.reject(new Error('not through the API')),
    get: (id) => (id === RECOVERY_ID ? Promise.resolve(recoveryRecord('running')) : Promise.reject(new NotFoundError(`no recovery ${id}`))),
  };
  const startIdempotent = (input: StartRecoveryInput) => {
    calls.idempotent.push(input);
    return Promise.resolve(started);
  };
  return { calls, deps: { service, startIdempotent } };
}

const counted: string[] = [];
const depsWith = (recoveries: ApiDeps['recoveries']): ApiDeps =>
  ({
    service: {},
    catalog: {},
    runner: {},
    startIdempotent: () => Promise.reject(new Error('no')),
    started: (m: string) => counted.push(m),
    recoveries,
  }) as unknown as ApiDeps;

/** The handler behind the one error mapper, as the Lambda runs it. */
async function call(deps: ApiDeps, event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> {
  try {
    return await handleApi(deps, event);
  } catch (e) {
    return errorToResponse(e, 'req-1');
  }
}
const body = (r: APIGatewayProxyResult): Record<string, unknown> => JSON.parse(r.body) as Record<string, unknown>;

describe('POST /sources/{source}/recoveries and GET /sources/{source}/recoveries/{id}', () => {
  it('a dry run answers the plan (source from the path, defaults applied) and starts nothing', async () => {
    const { calls, deps } = fakeRecoveries();
    const res = await call(
      depsWith(deps),
      routeEvent('POST', '/sources/db1/recoveries', { body: JSON.stringify({ target: { instanceId: TARGET }, dryRun: true }) }),
    );
    expect(res.statusCode).toBe(200);
    expect(body(res)).toEqual({ dryRun: true, plan: JSON.parse(JSON.stringify(PLAN)) as unknown });
    expect(calls.plan).toEqual([{ source: 'db1', target: { instanceId: TARGET }, ifVolumeExists: 'fail', parallel: 4, dryRun: true }]);
    expect(calls.start).toEqual([]);
  });

  it('a start answers 202 with the recovery id, state, execution, plan and where to follow it; the caller is recorded', async () => {
    const { calls, deps } = fakeRecoveries();
    counted.length = 0;
    const res = await call(
      depsWith(deps),
      routeEvent('POST', '/sources/db1/recoveries', { body: JSON.stringify({ target: { instanceId: TARGET }, at: '2026-12-01T02:30:00Z', parallel: 2 }) }),
    );
    expect(res.statusCode).toBe(202);
    expect(body(res)).toMatchObject({
      recoveryId: RECOVERY_ID,
      state: 'running',
      executionArn: expect.stringContaining(RECOVERY_ID) as string,
      plan: { source: 'db1' },
    });
    expect(body(res).statusUrl).toBe(`/sources/db1/recoveries/${RECOVERY_ID}`);
    expect(res.headers?.location).toBe(`/sources/db1/recoveries/${RECOVERY_ID}`);
    expect(calls.start[0]?.request).toMatchObject({ source: 'db1', at: '2026-12-01T02:30:00Z', parallel: 2, dryRun: false });
    expect(calls.start[0]?.by).toMatch(/^arn:aws:/);
    expect(counted).toEqual(['recovery']);
  });

  it('with an Idempotency-Key the start goes through the idempotent path (a retry is the same recovery)', async () => {
    const { calls, deps } = fakeRecoveries();
    const event = routeEvent('POST', '/sources/db1/recoveries', { body: JSON.stringify({ target: { instanceId: TARGET } }) });
    const res = await call(depsWith(deps), { ...event, headers: { ...event.headers, 'Idempotency-Key': 'host-lost-1' } });
    expect(res.statusCode).toBe(202);
    expect(calls.idempotent.map((c) => c.key)).toEqual(['host-lost-1']);
    expect(calls.start).toEqual([]);
  });

  it('a body naming another source, a bad target or parallel is a 400 naming the field; nothing is planned', async () => {
    const { calls, deps } = fakeRecoveries();
    const other = await call(
      depsWith(deps),
      routeEvent('POST', '/sources/db1/recoveries', { body: JSON.stringify({ source: 'db2', target: { instanceId: TARGET } }) }),
    );
    expect(other.statusCode).toBe(400);
    expect(body(other).fields).toEqual([{ field: 'source', problem: expect.stringContaining('must be db1') as string }]);
    const bad = await call(
      depsWith(deps),
      routeEvent('POST', '/sources/db1/recoveries', {
        body: JSON.stringify({ target: { instanceId: 'i-1;reboot' }, parallel: 99, ifVolumeExists: 'overwrite' }),
      }),
    );
    expect(bad.statusCode).toBe(400);
    const fields = (body(bad).fields as { field: string; problem: string }[]).map((f) => f.field).sort();
    expect(fields).toEqual(['ifVolumeExists', 'parallel', 'target.instanceId']);
    expect(calls.plan).toEqual([]);
  });

  it('GET answers the record through its own source only; another source, an unknown or malformed id are not found or named', async () => {
    const { deps } = fakeRecoveries();
    const ok = await call(depsWith(deps), routeEvent('GET', `/sources/db1/recoveries/${RECOVERY_ID}`));
    expect(ok.statusCode).toBe(200);
    expect(body(ok)).toMatchObject({ id: RECOVERY_ID, state: 'running', plan: { source: 'db1' } });
    const elsewhere = await call(depsWith(deps), routeEvent('GET', `/sources/db2/recoveries/${RECOVERY_ID}`));
    expect(elsewhere.statusCode).toBe(404);
    expect(body(elsewhere).error).toBe(`no recovery ${RECOVERY_ID} of source db2`);
    const unknown = await call(depsWith(deps), routeEvent('GET', '/sources/db1/recoveries/rc-20261201030000-ffffffff'));
    expect(unknown.statusCode).toBe(404);
    const malformed = await call(depsWith(deps), routeEvent('GET', '/sources/db1/recoveries/r-abc-12345678'));
    expect(malformed.statusCode).toBe(400);
    expect(body(malformed).fields).toEqual([{ field: 'id', problem: expect.stringContaining('recovery id') as string }]);
  });

  it('an API deployed without the recovery state machine answers 404 saying so', async () => {
    const res = await call(depsWith(undefined), routeEvent('POST', '/sources/db1/recoveries', { body: JSON.stringify({ target: { instanceId: TARGET } }) }));
    expect(res.statusCode).toBe(404);
    expect(body(res).error).toMatch(/runs no whole-host recoveries/);
  });
});

describe('RestoreApi construct: recovery routes and grants', () => {
  const build = (withRecovery: boolean) => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new Stack(app, withRecovery ? 'WithRecovery' : 'WithoutRecovery', { env: { account: '123456789012', region: 'eu-west-1' } });
    const table = (id: string) => new TableV2(stack, id, { partitionKey: { name: 'pk', type: AttributeType.STRING } });
    const machine = withRecovery
      ? new StateMachine(stack, 'Recovery', { definitionBody: DefinitionBody.fromChainable(new Pass(stack, 'Nothing')) })
      : undefined;
    const api = new RestoreApi(stack, 'RestoreApi', {
      bucket: new Bucket(stack, 'Archives'),
      table: table('Catalog'),
      idempotencyTable: table('Idempotency'),
      restoreDocumentName: 'Restore',
      cancelDocumentName: 'Cancel',
      backupDocumentName: 'Backup',
      outputLogGroup: new LogGroup(stack, 'Out'),
      helperImage: 'local/lifeboat-helper:1',
      instanceTag: { key: 'lifeboat:managed', value: 'true' },
      ...(machine
        ? {
            recoveryStateMachine: machine,
            protect: [
              {
                source: 'db1',
                volume: 'pgdata',
                drillHost: { instanceId: TARGET },
                drillSchedule: 'cron(0 4 * * ? *)',
                rpoMinutes: 60,
                verify: { engine: 'postgres' as const },
                recovery: { wave: 1, role: 'critical' as const },
                notify: ['oncall@example.com'],
              },
            ],
          }
        : {}),
    });
    const team = new Role(stack, 'Team', { assumedBy: new AccountPrincipal('123456789012') });
    api.grantSourceAccess(team, ['db1']);
    const readers = new Role(stack, 'Readers', { assumedBy: new AccountPrincipal('123456789012') });
    api.grantSourceAccess(readers, ['db1'], ['read']);
    new OperatorPolicies(stack, 'Operators', { api: api.api });
    return { template: Template.fromStack(stack), json: JSON.stringify(Template.fromStack(stack).toJSON()) };
  };
  const withRecovery = build(true);
  const without = build(false);
  type Resources = Record<string, { Type: string; Properties: Record<string, unknown> }>;
  const resources = (t: Template): Resources => (t.toJSON() as { Resources: Resources }).Resources;
  const pathParts = (t: Template): string[] =>
    Object.values(resources(t))
      .filter((r) => r.Type === 'AWS::ApiGateway::Resource')
      .map((r) => String(r.Properties.PathPart));
  const statementsOf = (t: Template, rolePrefix: string) =>
    Object.entries(resources(t))
      .filter(([id, r]) => r.Type === 'AWS::IAM::Policy' && id.startsWith(rolePrefix))
      .flatMap(([, r]) => (r.Properties.PolicyDocument as { Statement: { Action: string | string[]; Resource: unknown }[] }).Statement);
  const managed = (t: Template, id: string) =>
    JSON.stringify(Object.entries(resources(t)).find(([k, r]) => r.Type === 'AWS::IAM::ManagedPolicy' && k.startsWith(`Operators${id}`))?.[1].Properties);

  it('with the state machine: both routes (IAM), the ARN and the cut-down protect list in the environment, StartExecution on it alone', () => {
    const { template } = withRecovery;
    expect(pathParts(template)).toContain('recoveries');
    const methods = Object.values(resources(template)).filter((r) => r.Type === 'AWS::ApiGateway::Method');
    expect(methods.filter((m) => m.Properties.AuthorizationType !== 'AWS_IAM')).toEqual([]);
    const fn = Object.values(resources(template)).find(
      (r) => r.Type === 'AWS::Lambda::Function' && JSON.stringify(r.Properties).includes('RECOVERY_STATE_MACHINE_ARN'),
    );
    const env = (fn?.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    expect(env.RECOVERY_STATE_MACHINE_ARN).toEqual({ Ref: expect.stringMatching(/^Recovery/) as string });
    const protect = JSON.parse(String(env.LIFEBOAT_PROTECT)) as Record<string, unknown>[];
    expect(protect).toEqual([{ source: 'db1', volume: 'pgdata', drillHost: { instanceId: TARGET }, rpoMinutes: 60, recovery: { wave: 1, role: 'critical' } }]);
    const sfn = statementsOf(template, 'RestoreApiFunction').filter((s) => JSON.stringify(s.Action).includes('states:'));
    expect(sfn).toEqual([expect.objectContaining({ Action: 'states:StartExecution', Resource: { Ref: expect.stringMatching(/^Recovery/) as string } })]);
  });

  it('without it: no recovery route, no Step Functions permission, an empty ARN', () => {
    expect(pathParts(without.template)).not.toContain('recoveries');
    expect(without.json).not.toContain('states:');
    expect(without.json).toContain('"RECOVERY_STATE_MACHINE_ARN":""');
  });

  it('grantSourceAccess: restore access may start recoveries of its source, read access may follow them; operators get the routes that exist', () => {
    const team = JSON.stringify(statementsOf(withRecovery.template, 'Team'));
    expect(team).toContain('/POST/sources/db1/recoveries"');
    expect(team).toContain('/GET/sources/db1/recoveries/*"');
    const readers = JSON.stringify(statementsOf(withRecovery.template, 'Readers'));
    expect(readers).not.toContain('/POST/sources/db1/recoveries');
    expect(readers).toContain('/GET/sources/db1/recoveries/*"');
    expect(JSON.stringify(statementsOf(without.template, 'Team'))).not.toContain('recoveries');
    expect(managed(withRecovery.template, 'Restore')).toContain('/POST/sources/*/recoveries"');
    expect(managed(withRecovery.template, 'ReadOnly')).toContain('/GET/sources/*/recoveries/*"');
    expect(managed(withRecovery.template, 'ReadOnly')).not.toContain('/POST/');
    expect(managed(without.template, 'Restore')).not.toContain('/recoveries');
    expect(RECOVERY_ROUTES.map((r) => r.access)).toEqual(['restore', 'read']);
  });
});
