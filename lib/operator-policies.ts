import { CfnOutput, Stack } from 'aws-cdk-lib';
import type { RestApi } from 'aws-cdk-lib/aws-apigateway';
import { ManagedPolicy, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { ALL_VOLUMES_ROUTE, RECOVERY_ROUTES, SOURCE_ROUTES } from '../functions/restore-api/routes.ts';
import { acknowledgeNag, nagArn } from './nag.ts';

/** A route of the restore API: its method and resource path (`{source}`, `{id}` placeholders). */
export interface ApiRoute {
  readonly method: string;
  readonly path: string;
}

/**
 * Every IAM-authorized route, from the one declaration the API construct and the handler use;
 * given the API, only those it has (the recovery routes exist only with a recovery state machine).
 */
export const operatorRoutes = (api?: RestApi): ApiRoute[] =>
  [...SOURCE_ROUTES, ...RECOVERY_ROUTES, ALL_VOLUMES_ROUTE].filter(
    (r) => api === undefined || api.methods.some((m) => m.httpMethod === r.method && m.resource.path === r.path),
  );

/** Each statement of the operator policies, by `Sid`, with the reason it is there (read by the template tests). */
export const OPERATOR_STATEMENT_REASONS = {
  ReadRoutes: "every GET route for every source: archives, volumes, a restore's, a backup's or a recovery's status, GET /volumes (nothing changes)",
  ActRoutes:
    "every route that acts, for every source: start a restore, a drill, a whole-host recovery or a backup, cancel a restore (POST and DELETE); the API's own checks (the target's lifeboat:sources tag, the image allowlist) still apply",
} as const;
export type OperatorStatementSid = keyof typeof OPERATOR_STATEMENT_REASONS;

/**
 * Operators' managed policies: `execute-api:Invoke` on the restore API's routes, for every
 * source. Read-only: the GET routes. Restore: GET plus every route that acts (POST/DELETE,
 * including routes added to the route list later, e.g. POST …/backups). A team limited to
 * some sources gets `RestoreApi.grantSourceAccess` instead.
 */
export class OperatorPolicies extends Construct {
  readonly readOnly: ManagedPolicy;
  readonly restore: ManagedPolicy;

  constructor(scope: Construct, id: string, props: { readonly api: RestApi; readonly routes?: readonly ApiRoute[] }) {
    super(scope, id);
    const routes = props.routes ?? operatorRoutes(props.api);
    const arns = (rs: readonly ApiRoute[]): string[] =>
      rs.map((r) => props.api.arnForExecuteApi(r.method, r.path.replace('{source}', '*').replace('{id}', '*'), props.api.deploymentStage.stageName));
    const read = routes.filter((r) => r.method === 'GET');
    const act = routes.filter((r) => r.method !== 'GET');
    const statement = (sid: OperatorStatementSid, rs: readonly ApiRoute[]): PolicyStatement =>
      new PolicyStatement({ sid, actions: ['execute-api:Invoke'], resources: arns(rs) });
    this.readOnly = new ManagedPolicy(this, 'ReadOnly', {
      description: 'Lifeboat operators, read-only: the restore API GET routes (archives, volumes, restore status) for every source',
      statements: [statement('ReadRoutes', read)],
    });
    this.restore = new ManagedPolicy(this, 'Restore', {
      description: 'Lifeboat operators: the restore API GET routes and those that act (restores, drills, recoveries, backups, cancel) for every source',
      statements: [statement('ReadRoutes', read), statement('ActRoutes', act)],
    });
    const stack = Stack.of(this);
    for (const policy of [this.readOnly, this.restore]) {
      acknowledgeNag(
        policy,
        "An operator policy covers every source by design (`*` is the {source} and {id} path segments of the API's own routes, one ARN per route and method); " +
          'per-team policies limited to named sources come from RestoreApi.grantSourceAccess.',
        { rule: 'IAM5', findings: arns(routes).map((a) => `Resource::${nagArn(stack, a)}`) },
      );
    }
    new CfnOutput(scope, 'OperatorReadOnlyPolicyArn', {
      description: 'Attach to operators who may look: archives, volumes and restore status of every source',
      value: this.readOnly.managedPolicyArn,
    });
    new CfnOutput(scope, 'OperatorRestorePolicyArn', {
      description: 'Attach to operators who may act: restores, drills, recoveries, backups and cancels of every source',
      value: this.restore.managedPolicyArn,
    });
  }
}
