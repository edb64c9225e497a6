import { Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { StackRole } from '#core/replication.ts';
import { CONFIG_NAME, Lifeboat } from './lifeboat.ts';
import type { LifeboatConfig } from './lifeboat-config.ts';
import type { LifeboatProps } from './lifeboat-props.ts';

export { LifeboatConfig } from './lifeboat-config.ts';

export interface LifeboatStackProps extends StackProps {
  /** @default - defaults of {@link LifeboatConfig} */
  readonly config?: LifeboatConfig;
  /**
   * `replica`: this stack is the DR region's Lifeboat (config.replication.region): it serves the
   * replica bucket on its own, with freshness and (with replication.drillHost) drills, and no
   * scheduled backups. @default 'primary'
   */
  readonly role?: StackRole;
  /**
   * The DR stack only: the primary stack's region, whose ECR references (helperImage, allowedImages)
   * synth warns about. @default - every ECR reference outside the DR region
   */
  readonly primaryRegion?: string;
}

/**
 * The Lifeboat app's stack: a Stack holding one {@link Lifeboat}. The construct's id is `Default`,
 * which CDK leaves out of logical ids, so every resource and output keeps the id it had when the
 * stack defined them itself (deployed stacks update in place). Errors name the configuration
 * `lifeboat.<field>`, its cdk.json context key.
 */
export class LifeboatStack extends Stack {
  readonly lifeboat: Lifeboat;
  readonly runbooks: Lifeboat['runbooks'];
  readonly bucket: Lifeboat['bucket'];
  readonly tables: Lifeboat['tables'];
  readonly api: Lifeboat['api'];
  readonly catalog: Lifeboat['catalog'];
  readonly completion: Lifeboat['completion'];
  readonly notifications: Lifeboat['notifications'];
  readonly protection: Lifeboat['protection'];
  readonly slack?: Lifeboat['slack'];
  /** AWS Chatbot: alarms to the Slack channel (slack.chatbot). */
  readonly alarmsToChat?: Lifeboat['alarmsToChat'];
  readonly sweeper: Lifeboat['sweeper'];
  readonly helper: Lifeboat['helper'];
  readonly hostPolicies: Lifeboat['hostPolicies'];
  readonly operatorPolicies: Lifeboat['operatorPolicies'];
  readonly backups: Lifeboat['backups'];
  readonly failureAlarms: Lifeboat['failureAlarms'];
  readonly recovery: Lifeboat['recovery'];

  constructor(scope: Construct, id: string, props: LifeboatStackProps = {}) {
    super(scope, id, props);
    // The configuration is zod's input type (it may come from JSON): the construct checks it as it checks any props.
    const lifeboatProps = { ...(props.config ?? {}), role: props.role, primaryRegion: props.primaryRegion, [CONFIG_NAME]: 'lifeboat' } as LifeboatProps;
    const lifeboat = new Lifeboat(this, 'Default', lifeboatProps);
    this.lifeboat = lifeboat;
    this.runbooks = lifeboat.runbooks;
    this.bucket = lifeboat.bucket;
    this.tables = lifeboat.tables;
    this.api = lifeboat.api;
    this.catalog = lifeboat.catalog;
    this.completion = lifeboat.completion;
    this.notifications = lifeboat.notifications;
    this.protection = lifeboat.protection;
    this.slack = lifeboat.slack;
    this.alarmsToChat = lifeboat.alarmsToChat;
    this.sweeper = lifeboat.sweeper;
    this.helper = lifeboat.helper;
    this.hostPolicies = lifeboat.hostPolicies;
    this.operatorPolicies = lifeboat.operatorPolicies;
    this.backups = lifeboat.backups;
    this.failureAlarms = lifeboat.failureAlarms;
    this.recovery = lifeboat.recovery;
  }
}
