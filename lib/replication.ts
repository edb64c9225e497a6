import { Aws, Duration, Stack } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, Metric, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { AnyPrincipal, Effect, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { Bucket, ReplicationTimeValue, type IBucket, type ReplicationRule } from 'aws-cdk-lib/aws-s3';
import type { Topic } from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { replicaBucketName, type ReplicationConfig } from '#core/replication.ts';
import { acknowledgeNag, nagArn, objectsFinding } from './nag.ts';

/** The id of the one replication rule (the alarm's RuleId dimension). */
export const REPLICATION_RULE_ID = 'lifeboat-archives';

/**
 * What the replication role may do, by `Sid`, and why (read by the template tests). S3 user
 * guide, "Setting up permissions for live replication": the role reads the source's replication
 * configuration and lists it, reads each object version with its ACL and tags (and its retention
 * and legal hold under Object Lock), and replicates objects and tags into the destination.
 */
export const REPLICATION_STATEMENT_REASONS = {
  SourceBucket: 'S3 reads the source bucket’s replication configuration and lists it (s3:GetReplicationConfiguration, s3:ListBucket), on that bucket only',
  SourceObjects:
    'S3 reads each archive and manifest version to copy, with its ACL and tags (and retention and legal hold when the bucket has Object Lock): the archive prefix only, read-only',
  ReplicaObjects:
    'S3 writes the replicas and their tags into the replica bucket under the archive prefix (s3:ReplicateObject, s3:ReplicateTags), only if that bucket is owned by this account (s3:ResourceAccount: a predictable name could be taken by someone else); no s3:ReplicateDelete: a deletion in the primary never removes the DR copy',
  ReplicaKey: 'S3 encrypts the replicas with the replica key (kms:Encrypt, kms:GenerateDataKey), through S3 in the DR region only',
} as const;
export type ReplicationStatementSid = keyof typeof REPLICATION_STATEMENT_REASONS;

/**
 * The primary bucket policy's statement refusing SSE-KMS and DSSE-KMS uploads under the archive
 * prefix: S3 skips such objects silently (the rule has no SseKmsEncryptedObjects) or fails them
 * (the role has no key on the source), so the DR copy would miss them. Lifeboat's uploads use the
 * bucket's default encryption (SSE-S3) and send no such header.
 */
export const DENY_KMS_UPLOADS_SID = 'DenyKmsUploadsNotReplicated';
/** The `s3:x-amz-server-side-encryption` values of SSE-KMS and DSSE-KMS (S3 API, PutObject). */
export const KMS_SSE_VALUES = ['aws:kms', 'aws:kms:dsse'] as const;

/**
 * The replica bucket policy's statement denying s3:DeleteObject and s3:DeleteObjectVersion under the
 * archive prefix to every principal: no host role, operator or function deletes the DR copy. Break
 * glass: an administrator changes the bucket policy.
 */
export const REPLICA_DENY_DELETES_SID = 'DenyDeletesBreakGlassIsAnAdminChangingThisPolicy';

/** The replica bucket's name: the configured one, the existing one, else the deterministic default ({@link replicaBucketName}). */
export const replicaBucketNameOf = (replication: ReplicationConfig): string =>
  replication.existingBucketName ?? replication.bucketName ?? replicaBucketName(Aws.ACCOUNT_ID, replication.region);

export interface ArchiveReplicationProps {
  readonly replication: ReplicationConfig;
  /** The archive prefix: archives and manifests are under `<prefix>/`. */
  readonly prefix: string;
  /** The source bucket has Object Lock (the role reads each version's retention and legal hold). */
  readonly objectLock: boolean;
}

/**
 * The primary side of region loss: the replication role (written by hand with exactly what
 * replication needs) and the one rule `<prefix>/` → the replica bucket in the DR region. The
 * replica bucket is named, never referenced: no cross-stack or cross-region reference.
 * Create it before the bucket ({@link rules} and {@link role} are Bucket props), then call
 * {@link grantSource} and {@link alarm} with the bucket.
 */
export class ArchiveReplication extends Construct {
  readonly role: Role;
  readonly destination: IBucket;
  readonly rules: ReplicationRule[];
  private readonly props: ArchiveReplicationProps;

  constructor(scope: Construct, id: string, props: ArchiveReplicationProps) {
    super(scope, id);
    this.props = props;
    const { replication, prefix } = props;
    const stack = Stack.of(this);
    this.destination = Bucket.fromBucketAttributes(this, 'Replica', { bucketName: replicaBucketNameOf(replication), region: replication.region });
    this.role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('s3.amazonaws.com', { conditions: { StringEquals: { 'aws:SourceAccount': stack.account } } }),
      description: `Lifeboat: S3 replicates ${prefix}/ to the replica bucket in ${replication.region}`,
    });
    const key = replication.kmsKeyArn === undefined ? undefined : Key.fromKeyArn(this, 'ReplicaKey', replication.kmsKeyArn);
    this.rules = [
      {
        id: REPLICATION_RULE_ID,
        priority: 0,
        destination: this.destination,
        filter: { prefix: `${prefix}/` },
        // A delete marker in the primary (a host's own failed upload, a mistake, an attacker) stays there.
        deleteMarkerReplication: false,
        // Replication metrics always (OperationsFailedReplication feeds the alarm; they do not need RTC).
        metrics: ReplicationTimeValue.FIFTEEN_MINUTES,
        ...(replication.replicationTimeControl ? { replicationTimeControl: ReplicationTimeValue.FIFTEEN_MINUTES } : {}),
        ...(key ? { kmsKey: key, sseKmsEncryptedObjects: true } : {}),
      },
    ];
    const destinationObjects = this.destination.arnForObjects(`${prefix}/*`);
    this.role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'ReplicaObjects',
        actions: ['s3:ReplicateObject', 's3:ReplicateTags'],
        resources: [destinationObjects],
        // The replica bucket is named, not referenced: it must be this account's bucket, not one someone else created under that name.
        conditions: { StringEquals: { 's3:ResourceAccount': stack.account } },
      }),
    );
    if (replication.kmsKeyArn !== undefined) {
      this.role.addToPrincipalPolicy(
        new PolicyStatement({
          sid: 'ReplicaKey',
          actions: ['kms:Encrypt', 'kms:GenerateDataKey'],
          resources: [replication.kmsKeyArn],
          conditions: { StringEquals: { 'kms:ViaService': `s3.${replication.region}.amazonaws.com` } },
        }),
      );
    }
    acknowledgeNag(
      this.role,
      `Replicated keys are not known in advance: the wildcards are the archive prefix ${prefix}/ of the source and of the replica bucket only.`,
      { rule: 'IAM5', findings: [`Resource::${nagArn(stack, destinationObjects)}`] },
    );
  }

  /** The source-side statements, once the bucket exists (a separate policy: no cycle between the role and the bucket). */
  grantSource(source: IBucket): void {
    const { prefix, objectLock } = this.props;
    this.role.addToPrincipalPolicy(
      new PolicyStatement({ sid: 'SourceBucket', actions: ['s3:GetReplicationConfiguration', 's3:ListBucket'], resources: [source.bucketArn] }),
    );
    this.role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'SourceObjects',
        actions: [
          's3:GetObjectVersionForReplication',
          's3:GetObjectVersionAcl',
          's3:GetObjectVersionTagging',
          ...(objectLock ? ['s3:GetObjectRetention', 's3:GetObjectLegalHold'] : []),
        ],
        resources: [source.arnForObjects(`${prefix}/*`)],
      }),
    );
    // An SSE-KMS upload would not replicate (skipped without SseKmsEncryptedObjects, failed without the source key): refuse it.
    source.addToResourcePolicy(
      new PolicyStatement({
        sid: DENY_KMS_UPLOADS_SID,
        effect: Effect.DENY,
        principals: [new AnyPrincipal()],
        actions: ['s3:PutObject'],
        resources: [source.arnForObjects(`${prefix}/*`)],
        conditions: { StringEquals: { 's3:x-amz-server-side-encryption': [...KMS_SSE_VALUES] } },
      }),
    );
    acknowledgeNag(this.role, `Replicated keys are not known in advance: the wildcard is the archive prefix ${prefix}/ of the source bucket only.`, {
      rule: 'IAM5',
      findings: [objectsFinding(source, prefix)],
    });
  }

  /** Objects that failed to replicate (S3 replication metrics, on for the rule whether or not RTC is). */
  alarm(source: IBucket, topic: Topic): Alarm {
    const { replication, prefix } = this.props;
    const alarm = new Alarm(this, 'FailedAlarm', {
      alarmDescription:
        `Lifeboat: archives under ${prefix}/ failed to replicate to the DR region ${replication.region} (the DR copy is missing them: ` +
        'check the replication role, the replica bucket and its key; S3 does not retry a failed object by itself)',
      metric: new Metric({
        namespace: 'AWS/S3',
        metricName: 'OperationsFailedReplication',
        dimensionsMap: { SourceBucket: source.bucketName, DestinationBucket: this.destination.bucketName, RuleId: REPLICATION_RULE_ID },
        statistic: 'Sum',
        period: Duration.minutes(5),
      }),
      threshold: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    alarm.addAlarmAction(new SnsAction(topic));
    alarm.addOkAction(new SnsAction(topic));
    return alarm;
  }
}
