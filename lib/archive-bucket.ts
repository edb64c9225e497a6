import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import type { IRole } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { BlockPublicAccess, Bucket, BucketEncryption, ObjectLockRetention, type IBucket, type ReplicationRule } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

export interface ArchiveBucketProps {
  /**
   * Use an existing bucket by name instead of creating one. The stack turns on its
   * EventBridge notifications (the catalog follows its events); the bucket's other
   * notification settings are kept.
   * @default - a new bucket
   */
  readonly existingBucketName?: string;
  /**
   * The existing bucket's region, when it is not the stack's: `bucket.env.region`, which the
   * restore API's ARCHIVE_REGION and the backup documents' Region parameter follow.
   * @default - the stack's region
   */
  readonly existingBucketRegion?: string;
  /**
   * Object Lock retention in days (compliance mode): no one, including a
   * compromised operator, can delete an archive version inside it. Only for a new bucket.
   * @default - no Object Lock
   */
  readonly objectLockDays?: number;
  /** The name of a new bucket (the replica bucket's deterministic name). @default - generated */
  readonly bucketName?: string;
  /**
   * A customer managed KMS key (ARN) the bucket's objects are encrypted with (a replica bucket:
   * its default encryption for a new one; for both, readers get kms:Decrypt through S3).
   * @default - SSE-S3
   */
  readonly encryptionKeyArn?: string;
  /** S3 Replication of a new bucket: its rules and the role S3 replicates with. @default - none */
  readonly replication?: { readonly rules: ReplicationRule[]; readonly role: IRole };
}

/** Where the archives live: private, TLS-only, versioned, encrypted, retained. */
export class ArchiveBucket extends Construct {
  readonly bucket: IBucket;

  constructor(scope: Construct, id: string, props: ArchiveBucketProps = {}) {
    super(scope, id);
    if (props.existingBucketName) {
      if (props.objectLockDays !== undefined) {
        // Object Lock is set when a bucket is created; the stack cannot turn it on for a bucket it imports.
        throw new Error('objectLockDays applies only to a bucket the stack creates; set Object Lock on the existing bucket itself');
      }
      if (props.replication) throw new Error('replication applies only to a bucket the stack creates');
      this.bucket = Bucket.fromBucketAttributes(this, 'Imported', {
        bucketName: props.existingBucketName,
        region: props.existingBucketRegion,
        ...(props.encryptionKeyArn === undefined ? {} : { encryptionKey: Key.fromKeyArn(this, 'Key', props.encryptionKeyArn) }),
      });
      // CDK's notifications custom resource adds EventBridge delivery and keeps what else the bucket notifies.
      this.bucket.enableEventBridgeNotification();
      return;
    }
    if (props.existingBucketRegion !== undefined) throw new Error('existingBucketRegion applies only with existingBucketName');
    const accessLogs = new Bucket(this, 'AccessLogs', {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      versioned: true,
      removalPolicy: RemovalPolicy.RETAIN,
      lifecycleRules: [{ expiration: Duration.days(365) }],
    });
    Validations.of(accessLogs).acknowledge({ id: 'AwsSolutions-S1', reason: 'This is the access-log bucket itself; logging it into itself would loop.' });
    this.bucket = new Bucket(this, 'Archives', {
      bucketName: props.bucketName,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      ...(props.encryptionKeyArn === undefined
        ? { encryption: BucketEncryption.S3_MANAGED }
        : { encryption: BucketEncryption.KMS, encryptionKey: Key.fromKeyArn(this, 'Key', props.encryptionKeyArn) }),
      enforceSSL: true,
      versioned: true,
      eventBridgeEnabled: true,
      removalPolicy: RemovalPolicy.RETAIN,
      serverAccessLogsBucket: accessLogs,
      serverAccessLogsPrefix: 'archives/',
      ...(props.objectLockDays
        ? { objectLockEnabled: true, objectLockDefaultRetention: ObjectLockRetention.compliance(Duration.days(props.objectLockDays)) }
        : {}),
      ...(props.replication ? { replicationRules: props.replication.rules, replicationRole: props.replication.role } : {}),
    });
  }
}
