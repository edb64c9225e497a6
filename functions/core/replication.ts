import * as z from 'zod';
import { DrillHost } from './protection.ts';

/*
 * Region loss: the archive bucket replicates to a second region, where a second Lifeboat
 * stack from the same app serves the replica on its own (catalog, API, documents, drills,
 * freshness). This module is the contract both stacks, the CLI and the docs share.
 */

/** An AWS region name such as eu-central-1. */
export const REGION_PATTERN = /^[a-z]{2}(-[a-z]+)+-[1-9][0-9]?$/;
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
/** A KMS key ARN (not an alias): replication names the replica key by ARN. */
const KMS_KEY_ARN = /^arn:aws[a-z-]*:kms:([a-z]{2}(-[a-z]+)+-[1-9][0-9]?):[0-9]{12}:key\/[A-Za-z0-9-]{1,128}$/;

/** A Secrets Manager secret ARN; group 1 is its region. */
const SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:([a-z]{2}(-[a-z]+)+-[1-9][0-9]?):[0-9]{12}:secret:[A-Za-z0-9/_+=.@-]+$/;

/** `replication` in the Lifeboat configuration. */
export const ReplicationConfig = z
  .strictObject({
    /** The disaster-recovery region: the replica bucket and the second Lifeboat stack live there. */
    region: z.string().regex(REGION_PATTERN, { error: 'must be an AWS region such as "eu-west-1"' }),
    /**
     * Name of the replica bucket the DR stack creates. @default `lifeboat-replica-<account>-<region>`
     * ({@link replicaBucketName}), so the primary stack can name its destination without a
     * cross-region reference.
     */
    bucketName: z.string().regex(BUCKET_NAME, { error: 'must be an S3 bucket name' }).optional(),
    /**
     * Use a bucket you already have in the DR region as the replica (it must be versioned; Object
     * Lock is yours to set). The DR stack turns on its EventBridge notifications. @default - a new bucket
     */
    existingBucketName: z.string().regex(BUCKET_NAME, { error: 'must be an S3 bucket name' }).optional(),
    /**
     * A customer managed KMS key in the DR region that replicas are encrypted with (its key policy
     * must let the replication role use it). @default - SSE-S3, like the primary bucket
     */
    kmsKeyArn: z.string().regex(KMS_KEY_ARN, { error: 'must be a KMS key ARN such as arn:aws:kms:eu-west-1:123456789012:key/…' }).optional(),
    /**
     * S3 Replication Time Control: 99.99 % of objects replicated within 15 minutes, with
     * replication metrics and events (it costs extra per GB). @default false
     */
    replicationTimeControl: z.boolean().default(false),
    /**
     * Object Lock (compliance) retention in days for the replica bucket the DR stack creates.
     * Required when the primary bucket has Object Lock (S3 replicates locked objects only into a
     * bucket with Object Lock). @default the primary's objectLockDays, else none
     */
    objectLockDays: z.number().int().min(1).max(36500).optional(),
    /**
     * Restore drills in the DR region, against the replica: every protected volume's drill runs
     * there too, on its schedule, on this host (a host in the DR region, registered with SSM
     * there). The only proof the DR copy restores. @default - no drills in the DR region
     */
    drillHost: DrillHost.optional(),
    /**
     * A Secrets Manager secret in the DR region holding the DR Slack app's signing secret. The DR
     * stack never uses slack.signingSecretArn (a secret in the primary region is gone with it).
     * @default - the DR stack creates its own secret to fill in after deploy
     */
    slackSigningSecretArn: z
      .string()
      .regex(SECRET_ARN, { error: 'must be a Secrets Manager secret ARN such as arn:aws:secretsmanager:eu-west-1:123456789012:secret:…' })
      .optional(),
  })
  .superRefine((r, ctx) => {
    if (r.bucketName !== undefined && r.existingBucketName !== undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['existingBucketName'],
        message: 'give bucketName (a bucket the DR stack creates) or existingBucketName, not both',
      });
    if (r.objectLockDays !== undefined && r.existingBucketName !== undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['objectLockDays'],
        message: 'applies only to a replica bucket the DR stack creates (set Object Lock on the existing bucket itself)',
      });
    const keyRegion = r.kmsKeyArn === undefined ? undefined : KMS_KEY_ARN.exec(r.kmsKeyArn)?.[1];
    if (keyRegion !== undefined && keyRegion !== r.region)
      ctx.addIssue({ code: 'custom', path: ['kmsKeyArn'], message: `must be a key in the DR region ${r.region} (this one is in ${keyRegion})` });
    const secretRegion = r.slackSigningSecretArn === undefined ? undefined : SECRET_ARN.exec(r.slackSigningSecretArn)?.[1];
    if (secretRegion !== undefined && secretRegion !== r.region)
      ctx.addIssue({
        code: 'custom',
        path: ['slackSigningSecretArn'],
        message: `must be a secret in the DR region ${r.region} (this one is in ${secretRegion}: the DR Slack app must not depend on the primary region)`,
      });
  });
export type ReplicationConfig = z.infer<typeof ReplicationConfig>;

/** The replica bucket's default name: deterministic, so the primary names its destination without reading the DR stack. */
export const replicaBucketName = (account: string, region: string): string => `lifeboat-replica-${account}-${region}`;

/** Which copy a stack serves: stack output `Role`. */
export type StackRole = 'primary' | 'replica';

/**
 * Stack outputs the CLI reads from a `cdk deploy --all --outputs-file` file to pick a stack by
 * `--region`: both stacks output `ApiUrl`, `Region` (the stack's region) and `Role`.
 */
export const STACK_OUTPUTS = { apiUrl: 'ApiUrl', region: 'Region', role: 'Role' } as const;

/** The DR stack's id in the app: `cdk deploy --all` deploys `Lifeboat` and this. */
export const REPLICA_STACK_ID = 'LifeboatDr';
