import { Duration, Stack } from 'aws-cdk-lib';
import {
  AccessLogFormat, AuthorizationType, LambdaIntegration, LogGroupLogDestination, MethodLoggingLevel, RequestValidator, RestApi,
} from 'aws-cdk-lib/aws-apigateway';
import type { TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import type { RestoreApiEnv } from '../functions/restore-api/env.ts';
import { readArchives } from './catalog.ts';
import { BUNDLED_RUNBOOKS_DIR, LifeboatFunction } from './lifeboat-function.ts';
import { METRICS_NAMESPACE } from './metrics.ts';
import { acknowledgeNag } from './nag.ts';

export interface RestoreApiProps {
  readonly bucket: IBucket;
  readonly table: TableV2;
  readonly idempotencyTable: TableV2;
  readonly restoreDocumentName: string;
  readonly outputLogGroup: LogGroup;
  /** Helper image present on target hosts. */
  readonly helperImage: string;
  /** Only instances with this tag can receive Lifeboat commands. */
  readonly instanceTag: { readonly key: string; readonly value: string };
  /** @default 'archives' */
  readonly prefix?: string;
}

/**
 * Lets a function send the restore document, only to instances carrying the Lifeboat
 * tag, and check instances' SSM status.
 */
export function grantSendRestore(fn: LifeboatFunction<Record<string, string>>, props: { readonly restoreDocumentName: string; readonly instanceTag: { readonly key: string; readonly value: string } }): void {
  const stack = Stack.of(fn);
  fn.addToRolePolicy(
    new PolicyStatement({
      actions: ['ssm:SendCommand'],
      resources: [stack.formatArn({ service: 'ssm', resource: 'document', resourceName: props.restoreDocumentName })],
    }),
  );
  fn.addToRolePolicy(
    new PolicyStatement({
      actions: ['ssm:SendCommand'],
      resources: [stack.formatArn({ service: 'ec2', resource: 'instance', resourceName: '*' })],
      conditions: { StringEquals: { [`ssm:resourceTag/${props.instanceTag.key}`]: props.instanceTag.value } },
    }),
  );
  fn.addToRolePolicy(new PolicyStatement({ actions: ['ssm:DescribeInstanceInformation'], resources: ['*'] }));
  acknowledgeNag(
    fn,
    'SendCommand reaches only instances carrying the Lifeboat tag (the condition above; instance ids are not known in advance); ' +
      'DescribeInstanceInformation and X-Ray have no resource-level permissions.',
    { rule: 'IAM5', findings: ['Resource::arn:<AWS::Partition>:ec2:<AWS::Region>:<AWS::AccountId>:instance/*', 'Resource::*'] },
  );
}

/** The restore API: REST, every route IAM-authorized, one function behind it. */
export class RestoreApi extends Construct {
  readonly api: RestApi;
  readonly function: LifeboatFunction<RestoreApiEnv>;

  constructor(scope: Construct, id: string, props: RestoreApiProps) {
    super(scope, id);
    const prefix = props.prefix ?? 'archives';
    const environment: RestoreApiEnv = {
      TABLE_NAME: props.table.tableName,
      IDEMPOTENCY_TABLE_NAME: props.idempotencyTable.tableName,
      BUCKET_NAME: props.bucket.bucketName,
      RESTORE_DOCUMENT_NAME: props.restoreDocumentName,
      OUTPUT_LOG_GROUP: props.outputLogGroup.logGroupName,
      HELPER_IMAGE: props.helperImage,
      LIFEBOAT_RUNBOOKS_DIR: BUNDLED_RUNBOOKS_DIR,
      POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
    };
    const fn = new LifeboatFunction(this, 'Function', { entry: 'restore-api/index.ts', environment, withRunbooks: true, timeout: Duration.seconds(29) });
    this.function = fn;
    props.table.grantReadWriteData(fn);
    props.idempotencyTable.grantReadWriteData(fn);
    readArchives(fn, props.bucket, prefix);
    grantSendRestore(fn, props);

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
    const integration = new LambdaIntegration(fn);
    const restores = this.api.root.addResource('restores');
    restores.addMethod('POST', integration, { requestValidator: validator });
    restores.addResource('{id}').addMethod('GET', integration, { requestValidator: validator });
    this.api.root.addResource('drills').addMethod('POST', integration, { requestValidator: validator });
    this.api.root.addResource('archives').addMethod('GET', integration, {
      requestValidator: validator,
      requestParameters: { 'method.request.querystring.source': true, 'method.request.querystring.volume': true },
    });
    this.api.root.addResource('volumes').addMethod('GET', integration, { requestValidator: validator });
    acknowledgeNag(this.api, 'Every route is IAM-authorized (SigV4); callers are operators and Lifeboat itself, not the public.', { rule: 'APIG3' }, { rule: 'COG4' });
    acknowledgeNag(this.api, 'The API Gateway account role uses the AWS managed push-to-CloudWatch-Logs policy, which only writes logs.', {
      rule: 'IAM4',
      findings: ['Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs'],
    });
  }
}
