import { Duration } from 'aws-cdk-lib';
import type { TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { LogGroup } from 'aws-cdk-lib/aws-logs';
import type { Topic } from 'aws-cdk-lib/aws-sns';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
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
  /** The whole-host recovery state machine: a finished member restore answers its task token. @default no recoveries */
  readonly recoveryStateMachine?: IStateMachine;
}

/** The environment of a function that finishes restores (the completion event's, the sweeper's). */
export function completionEnvironment(props: CompletionProps): CommandFinishedEnv {
  return {
    TABLE_NAME: props.table.tableName,
    TOPIC_ARN: props.topic.topicArn,
    OUTPUT_LOG_GROUP: props.outputLogGroup.logGroupName,
    RESTORE_DOCUMENT_NAME: props.restoreDocumentName,
    POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
  };
}

/**
 * What finishing a restore takes: the catalog, the notification topic, the command's
 * output (GetCommandInvocation, and the output log group beyond 24 000 characters),
 * plus any other read-only SSM question (`ssmReads`).
 */
export function grantFinishRestores(fn: LifeboatFunction<Record<string, string>>, props: CompletionProps, ssmReads: readonly string[] = []): void {
  props.table.grantReadWriteData(fn);
  props.topic.grantPublish(fn);
  props.outputLogGroup.grant(fn, 'logs:GetLogEvents');
  const actions = ['ssm:GetCommandInvocation', ...ssmReads];
  fn.addToRolePolicy(new PolicyStatement({ actions, resources: ['*'] }));
  acknowledgeNag(
    fn,
    `${actions.join(' and ')} ${actions.length > 1 ? 'have' : 'has'} no resource-level permissions (the Service Authorization Reference lists no resource type); ` +
      'read-only: what became of a command. xray:PutTraceSegments and xray:PutTelemetryRecords (active tracing) have none either.',
    { rule: 'IAM5', findings: ['Resource::*'] },
  );
  if (props.recoveryStateMachine) grantAnswerRecoveries(fn);
}

/**
 * Lets a function answer a recovery member's task token (SendTaskSuccess / SendTaskFailure). These
 * actions have no resource type in the Service Authorization Reference: the token itself names the
 * execution and the task, so "*" is the only resource AWS accepts. The function only answers tokens
 * found in Lifeboat's own restore records.
 */
export function grantAnswerRecoveries(fn: LifeboatFunction<Record<string, string>>): void {
  fn.addToRolePolicy(new PolicyStatement({ actions: ['states:SendTaskSuccess', 'states:SendTaskFailure'], resources: ['*'] }));
  acknowledgeNag(
    fn,
    'states:SendTaskSuccess and states:SendTaskFailure have no resource-level permissions (the task token names the execution); ' +
      "the function answers only tokens from Lifeboat's own restore records of recovery members.",
    { rule: 'IAM5', findings: ['Resource::*'] },
  );
}

/** SSM invocation status changes for Lifeboat's document -> record, lock, metrics, notification. */
export class Completion extends Construct {
  readonly function: LifeboatFunction<CommandFinishedEnv>;

  constructor(scope: Construct, id: string, props: CompletionProps) {
    super(scope, id);
    const fn = new LifeboatFunction(this, 'Function', {
      entry: 'command-finished/index.ts',
      environment: completionEnvironment(props),
      timeout: Duration.seconds(60),
    });
    this.function = fn;
    grantFinishRestores(fn, props);
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
