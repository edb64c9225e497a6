import { Duration } from 'aws-cdk-lib';
import type { TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { LogGroup } from 'aws-cdk-lib/aws-logs';
import type { Topic } from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import type { CommandFinishedEnv } from '../functions/command-finished/env.ts';
import { ruleToFunction } from './event-target.ts';
import { LifeboatFunction } from './lifeboat-function.ts';
import { METRICS_NAMESPACE } from './metrics.ts';
import { acknowledgeNag } from './nag.ts';

export interface CompletionProps {
  readonly table: TableV2;
  readonly topic: Topic;
  readonly restoreDocumentName: string;
  readonly outputLogGroup: LogGroup;
}

/** SSM invocation status changes for Lifeboat's document -> record, lock, metrics, notification. */
export class Completion extends Construct {
  readonly function: LifeboatFunction<CommandFinishedEnv>;

  constructor(scope: Construct, id: string, props: CompletionProps) {
    super(scope, id);
    const environment: CommandFinishedEnv = {
      TABLE_NAME: props.table.tableName,
      TOPIC_ARN: props.topic.topicArn,
      OUTPUT_LOG_GROUP: props.outputLogGroup.logGroupName,
      RESTORE_DOCUMENT_NAME: props.restoreDocumentName,
      POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
    };
    const fn = new LifeboatFunction(this, 'Function', { entry: 'command-finished/index.ts', environment, timeout: Duration.seconds(60) });
    this.function = fn;
    props.table.grantReadWriteData(fn);
    props.topic.grantPublish(fn);
    props.outputLogGroup.grant(fn, 'logs:GetLogEvents');
    fn.addToRolePolicy(new PolicyStatement({ actions: ['ssm:GetCommandInvocation'], resources: ['*'] }));
    acknowledgeNag(fn, 'ssm:GetCommandInvocation and X-Ray have no resource-level permissions.', { rule: 'IAM5', findings: ['Resource::*'] });
    ruleToFunction(this, 'InvocationStatus', {
      description: 'Lifeboat: restore commands changing status',
      eventPattern: {
        source: ['aws.ssm'],
        detailType: ['EC2 Command Invocation Status-change Notification'],
        detail: { 'document-name': [props.restoreDocumentName] },
      },
      target: fn,
    });
  }
}
