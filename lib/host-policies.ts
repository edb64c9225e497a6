import { ArnFormat, CfnOutput, Stack } from 'aws-cdk-lib';
import { ManagedPolicy, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { ILogGroup } from 'aws-cdk-lib/aws-logs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
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

/** What pulling one image from ECR takes once logged in (the repository's layers and manifest). */
export const ECR_PULL_ACTIONS = ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer', 'ecr:BatchCheckLayerAvailability'] as const;

/** Every statement a host policy may hold, by `Sid`, with the reason it is there (read by the template tests). */
export const HOST_STATEMENT_REASONS = {
  WriteOwnArchives:
    "the backup document uploads the archive and its manifest under <prefix>/<source>/ (PutObject; AbortMultipartUpload and DeleteObject for its own failed upload, a delete marker in the versioned bucket); nothing outside this source's prefix, no read, no listing",
  CommandOutputStreams:
    "SSM Agent writes a command's full output to the stack's command-output log group (Run Command's CloudWatchOutputConfig): it creates a stream per command, looks it up and puts events, in that log group only",
  CommandOutputFindGroup:
    'SSM Agent checks that the command-output log group exists before writing (DescribeLogGroups is a list call: it is authorized on the log-group:* of this account and region and returns names and settings only, never log events)',
  EcrLogin:
    'docker login to ECR with the instance role (ecr:GetAuthorizationToken has no resource-level permissions; the token pulls only what the other ECR statements allow)',
  PullHelperImage: 'a fresh host pulls the helper image the stack published (or the ECR image configured as helperImage): this repository only, read-only',
  PullDatabaseImages:
    "a restore recreating a container pulls its image from ECR: the repositories and prefixes of the stack's allowedImages that are in ECR, read-only",
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

/**
 * One managed policy per source, holding everything a Lifeboat host of that source needs
 * from the stack (attach it with AmazonSSMManagedInstanceCore to the instance role):
 * archives written under `<prefix>/<source>/` only, so a compromised host cannot plant
 * an archive or manifest in another source's prefix (which another host would restore);
 * the command-output log group; and the ECR pulls a fresh host makes (the helper image,
 * the allowed database images). The ARNs are the stack outputs `HostPolicy<source>`.
 */
export class HostPolicies extends Construct {
  /** The policy of each source. */
  readonly policies = new Map<string, ManagedPolicy>();

  constructor(scope: Construct, id: string, props: HostPoliciesProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const databaseRepositories = ecrPullResources(this, props.allowedImages ?? []);
    const anyEcr = props.helperRepositoryArn !== undefined || databaseRepositories.length > 0;
    const outputIds = new Set<string>();
    for (const source of new Set(props.sources)) {
      const statement = (sid: HostStatementSid, actions: readonly string[], resources: string[]): PolicyStatement =>
        new PolicyStatement({ sid, actions: [...actions], resources });
      const statements = [
        statement('WriteOwnArchives', ARCHIVE_WRITER_ACTIONS, [props.bucket.arnForObjects(`${props.prefix}/${source}/*`)]),
        statement('CommandOutputStreams', ['logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams'], [props.outputLogGroup.logGroupArn]),
        statement(
          'CommandOutputFindGroup',
          ['logs:DescribeLogGroups'],
          [stack.formatArn({ service: 'logs', resource: 'log-group', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME })],
        ),
      ];
      if (anyEcr) statements.push(statement('EcrLogin', ['ecr:GetAuthorizationToken'], ['*']));
      if (props.helperRepositoryArn !== undefined) statements.push(statement('PullHelperImage', ECR_PULL_ACTIONS, [props.helperRepositoryArn]));
      if (databaseRepositories.length > 0) statements.push(statement('PullDatabaseImages', ECR_PULL_ACTIONS, databaseRepositories));
      const policy = new ManagedPolicy(this, `Source-${source}`, {
        description: `Lifeboat: a host of source ${source}: writes archives under ${props.prefix}/${source}/ only, writes command output${
          props.helperRepositoryArn === undefined ? '' : ', pulls the helper image'
        }${databaseRepositories.length > 0 ? ', pulls the allowed ECR images' : ''}`,
        statements,
      });
      acknowledgeNag(
        policy,
        `Archive keys are made by the host at backup time (${props.prefix}/${source}/<volume>/<timestamp>...): the wildcard is this source's prefix only. ` +
          `${HOST_STATEMENT_REASONS.CommandOutputFindGroup}. ${HOST_STATEMENT_REASONS.EcrLogin}. ${HOST_STATEMENT_REASONS.PullDatabaseImages} (a prefix names its repositories with a wildcard).`,
        {
          rule: 'IAM5',
          findings: [
            objectsFinding(props.bucket, `${props.prefix}/${source}`),
            'Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:*',
            'Resource::*',
            ...databaseRepositories.filter((arn) => arn.endsWith('*')).map((arn) => `Resource::${nagArn(stack, arn)}`),
          ],
        },
      );
      this.policies.set(source, policy);
      const base = `HostPolicy${source.replace(/[^A-Za-z0-9]/g, '')}`;
      let outputId = base;
      for (let n = 2; outputIds.has(outputId); n++) outputId = `${base}${n.toString()}`;
      outputIds.add(outputId);
      // On the stack itself, so the output keys read HostPolicy<source>.
      new CfnOutput(scope, outputId, {
        description: `Attach to the instance role of the hosts of source ${source} (with AmazonSSMManagedInstanceCore)`,
        value: policy.managedPolicyArn,
      });
    }
  }
}
