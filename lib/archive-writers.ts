import { CfnOutput } from 'aws-cdk-lib';
import { ManagedPolicy, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { acknowledgeNag, objectsFinding } from './nag.ts';

/**
 * What a backed-up host's upload needs on its own prefix and nothing else: PutObject
 * (also authorizes the multipart Create/UploadPart/Complete calls of a large upload),
 * AbortMultipartUpload (an interrupted upload), DeleteObject (the backup removes its
 * own incomplete archive; the bucket is versioned, so this only adds a delete marker:
 * no s3:DeleteObjectVersion, no read, no listing).
 */
export const ARCHIVE_WRITER_ACTIONS = ['s3:PutObject', 's3:AbortMultipartUpload', 's3:DeleteObject'] as const;

export interface ArchiveWritersProps {
  readonly bucket: IBucket;
  readonly prefix: string;
  /** Every source that backs up (deduplicated). */
  readonly sources: readonly string[];
}

/**
 * One managed policy per source: a host given `<source>`'s policy can write archives
 * under `<prefix>/<source>/` only, so a compromised host cannot plant an archive or
 * manifest in another source's prefix (which another host would then restore).
 * Attach it to the host's instance role; the ARNs are stack outputs.
 */
export class ArchiveWriters extends Construct {
  /** The policy of each source. */
  readonly policies = new Map<string, ManagedPolicy>();

  constructor(scope: Construct, id: string, props: ArchiveWritersProps) {
    super(scope, id);
    const outputIds = new Set<string>();
    for (const source of new Set(props.sources)) {
      const policy = new ManagedPolicy(this, `Source-${source}`, {
        description: `Lifeboat: a backed-up host of source ${source} writes archives under ${props.prefix}/${source}/ only`,
        statements: [new PolicyStatement({ actions: [...ARCHIVE_WRITER_ACTIONS], resources: [props.bucket.arnForObjects(`${props.prefix}/${source}/*`)] })],
      });
      acknowledgeNag(
        policy,
        `Archive keys are made by the host at backup time (${props.prefix}/${source}/<volume>/<timestamp>...): the wildcard is this source's prefix only.`,
        {
          rule: 'IAM5',
          findings: [objectsFinding(props.bucket, `${props.prefix}/${source}`)],
        },
      );
      this.policies.set(source, policy);
      let outputId = `ArchiveWriter${source.replace(/[^A-Za-z0-9]/g, '')}`;
      for (let n = 2; outputIds.has(outputId); n++) outputId = `ArchiveWriter${source.replace(/[^A-Za-z0-9]/g, '')}${n.toString()}`;
      outputIds.add(outputId);
      // On the stack itself, so the output keys read ArchiveWriter<source>.
      new CfnOutput(scope, outputId, {
        description: `Attach to the instance role of the hosts backing up source ${source}`,
        value: policy.managedPolicyArn,
      });
    }
  }
}
