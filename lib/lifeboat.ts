import { Annotations, CfnOutput, Duration, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import { AnyPrincipal, Effect, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import * as z from 'zod';
import { FailureAlarms } from './alarms.ts';
import { ArchiveBucket } from './archive-bucket.ts';
import { ScheduledBackups } from './backups.ts';
import { HelperImage, ecrRepositoryOf } from './helper-image.ts';
import { HostPolicies } from './host-policies.ts';
import { OperatorPolicies } from './operator-policies.ts';
import { Catalog } from './catalog.ts';
import { CatalogTables } from './catalog-table.ts';
import { Completion } from './completion.ts';
import { Notifications } from './notifications.ts';
import { Protection } from './protection.ts';
import { Recovery } from './recovery.ts';
import { SLASH_COMMANDS, Slack, type SlackConfig, slackAppManifest } from './slack.ts';
import { AlarmsToChat } from './chatbot.ts';
import { restorePolicyFor } from '#core/protection.ts';
import { RestoreApi } from './restore-api.ts';
import { RunbookDocuments } from './runbook-documents.ts';
import { DOCUMENTS } from '#core/paths.ts';
import { Sweeper } from './sweeper.ts';
import { ArchiveReplication, REPLICA_DENY_DELETES_SID, replicaBucketNameOf } from './replication.ts';
import { STACK_OUTPUTS, type StackRole } from '#core/replication.ts';
import { LAMBDA_BASIC_EXECUTION, acknowledgeNag } from './nag.ts';
import { LifeboatConfig } from './lifeboat-config.ts';
import type { LifeboatProps } from './lifeboat-props.ts';

/**
 * How {@link LifeboatStack} names the configuration in errors (`lifeboat.<field>`: its cdk.json
 * context key). Not part of {@link LifeboatProps}: a consumer's errors name the prop itself.
 */
export const CONFIG_NAME: unique symbol = Symbol('lifeboat configuration name');

/**
 * Lifeboat in any stack: the archive bucket and catalog, the restore API, completion handling, drills
 * and freshness alarms, the SSM documents hosts run, and (with `slack`) the Slack routes. Its
 * props are checked at synth; an invalid one fails synth naming the prop and what it allows.
 *
 * One per stack: it uses the stack's region and CDK's stack-wide singletons (bucket notifications),
 * and its outputs (ApiUrl, ArchiveBucketName, …) are the stack's outputs.
 */
export class Lifeboat extends Construct {
  readonly runbooks: RunbookDocuments;
  readonly bucket: ArchiveBucket;
  readonly tables: CatalogTables;
  readonly api: RestoreApi;
  readonly catalog: Catalog;
  readonly completion: Completion;
  readonly notifications: Notifications;
  readonly protection: Protection;
  readonly slack?: Slack;
  /** AWS Chatbot: alarms to the Slack channel (slack.chatbot). */
  readonly alarmsToChat?: AlarmsToChat;
  readonly sweeper: Sweeper;
  readonly helper: HelperImage;
  readonly hostPolicies: HostPolicies;
  readonly operatorPolicies: OperatorPolicies;
  readonly backups: ScheduledBackups;
  readonly failureAlarms: FailureAlarms;
  readonly recovery: Recovery;

  constructor(scope: Construct, id: string, props: LifeboatProps = {}) {
    super(scope, id);
    const stack = Stack.of(this);
    // CDK's stack-wide singletons this construct adds (the bucket-notifications handler) are Lifeboat's too.
    const before = new Set(stack.node.children);
    const { role: givenRole, primaryRegion, ...rest } = props;
    const configName = (props as { readonly [CONFIG_NAME]?: string })[CONFIG_NAME];
    // Spreading copies the symbol too: the schema sees string keys only.
    const settings = Object.fromEntries(Object.entries(rest));
    // `lifeboat.protect.0.rpoMinutes` in the app (its context key), `protect.0.rpoMinutes` for a consumer's props.
    const field = (path: readonly PropertyKey[]): string => [...(configName === undefined ? [] : [configName]), ...path.map(String)].join('.');
    const invalid = configName === undefined ? `invalid Lifeboat props (${this.node.path})` : 'invalid lifeboat configuration';
    const parsed = LifeboatConfig.safeParse(settings);
    if (!parsed.success) {
      // Fail synth with every field that is wrong and what it allows.
      throw new Error(`${invalid}: ${parsed.error.issues.map((i) => [field(i.path), i.message].filter((part) => part !== '').join(': ')).join('; ')}`);
    }
    // The helper image first: everything below hands hosts its URI (pinned by digest) as config.helperImage.
    this.helper = new HelperImage(this, 'Helper', { override: parsed.data.helperImage, platform: parsed.data.helperPlatform });
    const replication = parsed.data.replication;
    const fail = (path: string, message: string): never => {
      throw new Error(`${invalid}: ${field([path])}: ${message}`);
    };
    // Not in the schema (the app's configuration has no role): checked here for JavaScript consumers.
    const roleGiven: unknown = givenRole;
    if (roleGiven !== undefined && roleGiven !== 'primary' && roleGiven !== 'replica')
      fail('role', `must be "primary" or "replica", got ${JSON.stringify(roleGiven)}`);
    const role: StackRole = givenRole ?? 'primary';
    const regionKnown = !Token.isUnresolved(stack.region);
    if (role === 'replica') {
      if (replication === undefined) fail('replication', 'is required for the DR stack (it serves the replica bucket in replication.region)');
      else if (regionKnown && stack.region !== replication.region)
        fail('replication.region', `is ${replication.region}, but the DR stack is deployed to ${stack.region}: deploy it to ${replication.region}`);
    } else if (replication !== undefined && regionKnown && replication.region === stack.region) {
      fail('replication.region', `must be another region than the primary stack’s (${stack.region}): the replica must survive the loss of this region`);
    }
    if (role === 'primary' && replication?.existingBucketName !== undefined && parsed.data.objectLockDays !== undefined) {
      Annotations.of(this).addWarningV2(
        'lifeboat:replicaObjectLock',
        `The archive bucket has Object Lock (objectLockDays), so S3 replicates its objects only into a bucket with Object Lock: turn Object Lock on for replication.existingBucketName ${replication.existingBucketName} yourself, or replication fails.`,
      );
    }
    // The DR stack: the replica bucket is its archive bucket; its drills run on replication.drillHost; no scheduled backups.
    const replica = role === 'replica' ? replication : undefined;
    if (replica) this.warnPrimaryRegionImages(parsed.data.helperImage, parsed.data.allowedImages, primaryRegion);
    const base = { ...parsed.data, helperImage: this.helper.imageUri };
    const config = replica
      ? {
          ...base,
          // The DR Slack app never reads the primary's secret (in the primary region, gone with it): its own, or a new one.
          slack: base.slack && {
            ...withoutSigningSecret(base.slack),
            ...(replica.slackSigningSecretArn ? { signingSecretArn: replica.slackSigningSecretArn } : {}),
          },
          existingBucketName: replica.existingBucketName,
          existingBucketRegion: undefined,
          objectLockDays: replica.existingBucketName === undefined ? (replica.objectLockDays ?? base.objectLockDays) : undefined,
          protect: replica.drillHost === undefined ? base.protect : base.protect.map((p) => ({ ...p, drillHost: replica.drillHost ?? p.drillHost })),
          recoveryDrills: [],
          // Launch template ids are regional: the primary's do not exist in the DR region.
          recoveryLaunchTemplates: [],
        }
      : base;
    const restorePolicy = (() => {
      try {
        return restorePolicyFor(config.allowedImages, config.protect);
      } catch (e) {
        // The policy's own schema names what is wrong (an allowlist entry's form).
        throw new Error(
          `${invalid}: ${field(['allowedImages'])}: ${e instanceof z.ZodError ? e.issues.map((i) => `[${i.path.slice(1).join('.')}] ${i.message}`).join('; ') : String(e)}`,
          { cause: e },
        );
      }
    })();
    this.runbooks = new RunbookDocuments(this, 'Runbooks');
    const restoreDocumentName = this.runbooks.documents['restore-volume'].ref;
    const cancelDocumentName = this.runbooks.documents['cancel-restore'].ref;
    // The primary replicates <archivePrefix>/ to the replica bucket, named (never referenced) in the DR region.
    const archiveReplication =
      role === 'primary' && replication !== undefined
        ? new ArchiveReplication(this, 'Replication', { replication, prefix: config.archivePrefix, objectLock: config.objectLockDays !== undefined })
        : undefined;
    this.bucket = new ArchiveBucket(this, 'Archives', {
      existingBucketName: config.existingBucketName,
      existingBucketRegion: config.existingBucketRegion,
      objectLockDays: config.objectLockDays,
      ...(replica
        ? { bucketName: replica.existingBucketName === undefined ? replicaBucketNameOf(replica) : undefined, encryptionKeyArn: replica.kmsKeyArn }
        : {}),
      ...(archiveReplication ? { replication: { rules: archiveReplication.rules, role: archiveReplication.role } } : {}),
    });
    if (replica) this.denyReplicaDeletes(config.archivePrefix, replica.existingBucketName);
    if (config.existingBucketRegion !== undefined && config.existingBucketRegion !== stack.region) {
      Annotations.of(this).addWarningV2(
        'lifeboat:bucketRegion',
        `The archive bucket is in ${config.existingBucketRegion}: S3 sends its events to EventBridge in that region only, so the catalog does not see new archives until they are forwarded to this stack's region or ReconcileFunctionName runs.`,
      );
    }
    this.tables = new CatalogTables(this, 'Tables');
    this.notifications = new Notifications(this, 'Notifications');
    if (archiveReplication) {
      archiveReplication.grantSource(this.bucket.bucket);
      archiveReplication.alarm(this.bucket.bucket, this.notifications.topic);
    }
    const outputLogGroup = new LogGroup(this, 'CommandOutput', { retention: RetentionDays.ONE_YEAR, removalPolicy: RemovalPolicy.RETAIN });
    this.catalog = new Catalog(this, 'Catalog', { bucket: this.bucket.bucket, table: this.tables.catalog, prefix: config.archivePrefix });
    // Before the surfaces and the completion path: they start executions and answer its task tokens.
    this.recovery = new Recovery(this, 'Recovery', {
      table: this.tables.catalog,
      bucket: this.bucket.bucket,
      topic: this.notifications.topic,
      restoreDocumentName,
      outputLogGroup,
      helperImage: config.helperImage,
      instanceTag: config.instanceTag,
      prefix: config.archivePrefix,
      restorePolicy,
      protect: config.protect,
      recoveryDrills: config.recoveryDrills,
      launchTemplates: config.recoveryLaunchTemplates,
    });
    const recoveryStateMachine = this.recovery.stateMachine;
    this.api = new RestoreApi(this, 'RestoreApi', {
      bucket: this.bucket.bucket,
      table: this.tables.catalog,
      idempotencyTable: this.tables.idempotency,
      restoreDocumentName,
      cancelDocumentName,
      backupDocumentName: this.runbooks.documents['backup-volume'].ref,
      outputLogGroup,
      helperImage: config.helperImage,
      instanceTag: config.instanceTag,
      prefix: config.archivePrefix,
      restorePolicy,
      recoveryStateMachine,
      protect: config.protect,
    });
    this.completion = new Completion(this, 'Completion', {
      table: this.tables.catalog,
      topic: this.notifications.topic,
      restoreDocumentName,
      outputLogGroup,
      recoveryStateMachine,
    });
    this.protection = new Protection(this, 'Protection', {
      policies: config.protect,
      bucket: this.bucket.bucket,
      table: this.tables.catalog,
      topic: this.notifications.topic,
      restoreDocumentName,
      outputLogGroup,
      helperImage: config.helperImage,
      instanceTag: config.instanceTag,
      prefix: config.archivePrefix,
      freshnessSchedule: config.freshnessSchedule,
      allowedImages: restorePolicy.allowedImages,
      // The DR region drills only on its own host (replication.drillHost): the primary's drill hosts are in the primary region.
      drills: replica === undefined || replica.drillHost !== undefined,
      replicaRegion: replica?.region,
    });
    if (config.slack) {
      this.slack = new Slack(this, 'Slack', {
        config: config.slack,
        api: this.api.api,
        bucket: this.bucket.bucket,
        table: this.tables.catalog,
        restoreDocumentName,
        cancelDocumentName,
        outputLogGroup,
        helperImage: config.helperImage,
        instanceTag: config.instanceTag,
        prefix: config.archivePrefix,
        restorePolicy,
        recoveryStateMachine,
        protect: config.protect,
      });
      if (config.slack.chatbot) this.alarmsToChat = new AlarmsToChat(this, 'AlarmsToChat', { config: config.slack.chatbot, topic: this.notifications.topic });
    }
    this.sweeper = new Sweeper(this, 'Sweeper', {
      table: this.tables.catalog,
      topic: this.notifications.topic,
      restoreDocumentName,
      outputLogGroup,
      recoveryStateMachine,
      every: Duration.minutes(config.sweeper.everyMinutes),
      staleAfter: Duration.minutes(config.sweeper.staleAfterMinutes),
    });
    this.hostPolicies = new HostPolicies(this, 'HostPolicies', {
      bucket: this.bucket.bucket,
      prefix: config.archivePrefix,
      sources: [...config.protect.map((p) => p.source), ...config.backupSources],
      outputLogGroup,
      helperRepositoryArn: this.helper.repositoryArn,
      allowedImages: config.allowedImages,
      scheduledSources: replica ? [] : config.protect.filter((p) => p.backup !== undefined).map((p) => p.source),
      replica: replica !== undefined,
    });
    this.operatorPolicies = new OperatorPolicies(this, 'OperatorPolicies', { api: this.api.api });
    this.backups = new ScheduledBackups(this, 'Backups', {
      // No State Manager associations in the DR stack: they would double every host's backups.
      policies: replica ? [] : config.protect,
      documentName: this.runbooks.documents['backup-volume'].ref,
      bucket: this.bucket.bucket,
      prefix: config.archivePrefix,
      helperImage: config.helperImage,
      topic: this.notifications.topic,
      bucketRegion: this.bucket.bucket.env.region,
    });
    // eventBridgeEnabled adds CDK's bucket-notifications custom resource.
    for (const child of stack.node.children) {
      if (child.node.id.startsWith('BucketNotificationsHandler')) {
        acknowledgeNag(
          child,
          "CDK's bucket-notifications handler runs once per deployment to turn on the bucket's EventBridge notifications; its AWSLambdaBasicExecutionRole " +
            'grants logs:CreateLogGroup, logs:CreateLogStream and logs:PutLogEvents (CDK creates its role; it cannot be narrowed from here).',
          { rule: 'IAM4', findings: [LAMBDA_BASIC_EXECUTION] },
        );
      }
    }
    // Last: it walks everything above (every function, dead-letter queue and alarm topic).
    const within = [this, ...stack.node.children.filter((c) => !before.has(c))];
    this.failureAlarms = new FailureAlarms(this, 'FailureAlarms', { topic: this.notifications.topic, key: this.notifications.key, within });
    new CfnOutput(this, STACK_OUTPUTS.apiUrl, { description: 'The restore API (SigV4): lifeboat --api <ApiUrl>', value: this.api.api.url });
    new CfnOutput(this, STACK_OUTPUTS.region, { description: 'The region this Lifeboat serves (lifeboat --region picks a stack by it)', value: stack.region });
    new CfnOutput(this, STACK_OUTPUTS.role, {
      description: 'primary: the archive bucket hosts back up to; replica: the DR region’s copy, served on its own',
      value: role,
    });
    if (archiveReplication) {
      new CfnOutput(this, 'ReplicaBucketName', {
        description: `The replica bucket in ${archiveReplication.destination.env.region} that ${config.archivePrefix}/ replicates to (the DR stack’s ArchiveBucketName)`,
        value: archiveReplication.destination.bucketName,
      });
    }
    new CfnOutput(this, 'ArchiveBucketName', {
      description: 'Where archives are kept, under <archivePrefix>/<source>/<volume>/',
      value: this.bucket.bucket.bucketName,
    });
    new CfnOutput(this, 'NotificationTopicArn', {
      description: 'Every alarm and failed backup is announced here: subscribe people or a pager',
      value: this.notifications.topic.topicArn,
    });
    new CfnOutput(this, 'RecoveryStateMachineArn', {
      description: 'The whole-host recovery state machine (executions are named after their recovery ids)',
      value: this.recovery.stateMachine.stateMachineArn,
    });
    new CfnOutput(this, 'HelperImageUri', {
      description: 'The helper image the documents run (pinned by digest unless helperImage is set)',
      value: config.helperImage,
    });
    for (const name of DOCUMENTS) {
      new CfnOutput(this, `${pascal(name)}DocumentName`, { description: `The ${name} SSM document`, value: this.runbooks.documents[name].ref });
    }
    new CfnOutput(this, 'ReconcileFunctionName', {
      description: 'Invoke once after deploying to catalog archives that predate Lifeboat (and to repair the catalog)',
      value: this.catalog.reconcile.functionName,
    });
    new CfnOutput(this, 'CommandOutputLogGroupName', {
      description: "The documents' full command output (hosts write it: see HostPolicy<source>)",
      value: outputLogGroup.logGroupName,
    });
    if (this.slack) {
      new CfnOutput(this, 'SlackCommandsUrl', { description: "The Slack app's slash command Request URL", value: `${this.api.api.url}slack/commands` });
      new CfnOutput(this, 'SlackInteractionsUrl', { description: "The Slack app's Interactivity Request URL", value: `${this.api.api.url}slack/interactions` });
      new CfnOutput(this, 'SlackSigningSecretArn', {
        description: "Paste the Slack app's signing secret into this secret",
        value: this.slack.secret.secretArn,
      });
      new CfnOutput(this, 'SlackAppManifest', {
        description: `Create the Slack app from this manifest (${SLASH_COMMANDS[role]}): npm run slack-manifest prints it`,
        value: stack.toJsonString(slackAppManifest(this.api.api.url, role)),
      });
    }
  }

  /**
   * The replica bucket refuses deletes under the archive prefix to everyone (host roles are global:
   * one holding both stacks' policies could put delete markers on the DR copy). An imported bucket's
   * policy is not the stack's to set: synth warns instead.
   */
  private denyReplicaDeletes(prefix: string, existingBucketName: string | undefined): void {
    const statement = new PolicyStatement({
      sid: REPLICA_DENY_DELETES_SID,
      effect: Effect.DENY,
      principals: [new AnyPrincipal()],
      actions: ['s3:DeleteObject', 's3:DeleteObjectVersion'],
      resources: [this.bucket.bucket.arnForObjects(`${prefix}/*`)],
    });
    if (existingBucketName === undefined) {
      this.bucket.bucket.addToResourcePolicy(statement);
      return;
    }
    Annotations.of(this).addWarningV2(
      'lifeboat:replicaDeletes',
      `The stack cannot set the policy of replication.existingBucketName ${existingBucketName}: add a bucket policy statement denying s3:DeleteObject and s3:DeleteObjectVersion on arn:aws:s3:::${existingBucketName}/${prefix}/* to every principal ("Principal": "*") yourself, or a host role can delete the DR copy (break glass: an administrator removes that statement).`,
    );
  }

  /** ECR images in the primary region cannot be pulled when it is lost: say which, and what to do. */
  private warnPrimaryRegionImages(helperImage: string | undefined, allowedImages: readonly string[], primaryRegion: string | undefined): void {
    const stack = Stack.of(this);
    const known = primaryRegion !== undefined && !Token.isUnresolved(primaryRegion);
    const lost = (image: string): string | undefined => {
      const region = ecrRepositoryOf(image.endsWith('/') ? `${image}x` : image)?.region;
      return region !== undefined && region !== stack.region && (!known || region === primaryRegion) ? region : undefined;
    };
    const where = known ? `the primary region ${primaryRegion}` : 'another region than the DR region';
    if (helperImage !== undefined && lost(helperImage)) {
      Annotations.of(this).addWarningV2(
        'lifeboat:drHelperImage',
        `helperImage ${helperImage} is in ECR in ${where}: the DR stack cannot pull it when that region is lost. Leave helperImage unset (each stack builds and publishes its own in its region), or replicate the repository to ${stack.region} (ECR replication) and point the DR region at that copy.`,
      );
    }
    const images = allowedImages.filter((i) => lost(i) !== undefined);
    if (images.length > 0) {
      Annotations.of(this).addWarningV2(
        'lifeboat:drAllowedImages',
        `allowedImages ${images.join(', ')} ${images.length === 1 ? 'is' : 'are'} in ECR in ${where}: restores in the DR region cannot pull ${images.length === 1 ? 'it' : 'them'} when that region is lost. Replicate those repositories to ${stack.region} (ECR replication) and list the DR copies in allowedImages too.`,
      );
    }
  }
}

/** Slack settings without the primary's signing secret (the DR stack's Slack app has its own). */
function withoutSigningSecret(slack: SlackConfig): SlackConfig {
  const rest = { ...slack };
  delete rest.signingSecretArn;
  return rest;
}

/** `restore-volume` → `RestoreVolume` (output keys). */
const pascal = (name: string): string => name.replace(/(^|-)([a-z])/g, (_m, _d, c: string) => c.toUpperCase());
