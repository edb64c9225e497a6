import { Duration, Stack } from 'aws-cdk-lib';
import { EventField, Rule, RuleTargetInput } from 'aws-cdk-lib/aws-events';
import { SnsTopic } from 'aws-cdk-lib/aws-events-targets';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { Topic } from 'aws-cdk-lib/aws-sns';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { CfnAssociation } from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { backupConsistency, type BackupHost, type BackupSchedule, type ProtectionPolicy } from '#core/protection.ts';
import { acknowledgeNag } from './nag.ts';

/** The detail-type State Manager sends when an association's run on one instance changes state. */
export const INSTANCE_ASSOCIATION_EVENT = 'EC2 State Manager Instance Association State Change';

/** Instance association states that are not a failure (everything else alarms: better a false alarm than a silent miss). */
export const NOT_FAILED_STATES = ['Success', 'Pending', 'InProgress'] as const;

/**
 * Where State Manager keeps each scheduled run's full output, in the archive bucket: outside every
 * archive prefix (archivePrefix cannot be `lifeboat-output`), so the catalog never sees these keys.
 * Each association writes under `<BACKUP_OUTPUT_PREFIX>/<source>/<volume>/`.
 */
export const OUTPUT_ROOT = 'lifeboat-output';
export const BACKUP_OUTPUT_PREFIX = `${OUTPUT_ROOT}/backups`;

/** The key prefix of one source's scheduled-backup output (what its host policy may write). */
export const backupOutputPrefixOf = (source: string): string => `${BACKUP_OUTPUT_PREFIX}/${source}`;

export interface ScheduledBackupsProps {
  /** Protected volumes; those with `backup` get an association. */
  readonly policies: readonly ProtectionPolicy[];
  /** The backup document's name. */
  readonly documentName: string;
  readonly bucket: IBucket;
  readonly prefix: string;
  /** The helper image URI handed to the document. */
  readonly helperImage: string;
  /** Where a failed backup is announced. */
  readonly topic: Topic;
  /** The bucket's region (the documents' Region parameter, the output location's region). @default the stack's region */
  readonly bucketRegion?: string;
}

/** State Manager targets for a backup host: one instance, or the instances carrying a tag (which must mark one host). */
export const associationTargets = (host: BackupHost): CfnAssociation.TargetProperty[] =>
  'instanceId' in host ? [{ key: 'InstanceIds', values: [host.instanceId] }] : [{ key: `tag:${host.tag.key}`, values: [host.tag.value] }];

/** The association's name: `<stack>-backup-<source>-<volume>`, within State Manager's 128 characters of [A-Za-z0-9_.-]. */
export const associationNameFor = (stackName: string, source: string, volume: string): string =>
  `${stackName}-backup-${source}-${volume}`.replace(/[^A-Za-z0-9_.-]/g, '-').slice(0, 128);

/**
 * The backup document's parameters for one volume (every value a one-element list, as State
 * Manager takes them). No BackupId: each run labels its helper containers with its own.
 */
export function backupParameters(
  p: { readonly source: string; readonly volume: string; readonly backup: BackupSchedule },
  props: { readonly bucketName: string; readonly prefix: string; readonly helperImage: string; readonly region: string },
): Record<string, string[]> {
  return {
    Bucket: [props.bucketName],
    KeyPrefix: [props.prefix],
    Source: [p.source],
    VolumeName: [p.volume],
    ContainerName: [p.backup.container ?? ''],
    Consistency: [backupConsistency(p.backup)],
    HelperImage: [props.helperImage],
    Region: [props.region],
  };
}

/**
 * Scheduled backups: one State Manager association per protected volume with a `backup`
 * entry, running the backup document on its host with the stack's bucket and prefix, and one
 * EventBridge rule per association that announces a failed run on the notification topic
 * (naming the volume, the instance, the state and SSM's summary). The freshness alarms still
 * catch a backup that never ran at all (a host offline, an association deleted by hand).
 */
export class ScheduledBackups extends Construct {
  readonly associations: CfnAssociation[] = [];
  readonly failureRules: Rule[] = [];

  constructor(scope: Construct, id: string, props: ScheduledBackupsProps) {
    super(scope, id);
    const entries = props.policies.filter((p): p is ProtectionPolicy & { backup: BackupSchedule } => p.backup !== undefined);
    if (entries.length === 0) return;
    const stack = Stack.of(this);
    // EventBridge publishes with this role (sns:Publish on the topic and its key's data-key calls), so the
    // topic's and the key's resource policies need no statement for events.amazonaws.com.
    const publisher = new Role(this, 'NotifyRole', {
      assumedBy: new ServicePrincipal('events.amazonaws.com', { conditions: { StringEquals: { 'aws:SourceAccount': stack.account } } }),
      description: 'Lifeboat: EventBridge announces failed scheduled backups on the notification topic',
    });
    const dlq = new Queue(this, 'NotifyDlq', { encryption: QueueEncryption.SQS_MANAGED, enforceSSL: true, retentionPeriod: Duration.days(14) });
    acknowledgeNag(dlq, 'This queue is the dead-letter queue of the failed-backup notifications.', { rule: 'SQS3' });
    const region = props.bucketRegion ?? stack.region;
    entries.forEach((p, i) => {
      const name = `${p.source}/${p.volume}`;
      const association = new CfnAssociation(this, `Backup${i.toString()}`, {
        name: props.documentName,
        associationName: associationNameFor(stack.stackName, p.source, p.volume),
        scheduleExpression: p.backup.schedule,
        targets: associationTargets(p.backup.host),
        parameters: backupParameters(p, { bucketName: props.bucket.bucketName, prefix: props.prefix, helperImage: props.helperImage, region }),
        // One instance id is the only target (tags are refused by the schema); this only keeps it so if State Manager ever widens it.
        maxConcurrency: '1',
        // A failed run's full output survives in the bucket (the failure alarm names the association and instance).
        outputLocation: {
          s3Location: {
            outputS3BucketName: props.bucket.bucketName,
            outputS3KeyPrefix: `${backupOutputPrefixOf(p.source)}/${p.volume}`,
            outputS3Region: region,
          },
        },
      });
      this.associations.push(association);
      const at = (path: string): string => EventField.fromPath(path);
      this.failureRules.push(
        new Rule(this, `BackupFailed${i.toString()}`, {
          description: `Lifeboat: the scheduled backup of ${name} did not succeed`,
          eventPattern: {
            source: ['aws.ssm'],
            detailType: [INSTANCE_ASSOCIATION_EVENT],
            detail: { 'association-id': [association.attrAssociationId], status: [{ 'anything-but': [...NOT_FAILED_STATES] }] },
          },
          targets: [
            new SnsTopic(props.topic, {
              role: publisher,
              deadLetterQueue: dlq,
              retryAttempts: 8,
              maxEventAge: Duration.hours(6),
              message: RuleTargetInput.fromText(
                `Lifeboat: the scheduled backup of ${name} ended ${at('$.detail.status')} on ${at('$.detail.instance-id')} at ${at('$.time')}. ` +
                  `SSM says: ${at('$.detail.detailed-status')} ${at('$.detail.error-code')} ${at('$.detail.execution-summary')} ` +
                  `(association ${at('$.detail.association-id')}, document ${at('$.detail.document-name')}). Until a backup succeeds, its archives age toward the RPO.`,
              ),
            }),
          ],
        }),
      );
    });
  }
}
