import { ArnFormat, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Effect, Grant, PolicyStatement, ServicePrincipal, type IGrantable } from 'aws-cdk-lib/aws-iam';
import { Key, type IKey } from 'aws-cdk-lib/aws-kms';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';

/** The AWS services that publish to Lifeboat's topics: CloudWatch alarms (nothing else is wired to them). */
export const PUBLISHING_SERVICES = ['cloudwatch.amazonaws.com'] as const;

/** `aws:SourceArn` of every alarm in this account and region (what publishes through the key and the topics). */
const alarmArns = (scope: Construct): string =>
  Stack.of(scope).formatArn({ service: 'cloudwatch', resource: 'alarm', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME });

/**
 * A customer-managed key for topics that CloudWatch alarms publish to. Alarms cannot
 * publish to a topic under the AWS-managed `alias/aws/sns` key (its policy cannot name
 * CloudWatch): the notification is silently dropped. This key's policy lets CloudWatch
 * use it for this account's alarms only.
 */
export function alarmTopicKey(scope: Construct, id: string): Key {
  const key = new Key(scope, id, {
    description: 'Lifeboat: encrypts the topics alarms and restores are announced on',
    enableKeyRotation: true,
    removalPolicy: RemovalPolicy.RETAIN,
  });
  const stack = Stack.of(scope);
  key.addToResourcePolicy(
    new PolicyStatement({
      sid: 'AlarmsPublishToEncryptedTopics',
      effect: Effect.ALLOW,
      principals: PUBLISHING_SERVICES.map((s) => new ServicePrincipal(s)),
      actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
      resources: ['*'], // in a key policy, "*" is this key
      conditions: { StringEquals: { 'aws:SourceAccount': stack.account }, ArnLike: { 'aws:SourceArn': alarmArns(scope) } },
    }),
  );
  return key;
}

export interface AlarmTopicProps {
  /** @default - none */
  readonly displayName?: string;
  /** The customer-managed key whose policy lets CloudWatch publish ({@link alarmTopicKey}). */
  readonly key: IKey;
}

/** Lets this account's CloudWatch alarms publish to a topic (its policy otherwise names no AWS service). */
export function allowAlarmsToPublish(topic: Topic): void {
  topic.addToResourcePolicy(
    new PolicyStatement({
      sid: 'AlarmsPublish',
      effect: Effect.ALLOW,
      principals: PUBLISHING_SERVICES.map((s) => new ServicePrincipal(s)),
      actions: ['sns:Publish'],
      resources: [topic.topicArn],
      conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(topic).account }, ArnLike: { 'aws:SourceArn': alarmArns(topic) } },
    }),
  );
}

/** A TLS-only topic under a key CloudWatch may use, whose policy lets this account's alarms publish. */
export class AlarmTopic extends Topic {
  private readonly key: IKey;

  constructor(scope: Construct, id: string, props: AlarmTopicProps) {
    super(scope, id, { displayName: props.displayName, enforceSSL: true, masterKey: props.key });
    this.key = props.key;
    allowAlarmsToPublish(this);
  }

  /**
   * sns:Publish on this topic, and on its key exactly what publishing to an encrypted
   * topic takes (kms:GenerateDataKey, kms:Decrypt), not CDK's kms:GenerateDataKey*
   * (which also names the key-pair variants).
   */
  override grantPublish(grantee: IGrantable): Grant {
    const grant = Grant.addToPrincipalOrResource({ grantee, actions: ['sns:Publish'], resourceArns: [this.topicArn], resource: this });
    this.key.grant(grantee, 'kms:Decrypt', 'kms:GenerateDataKey');
    return grant;
  }
}

/** Where finished restores and every alarm are announced (subscribe email, chat or a pager to it). */
export class Notifications extends Construct {
  readonly topic: Topic;
  /** The key of every topic an alarm publishes to. */
  readonly key: Key;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.key = alarmTopicKey(this, 'Key');
    this.topic = new AlarmTopic(this, 'Restores', { displayName: 'Lifeboat restores', key: this.key });
  }
}
