import { Duration } from 'aws-cdk-lib';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import type { CatalogEnv } from '../functions/catalog/env.ts';
import { ruleToFunction } from './event-target.ts';
import { LifeboatFunction } from './lifeboat-function.ts';
import { acknowledgeNag, objectsFinding } from './nag.ts';

export interface CatalogProps {
  readonly bucket: IBucket;
  readonly table: TableV2;
  /** @default 'archives' */
  readonly prefix?: string;
}

/** Keeps the catalog in step with the bucket: S3 events -> catalog function; a reconcile entry point. */
export class Catalog extends Construct {
  readonly function: LifeboatFunction<CatalogEnv>;
  readonly reconcile: LifeboatFunction<CatalogEnv>;

  constructor(scope: Construct, id: string, props: CatalogProps) {
    super(scope, id);
    const prefix = props.prefix ?? 'archives';
    const environment: CatalogEnv = { TABLE_NAME: props.table.tableName, BUCKET_NAME: props.bucket.bucketName, ARCHIVE_PREFIX: prefix };
    this.function = new LifeboatFunction(this, 'Function', { entry: 'catalog/index.ts', environment });
    this.reconcile = new LifeboatFunction(this, 'Reconcile', { entry: 'catalog/index.ts', handler: 'reconcile', environment, timeout: Duration.minutes(15) });
    for (const fn of [this.function, this.reconcile]) {
      props.table.grantReadWriteData(fn);
      readArchives(fn, props.bucket, prefix);
    }
    ruleToFunction(this, 'ObjectEvents', {
      description: 'Lifeboat: catalog archives as they are created and deleted',
      eventPattern: {
        source: ['aws.s3'],
        detailType: ['Object Created', 'Object Deleted'],
        detail: { bucket: { name: [props.bucket.bucketName] }, object: { key: [{ prefix: `${prefix}/` }] } },
      },
      target: this.function,
    });
  }
}

/**
 * s3:GetObject on the archive prefix and ListBucket limited to it; nothing else of the bucket.
 * A bucket under a customer managed key (a replica bucket with kmsKeyArn) adds kms:Decrypt on
 * that key, through S3 only (presigned downloads are signed with this role).
 */
export function readArchives(fn: LifeboatFunction<Record<string, string>>, bucket: IBucket, prefix: string): void {
  acknowledgeNag(fn, `Reads are limited to the archive prefix ${prefix}/ (keys are not known in advance).`, {
    rule: 'IAM5',
    findings: [objectsFinding(bucket, prefix)],
  });
  fn.addToRolePolicy(new PolicyStatement({ actions: ['s3:GetObject'], resources: [bucket.arnForObjects(`${prefix}/*`)] }));
  fn.addToRolePolicy(
    new PolicyStatement({ actions: ['s3:ListBucket'], resources: [bucket.bucketArn], conditions: { StringLike: { 's3:prefix': [`${prefix}/*`] } } }),
  );
  if (bucket.encryptionKey) {
    fn.addToRolePolicy(
      new PolicyStatement({
        actions: ['kms:Decrypt'],
        resources: [bucket.encryptionKey.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': `s3.${bucket.env.region}.amazonaws.com` } },
      }),
    );
  }
}
