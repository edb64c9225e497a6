import { ArnFormat, CfnOutput, Stack } from 'aws-cdk-lib';
import { ManagedPolicy, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { ILogGroup } from 'aws-cdk-lib/aws-logs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { backupOutputPrefixOf } from './backups.ts';
import { ecrRepositoryOf } from './helper-image.ts';
import { acknowledgeNag, nagArn, objectsFinding } from './nag.ts';

/**
 * What a backed-up host's upload needs on its own prefix and nothing else: PutObject
 * (also authorizes the multipart Create/UploadPart/Complete calls of a large upload),
 * AbortMultipartUpload (an interrupted upload), DeleteObject (the backup removes its
 * own incomplete archive; the bucket is versioned, so this only adds a delete marker:
 * no s3:DeleteObjectVersion, no read, no listing).
 */
export const ARCHIVE_WRITER_ACTIONS = ['s3:PutObject', 's3:AbortMultipartUpload', 's3:DeleteObject'] as const;

/**
 * The same in the DR stack's replica bucket, without s3:DeleteObject: host roles are global, so a
 * role holding both stacks' policies could otherwise put delete markers on the DR copy (which the
 * DR catalog then marks deleted). The backup's removal of its own failed upload fails there, softly
 * (it reports that it could not remove the incomplete upload).
 */
export const REPLICA_ARCHIVE_WRITER_ACTIONS = ['s3:PutObject', 's3:AbortMultipartUpload'] as const;

/** What pulling one image from ECR takes once logged in (the repository's layers and manifest). */
export const ECR_PULL_ACTIONS = ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer', 'ecr:BatchCheckLayerAvailability'] as const;

/** Every statement a host policy may hold, by `Sid`, with the reason it is there (read by the template tests). */
export const HOST_STATEMENT_REASONS = {
  WriteOwnArchives:
    "the backup document uploads the archive and its manifest under <prefix>/<source>/ (PutObject; AbortMultipartUpload and DeleteObject for its own failed upload, a delete marker in the versioned bucket); nothing outside this source's prefix, no read, no listing",
  WriteOwnReplicaArchives:
    "in a failover, the backup document uploads the archive and its manifest under <prefix>/<source>/ of the DR region's replica bucket (PutObject; AbortMultipartUpload for its own interrupted upload); no DeleteObject (the DR copy is never deleted by a host: its cleanup of a failed upload fails softly there, and the bucket policy denies deletes anyway), nothing outside this source's prefix, no read, no listing",
  CommandOutputStreams:
    "SSM Agent writes a command's full output to the stack's command-output log group (Run Command's CloudWatchOutputConfig): it creates a stream per command, looks it up and puts events, in that log group only",
  CommandOutputFindGroup:
    'SSM Agent checks that the command-output log group exists before writing (DescribeLogGroups is a list call: it is authorized on the log-group:* of this account and region and returns names and settings only, never log events)',
  EcrLogin:
    'docker login to ECR with the instance role (ecr:GetAuthorizationToken has no resource-level permissions; the token pulls only what the other ECR statements allow)',
  PullHelperImage:
    "a fresh host pulls the helper image, read-only. The stack's own image is in the CDK bootstrap's container-assets repository, which holds the images of every CDK app deployed to this account and region: this grant reads all of them (a known limit, SECURITY.md); set helperImage to an image in an ECR repository of its own to narrow it to that repository",
  PullDatabaseImages:
    "a restore recreating a container pulls its image from ECR: the repositories and prefixes of the stack's allowedImages that are in ECR, read-only",
  WriteOwnBackupOutput:
    "State Manager's agent writes a scheduled backup's full output (the association's OutputLocation) under lifeboat-output/backups/<source>/, outside every archive prefix: PutObject only, this source's output prefix only, no read, no listing",
  EncryptOwnArchives:
    "the archive bucket is under a customer managed key (a replica bucket with kmsKeyArn): uploading an archive takes kms:GenerateDataKey (and kms:Decrypt for a multipart upload's parts) on that key, through S3 in the bucket's region only",
  FindOutputBucketEncryption:
    "SSM Agent reads the bucket's default-encryption setting before writing command output to it (s3:GetEncryptionConfiguration on the bucket: its encryption settings only, no object, no listing)",
} as const;
export type HostStatementSid = keyof typeof HOST_STATEMENT_REASONS;

export interface HostPoliciesProps {
  readonly bucket: IBucket;
  readonly prefix: string;
  /** Every source that backs up (deduplicated). */
  readonly sources: readonly string[];
  /** The log group the documents' CloudWatch output goes to. */
  readonly outputLogGroup: ILogGroup;
  /** The helper image's ECR repository (ARN), when it is in ECR. */
  readonly helperRepositoryArn?: string;
  /** Images restores may run (`allowedImages`): those in ECR become pull grants. @default none */
  readonly allowedImages?: readonly string[];
  /** Sources with a scheduled backup: their hosts may write its output under `backupOutputPrefixOf(source)/`. @default none */
  readonly scheduledSources?: readonly string[];
  /** The bucket is the DR stack's replica: archive writes without s3:DeleteObject ({@link REPLICA_ARCHIVE_WRITER_ACTIONS}). @default false */
  readonly replica?: boolean;
}

/** The ECR repository ARNs an allowlist names: a repository, or every repository under a prefix (`…/db/` → `repository/db/*`). */
export function ecrPullResources(scope: Construct, allowedImages: readonly string[]): string[] {
  const stack = Stack.of(scope);
  const arns = new Set<string>();
  for (const image of allowedImages) {
    const prefix = image.endsWith('/');
    const ecr = ecrRepositoryOf(prefix ? `${image}x` : image);
    if (!ecr) continue;
    const repository = prefix ? `${ecr.repository.slice(0, -1)}*` : ecr.repository;
    arns.add(stack.formatArn({ service: 'ecr', account: ecr.account, region: ecr.region, resource: 'repository', resourceName: repository }));
  }
  return [...arns];
}

/** `HostPolicy<source>`: the output id of a source's policy (CloudFormation output ids are alphanumeric). */
export const hostPolicyOutputId = (source: string): string => `HostPolicy${source.replace(/[^A-Za-z0-9]/g, '')}`;

/**
 * Sources whose output ids would be the same (`shop-db` and `shopdb`): numbering them in config
 * order would let two outputs swap names when `protect` is reordered, so synth refuses instead.
 */
export function outputIdCollisions(sources: Iterable<string>): string[] {
  const byId = new Map<string, string[]>();
  for (const source of new Set(sources)) {
    const id = hostPolicyOutputId(source);
    byId.set(id, [...(byId.get(id) ?? []), source]);
  }
  return [...byId.entries()]
    .filter(([, ss]) => ss.length > 1)
    .map(([id, ss]) => `sources ${ss.map((x) => `"${x}"`).join(' and ')} would both be output ${id} (output ids keep only letters and digits): rename one`);
}

/**
 * One managed policy per source, holding everything a Lifeboat host of that source needs
 * from the stack (attach it with AmazonSSMManagedInstanceCore to the instance role):
 * archives written under `<prefix>/<source>/` only, so a compromised host cannot plant
 * an archive or manifest in another source's prefix (which another host would restore);
 * a scheduled backup's output under its own output prefix; the command-output log group;
 * and the ECR pulls a fresh host makes (the helper image, the allowed database images).
 * The ARNs are the stack outputs `HostPolicy<source>`.
 *
 * And one `HostRestorePolicy` (output `HostRestorePolicyArn`) for hosts that only restore
 * (DR and spare hosts, tagged `lifeboat:sources=*`): the command output and the ECR pulls,
 * no S3 at all (a restore reads its archive through the presigned URL the API hands it).
 */
export class HostPolicies extends Construct {
  /** The policy of each source. */
  readonly policies = new Map<string, ManagedPolicy>();
  /** The restore-only hosts' policy. */
  readonly restorePolicy: ManagedPolicy;

  constructor(scope: Construct, id: string, props: HostPoliciesProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const collisions = outputIdCollisions(props.sources);
    if (collisions.length > 0) throw new Error(`invalid lifeboat configuration: ${collisions.join('; ')}`);
    const databaseRepositories = ecrPullResources(this, props.allowedImages ?? []);
    const anyEcr = props.helperRepositoryArn !== undefined || databaseRepositories.length > 0;
    const scheduled = new Set(props.scheduledSources ?? []);
    const statement = (sid: HostStatementSid, actions: readonly string[], resources: string[]): PolicyStatement =>
      new PolicyStatement({ sid, actions: [...actions], resources });
    // What every Lifeboat host needs, whatever it backs up: its command output and the images a restore pulls.
    const commandOutputAndPulls = (): PolicyStatement[] => [
      statement('CommandOutputStreams', ['logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams'], [props.outputLogGroup.logGroupArn]),
      statement(
        'CommandOutputFindGroup',
        ['logs:DescribeLogGroups'],
        [stack.formatArn({ service: 'logs', resource: 'log-group', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME })],
      ),
      ...(anyEcr ? [statement('EcrLogin', ['ecr:GetAuthorizationToken'], ['*'])] : []),
      ...(props.helperRepositoryArn === undefined ? [] : [statement('PullHelperImage', ECR_PULL_ACTIONS, [props.helperRepositoryArn])]),
      ...(databaseRepositories.length > 0 ? [statement('PullDatabaseImages', ECR_PULL_ACTIONS, databaseRepositories)] : []),
    ];
    const pulls = `${props.helperRepositoryArn === undefined ? '' : ', pulls the helper image'}${databaseRepositories.length > 0 ? ', pulls the allowed ECR images' : ''}`;
    const sharedReasons = `${HOST_STATEMENT_REASONS.CommandOutputFindGroup}. ${HOST_STATEMENT_REASONS.EcrLogin}. ${HOST_STATEMENT_REASONS.PullDatabaseImages} (a prefix names its repositories with a wildcard).`;
    const sharedFindings = [
      'Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:*',
      'Resource::*',
      ...databaseRepositories.filter((arn) => arn.endsWith('*')).map((arn) => `Resource::${nagArn(stack, arn)}`),
    ];

    for (const source of new Set(props.sources)) {
      const ownArchives = [props.bucket.arnForObjects(`${props.prefix}/${source}/*`)];
      const statements = [
        props.replica
          ? statement('WriteOwnReplicaArchives', REPLICA_ARCHIVE_WRITER_ACTIONS, ownArchives)
          : statement('WriteOwnArchives', ARCHIVE_WRITER_ACTIONS, ownArchives),
      ];
      const key = props.bucket.encryptionKey;
      if (key) {
        statements.push(
          new PolicyStatement({
            sid: 'EncryptOwnArchives' satisfies HostStatementSid,
            actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
            resources: [key.keyArn],
            conditions: { StringEquals: { 'kms:ViaService': `s3.${props.bucket.env.region}.amazonaws.com` } },
          }),
        );
      }
      if (scheduled.has(source)) {
        statements.push(
          statement('WriteOwnBackupOutput', ['s3:PutObject'], [props.bucket.arnForObjects(`${backupOutputPrefixOf(source)}/*`)]),
          statement('FindOutputBucketEncryption', ['s3:GetEncryptionConfiguration'], [props.bucket.bucketArn]),
        );
      }
      statements.push(...commandOutputAndPulls());
      const policy = new ManagedPolicy(this, `Source-${source}`, {
        description: `Lifeboat: a host of source ${source}: writes archives under ${props.prefix}/${source}/ only${
          scheduled.has(source) ? `, writes its scheduled backups' output under ${backupOutputPrefixOf(source)}/` : ''
        }, writes command output${pulls}`,
        statements,
      });
      acknowledgeNag(
        policy,
        `Archive keys are made by the host at backup time (${props.prefix}/${source}/<volume>/<timestamp>...): the wildcard is this source's prefix only. ` +
          (scheduled.has(source)
            ? `State Manager names the output keys of each run (${backupOutputPrefixOf(source)}/<volume>/...): this source's output prefix only. `
            : '') +
          sharedReasons,
        {
          rule: 'IAM5',
          findings: [
            objectsFinding(props.bucket, `${props.prefix}/${source}`),
            ...(scheduled.has(source) ? [objectsFinding(props.bucket, backupOutputPrefixOf(source))] : []),
            ...sharedFindings,
          ],
        },
      );
      this.policies.set(source, policy);
      // On the stack itself, so the output keys read HostPolicy<source>.
      new CfnOutput(scope, hostPolicyOutputId(source), {
        description: `Attach to the instance role of the hosts of source ${source} (with AmazonSSMManagedInstanceCore)`,
        value: policy.managedPolicyArn,
      });
    }

    this.restorePolicy = new ManagedPolicy(this, 'RestoreOnly', {
      description: `Lifeboat: a restore-only host (DR or spare, tagged lifeboat:sources=*): writes command output${pulls}; no S3 access`,
      statements: commandOutputAndPulls(),
    });
    acknowledgeNag(this.restorePolicy, sharedReasons, { rule: 'IAM5', findings: sharedFindings });
    new CfnOutput(scope, 'HostRestorePolicyArn', {
      description: 'Attach to the instance role of restore-only hosts (DR, spares; with AmazonSSMManagedInstanceCore): no archive writes',
      value: this.restorePolicy.managedPolicyArn,
    });
  }
}
