import { Duration } from 'aws-cdk-lib';
import { Rule, type EventPattern, type Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { acknowledgeNag } from './nag.ts';

/** What triggers a rule: matching events, or a schedule. */
export type RuleTrigger = { readonly eventPattern: EventPattern } | { readonly schedule: Schedule };

/**
 * An EventBridge rule delivering to a function with retries for six hours and an
 * encrypted, TLS-only dead-letter queue for what still fails. (EventBridge invokes the
 * function asynchronously: what fails inside it goes to the on-failure destination
 * that FailureAlarms gives every asynchronously invoked function.)
 */
export function ruleToFunction(scope: Construct, id: string, props: { description: string; target: IFunction } & RuleTrigger): Rule {
  const dlq = new Queue(scope, `${id}Dlq`, { encryption: QueueEncryption.SQS_MANAGED, enforceSSL: true, retentionPeriod: Duration.days(14) });
  acknowledgeNag(dlq, 'This queue is the dead-letter queue of the EventBridge target.', { rule: 'SQS3' });
  return new Rule(scope, id, {
    description: props.description,
    ...('schedule' in props ? { schedule: props.schedule } : { eventPattern: props.eventPattern }),
    targets: [new LambdaFunction(props.target, { retryAttempts: 8, maxEventAge: Duration.hours(6), deadLetterQueue: dlq })],
  });
}
