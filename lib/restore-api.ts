import { Duration, Stack } from 'aws-cdk-lib';
import {
  AccessLogFormat,
  AuthorizationType,
  LambdaIntegration,
  LogGroupLogDestination,
  MethodLoggingLevel,
  type Model,
  RequestValidator,
  ResponseType,
  RestApi,
} from 'aws-cdk-lib/aws-apigateway';
import type { TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Grant, type IGrantable, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { RestorePolicy } from '#core/policy.ts';
import { SOURCE_PATTERN } from '#core/archive-key.ts';
import type { ProtectionPolicy } from '#core/protection.ts';
import { type RestoreApiEnv } from '../functions/restore-api/env.ts';
import { recoveryProtect } from '#core/protection.ts';
import { ALL_VOLUMES_ROUTE, RECOVERY_ROUTES, SOURCE_ROUTES, type SourceAccess } from '../functions/restore-api/routes.ts';
import { BODY_ROUTES, type BodyRoute, requestModelSchema } from './api-contract.ts';
import { readArchives } from './catalog.ts';
import { BUNDLED_RUNBOOKS_DIR, LifeboatFunction } from './lifeboat-function.ts';
import { METRICS_NAMESPACE } from './metrics.ts';
import { acknowledgeNag } from './nag.ts';

/**
 * The body of API Gateway's 400 for a body its request model refused (a gateway response template:
 * simple `$context` substitution, no VTL). `validationErrorString` is the validator's message, e.g.
 * `[object has missing required properties ([\"volume\"])]`.
 */
export const BAD_REQUEST_BODY_TEMPLATE = JSON.stringify({
  error: 'the request body does not match the schema of $context.httpMethod $context.resourcePath (docs/openapi.json): $context.error.validationErrorString',
  code: 'BAD_REQUEST_BODY',
  requestId: '$context.requestId',
});

export interface RestoreApiProps {
  readonly bucket: IBucket;
  readonly table: TableV2;
  readonly idempotencyTable: TableV2;
  readonly restoreDocumentName: string;
  /** The cancel-restore document (asks a running restore to stop so that it puts the host back). */
  readonly cancelDocumentName: string;
  /** The backup-volume document, run now by `POST /sources/{source}/backups`. */
  readonly backupDocumentName: string;
  readonly outputLogGroup: LogGroup;
  /** Helper image present on target hosts. */
  readonly helperImage: string;
  /** Only instances with this tag can receive Lifeboat commands. */
  readonly instanceTag: { readonly key: string; readonly value: string };
  /** @default 'archives' */
  readonly prefix?: string;
  /**
   * What restores may do (image allowlist, protected volumes' settings); its volumes are also
   * the only ones a backup through the API may read on a host serving several sources.
   * @default allows no image, plain local volumes, no protected volume
   */
  readonly restorePolicy?: RestorePolicy;
  /**
   * The whole-host recovery state machine: with it the API has `POST /sources/{source}/recoveries`
   * and `GET /sources/{source}/recoveries/{id}`, and its function may start executions of this
   * state machine (and nothing else of Step Functions). @default no recovery routes
   */
  readonly recoveryStateMachine?: IStateMachine;
  /** The protect list the recovery planner reads (only with `recoveryStateMachine`). @default none */
  readonly protect?: readonly ProtectionPolicy[];
}

/** A per-source route of the API: method, path (`{source}`, `{id}` placeholders) and the access that grants it. */
export interface SourceRoute {
  readonly method: string;
  readonly path: string;
  readonly access: SourceAccess;
}

/**
 * Lets a function send the restore document, only to instances and managed nodes carrying
 * the Lifeboat tag, check instances' SSM status, and read the sources a target host
 * declares it may receive (its `lifeboat:sources` tag).
 */
export function grantSendRestore(
  fn: LifeboatFunction<Record<string, string>>,
  props: { readonly restoreDocumentName: string; readonly instanceTag: { readonly key: string; readonly value: string } },
): void {
  const stack = Stack.of(fn);
  const managedInstances = stack.formatArn({ service: 'ssm', resource: 'managed-instance', resourceName: '*' });
  fn.addToRolePolicy(
    new PolicyStatement({
      actions: ['ssm:SendCommand'],
      resources: [stack.formatArn({ service: 'ssm', resource: 'document', resourceName: props.restoreDocumentName })],
    }),
  );
  fn.addToRolePolicy(
    new PolicyStatement({
      actions: ['ssm:SendCommand'],
      // EC2 instances (i-…) and hybrid managed nodes (mi-…), both only with the Lifeboat tag.
      resources: [stack.formatArn({ service: 'ec2', resource: 'instance', resourceName: '*' }), managedInstances],
      conditions: { StringEquals: { [`ssm:resourceTag/${props.instanceTag.key}`]: props.instanceTag.value } },
    }),
  );
  fn.addToRolePolicy(new PolicyStatement({ actions: ['ssm:DescribeInstanceInformation', 'ec2:DescribeTags'], resources: ['*'] }));
  fn.addToRolePolicy(new PolicyStatement({ actions: ['ssm:ListTagsForResource'], resources: [managedInstances] }));
  acknowledgeNag(
    fn,
    'SendCommand reaches only EC2 instances and managed nodes carrying the Lifeboat tag (the condition above; their ids are not known in advance); ' +
      "ListTagsForResource only reads managed nodes' tags (a target's lifeboat:sources); " +
      "DescribeInstanceInformation, ec2:DescribeTags (read-only: a target's lifeboat:sources tag) and X-Ray have no resource-level permissions.",
    {
      rule: 'IAM5',
      findings: [
        'Resource::arn:<AWS::Partition>:ec2:<AWS::Region>:<AWS::AccountId>:instance/*',
        'Resource::arn:<AWS::Partition>:ssm:<AWS::Region>:<AWS::AccountId>:managed-instance/*',
        'Resource::*',
      ],
    },
  );
}

/**
 * Lets a function cancel Lifeboat's commands (`DELETE /sources/{source}/restores/{id}`, Slack
 * `cancel <id>`): GetCommandInvocation (is it running, or not yet delivered?), CancelCommand, and
 * ListCommandInvocations to find a command whose sender stopped before recording it. None has
 * resource-level permissions; the function only ever names command ids taken from Lifeboat's own restore records.
 */
export function grantCancelRestore(fn: LifeboatFunction<Record<string, string>>, props: { readonly cancelDocumentName: string }): void {
  fn.addToRolePolicy(new PolicyStatement({ actions: ['ssm:GetCommandInvocation', 'ssm:CancelCommand', 'ssm:ListCommandInvocations'], resources: ['*'] }));
  // A running restore is stopped by the cancel-restore document (TERM: its trap puts the host back);
  // the instances it may go to are those grantSendRestore names (the Lifeboat tag).
  fn.addToRolePolicy(
    new PolicyStatement({
      actions: ['ssm:SendCommand'],
      resources: [Stack.of(fn).formatArn({ service: 'ssm', resource: 'document', resourceName: props.cancelDocumentName })],
    }),
  );
  acknowledgeNag(
    fn,
    "ssm:GetCommandInvocation, ssm:CancelCommand and ssm:ListCommandInvocations have no resource-level permissions; the function names only command ids from Lifeboat's restore records.",
    { rule: 'IAM5', findings: ['Resource::*'] },
  );
}

/**
 * Lets a function run the backup document now (`POST /sources/{source}/backups`) and say what
 * became of it: SendCommand on the backup document (the instances it may go to are those
 * {@link grantSendRestore} names: the Lifeboat tag), the invocation's status and output
 * (neither read has resource-level permissions), and the output beyond 24 000 characters
 * from the command-output log group.
 */
export function grantRunBackup(
  fn: LifeboatFunction<Record<string, string>>,
  props: { readonly backupDocumentName: string; readonly outputLogGroup: LogGroup },
): void {
  fn.addToRolePolicy(
    new PolicyStatement({
      actions: ['ssm:SendCommand'],
      resources: [Stack.of(fn).formatArn({ service: 'ssm', resource: 'document', resourceName: props.backupDocumentName })],
    }),
  );
  fn.addToRolePolicy(new PolicyStatement({ actions: ['ssm:ListCommandInvocations', 'ssm:GetCommandInvocation'], resources: ['*'] }));
  props.outputLogGroup.grant(fn, 'logs:GetLogEvents');
  acknowledgeNag(
    fn,
    'ssm:ListCommandInvocations and ssm:GetCommandInvocation have no resource-level permissions; read-only: what became of a backup command ' +
      "(answered only for the backup document's commands of the path's source).",
    { rule: 'IAM5', findings: ['Resource::*'] },
  );
}

/** The restore API: REST, every route IAM-authorized, one function behind it. */
export class RestoreApi extends Construct {
  readonly api: RestApi;
  readonly function: LifeboatFunction<RestoreApiEnv>;
  /** The per-source routes this API has (the recovery routes only with a recovery state machine). */
  readonly sourceRoutes: readonly SourceRoute[];

  constructor(scope: Construct, id: string, props: RestoreApiProps) {
    super(scope, id);
    const prefix = props.prefix ?? 'archives';
    const environment: RestoreApiEnv = {
      TABLE_NAME: props.table.tableName,
      IDEMPOTENCY_TABLE_NAME: props.idempotencyTable.tableName,
      BUCKET_NAME: props.bucket.bucketName,
      RESTORE_DOCUMENT_NAME: props.restoreDocumentName,
      CANCEL_DOCUMENT_NAME: props.cancelDocumentName,
      BACKUP_DOCUMENT_NAME: props.backupDocumentName,
      ARCHIVE_PREFIX: prefix,
      ARCHIVE_REGION: props.bucket.env.region,
      OUTPUT_LOG_GROUP: props.outputLogGroup.logGroupName,
      HELPER_IMAGE: props.helperImage,
      LIFEBOAT_RUNBOOKS_DIR: BUNDLED_RUNBOOKS_DIR,
      POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
      LIFEBOAT_POLICY: JSON.stringify(props.restorePolicy ?? RestorePolicy.parse({})),
      RECOVERY_STATE_MACHINE_ARN: props.recoveryStateMachine?.stateMachineArn ?? '',
      LIFEBOAT_PROTECT: props.recoveryStateMachine === undefined ? '[]' : recoveryProtect(props.protect ?? []),
    };
    const fn = new LifeboatFunction(this, 'Function', { entry: 'restore-api/index.ts', environment, withRunbooks: true, timeout: Duration.seconds(29) });
    this.function = fn;
    props.table.grantReadWriteData(fn);
    props.idempotencyTable.grantReadWriteData(fn);
    readArchives(fn, props.bucket, prefix);
    grantSendRestore(fn, props);
    grantCancelRestore(fn, props);
    grantRunBackup(fn, props);
    // A recovery is recorded here and run by the state machine: this function only starts executions.
    props.recoveryStateMachine?.grantStartExecution(fn);
    this.sourceRoutes = [...SOURCE_ROUTES, ...(props.recoveryStateMachine === undefined ? [] : RECOVERY_ROUTES)];

    const accessLogs = new LogGroup(this, 'AccessLogs', { retention: RetentionDays.ONE_YEAR });
    this.api = new RestApi(this, 'Api', {
      description: 'Lifeboat restore API (IAM-authorized)',
      cloudWatchRole: true,
      deployOptions: {
        stageName: 'v1',
        tracingEnabled: true,
        loggingLevel: MethodLoggingLevel.ERROR,
        accessLogDestination: new LogGroupLogDestination(accessLogs),
        accessLogFormat: AccessLogFormat.jsonWithStandardFields(),
        throttlingRateLimit: 20,
        throttlingBurstLimit: 40,
      },
      defaultMethodOptions: { authorizationType: AuthorizationType.IAM },
    });
    const validator = new RequestValidator(this, 'Validator', { restApi: this.api, validateRequestBody: true, validateRequestParameters: true });
    // A body the model refuses never reaches the function, so API Gateway answers; by default with
    // {"message": "Invalid request body"}, which names nothing. This answer has the function's error
    // shape ({error, code, requestId}) and carries the validator's own words, which name the missing or
    // wrong property, and the route whose schema (docs/openapi.json) the body must match.
    this.api.addGatewayResponse('BadRequestBody', {
      type: ResponseType.BAD_REQUEST_BODY,
      statusCode: '400',
      templates: { 'application/json': BAD_REQUEST_BODY_TEMPLATE },
    });
    const integration = new LambdaIntegration(fn);
    // Everything about one source's archives and restores is under /sources/{source}/…, so that
    // plain IAM scopes a caller to its sources (grantSourceAccess); nothing else reaches them.
    // Each body route's body is checked against a model made from the schema the handler parses it
    // with (draft-04, what API Gateway models take; lib/api-contract.ts): a body of the wrong shape
    // is a 400 before the function runs. For every content type ($default), not only JSON's.
    const models = new Map<string, Model>();
    const modelOf = (route: string): Model | undefined => {
      if (!(route in BODY_ROUTES)) return undefined;
      const body = BODY_ROUTES[route as BodyRoute];
      const model =
        models.get(route) ??
        this.api.addModel(`${body.name}Model`, {
          contentType: 'application/json',
          description: `The body of ${route} (from the zod schema ${body.name})`,
          schema: requestModelSchema(body.schema, body.name),
        });
      models.set(route, model);
      return model;
    };
    const methods = this.sourceRoutes.map((route) => {
      const model = modelOf(`${route.method} ${route.path}`);
      return this.api.root.resourceForPath(route.path).addMethod(route.method, integration, {
        requestValidator: validator,
        ...(model === undefined ? {} : { requestModels: { 'application/json': model, $default: model } }),
        ...(route.path.endsWith('/archives') ? { requestParameters: { 'method.request.querystring.volume': true } } : {}),
      });
    });
    methods.push(this.api.root.resourceForPath(ALL_VOLUMES_ROUTE.path).addMethod(ALL_VOLUMES_ROUTE.method, integration, { requestValidator: validator }));
    // Per method, not on the whole API: a method added later without IAM (Slack's) must carry its own reason.
    for (const method of methods)
      acknowledgeNag(method, 'IAM-authorized (SigV4): callers are operators and Lifeboat itself; a Cognito user pool would add nothing.', { rule: 'COG4' });
    acknowledgeNag(
      this.api,
      'Every Lifeboat route is authenticated (SigV4, or the Slack signature checked first); callers are operators, Slack and Lifeboat itself, not the public: no WAF.',
      { rule: 'APIG3' },
    );
    acknowledgeNag(this.api, 'The API Gateway account role uses the AWS managed push-to-CloudWatch-Logs policy, which only writes logs.', {
      rule: 'IAM4',
      findings: ['Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs'],
    });
  }

  /**
   * Lets `grantee` call the API for these sources only: `execute-api:Invoke` on each
   * per-source route with the source spelled out (`…/v1/POST/sources/team-a/restores`,
   * `…/v1/GET/sources/team-a/restores/*`), never a pattern that could reach another
   * source. `GET /volumes` (every source's volumes) is not included.
   *
   * Whole-host recoveries (`POST …/recoveries`, when the API has them) come with `restore`: a
   * recovery is restores of the source's volumes. Starting backups (`POST …/backups`) is not in the default: a backup reads data on a host
   * and lands it under the source, so grant it on purpose,
   * `grantSourceAccess(role, sources, ['read', 'restore', 'drill', 'cancel', 'backup'])`.
   * @param access what the grantee may do. @default read, restore, drill and cancel
   */
  grantSourceAccess(grantee: IGrantable, sources: readonly string[], access: readonly SourceAccess[] = ['read', 'restore', 'drill', 'cancel']): Grant {
    if (sources.length === 0) throw new Error('grantSourceAccess: name at least one source');
    for (const source of sources) {
      if (!SOURCE_PATTERN.test(source))
        throw new Error(`grantSourceAccess: ${JSON.stringify(source)} is not a source name (${SOURCE_PATTERN.source}); wildcards are not allowed`);
    }
    const routes = this.sourceRoutes.filter((r) => access.includes(r.access));
    const resourceArns = sources.flatMap((source) =>
      routes.map((r) => this.api.arnForExecuteApi(r.method, r.path.replace('{source}', source).replace('{id}', '*'), this.api.deploymentStage.stageName)),
    );
    return Grant.addToPrincipal({ grantee, actions: ['execute-api:Invoke'], resourceArns });
  }
}
