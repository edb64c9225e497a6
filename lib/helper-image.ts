import { Arn, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { DockerImageAsset, Platform } from 'aws-cdk-lib/aws-ecr-assets';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { AwsCustomResource, AwsCustomResourcePolicy, PhysicalResourceId } from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { join } from 'node:path';
import { ROOT } from '#core/paths.ts';

/** Where the helper image's Dockerfile is (GNU tar, gzip, zstd, xz, bzip2, a POSIX shell). */
export const HELPER_IMAGE_DIR = join(ROOT, 'images', 'helper');

/** The CPU architectures the helper image can be built for (one per stack: the hosts' architecture). */
export const HELPER_PLATFORMS = { 'linux/amd64': Platform.LINUX_AMD64, 'linux/arm64': Platform.LINUX_ARM64 } as const;
export type HelperPlatform = keyof typeof HELPER_PLATFORMS;

/**
 * An image reference in Amazon ECR: the repository's ARN parts, for a pull grant.
 * `undefined` for any other registry (nothing to grant: the host pulls anonymously or not at all).
 */
export function ecrRepositoryOf(image: string): { account: string; region: string; repository: string } | undefined {
  const m =
    /^([0-9]{12})\.dkr\.ecr(-fips)?\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?\/([a-z0-9._/-]+?)(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[a-f0-9]{64})?$/.exec(
      image,
    );
  if (!m?.[1] || !m[3] || !m[5]) return undefined;
  return { account: m[1], region: m[3], repository: m[5] };
}

export interface HelperImageProps {
  /**
   * An image the operator provides instead (air-gapped hosts, an internal registry). When set,
   * nothing is built or published and hosts are granted a pull of it only when it is in ECR.
   * @default - the image built from images/helper by `cdk deploy`
   */
  readonly override?: string;
  /** @default linux/amd64 */
  readonly platform?: HelperPlatform;
}

/**
 * The helper image hosts run the archive through. By default `cdk deploy` builds `images/helper`
 * and publishes it to the bootstrap's container-assets repository (an image asset); hosts receive
 * it pinned by digest (`<repository>@sha256:<digest>`), so what runs is exactly what was
 * published, whatever later happens to the tag.
 *
 * Why a lookup: the digest only exists after cdk-assets pushed the image (the asset hash is a
 * hash of the build context, not of the image), so a custom resource asks ECR (DescribeImages
 * on the asset's tag) during the deployment, which runs after publishing. Its parameters name
 * the tag, which is the asset hash: a changed Dockerfile is a new tag, so the lookup runs again.
 */
export class HelperImage extends Construct {
  /** What documents and functions are given: `<repository>@sha256:<digest>`, or the override. */
  readonly imageUri: string;
  /** The asset (absent with an override). */
  readonly asset?: DockerImageAsset;
  /** The ECR repository hosts pull the helper from, as an ARN; absent when it is not in ECR. */
  readonly repositoryArn?: string;

  constructor(scope: Construct, id: string, props: HelperImageProps = {}) {
    super(scope, id);
    const stack = Stack.of(this);
    if (props.override !== undefined) {
      this.imageUri = props.override;
      const ecr = ecrRepositoryOf(props.override);
      if (ecr) {
        this.repositoryArn = Arn.format(
          { service: 'ecr', account: ecr.account, region: ecr.region, resource: 'repository', resourceName: ecr.repository },
          stack,
        );
      }
      return;
    }
    const asset = new DockerImageAsset(this, 'Asset', { directory: HELPER_IMAGE_DIR, platform: HELPER_PLATFORMS[props.platform ?? 'linux/amd64'] });
    this.asset = asset;
    this.repositoryArn = asset.repository.repositoryArn;

    // The lookup's own function: a role that may describe images of this repository and write its own log group.
    const logGroup = new LogGroup(this, 'DigestLookupLogs', { retention: RetentionDays.THREE_MONTHS, removalPolicy: RemovalPolicy.RETAIN });
    const role = new Role(this, 'DigestLookupRole', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: 'Lifeboat: reads the digest of the helper image cdk deploy published',
    });
    logGroup.grantWrite(role);
    const lookup = new AwsCustomResource(this, 'DigestLookup', {
      resourceType: 'Custom::LifeboatHelperImageDigest',
      onUpdate: {
        service: 'ECR',
        action: 'describeImages',
        parameters: { repositoryName: asset.repository.repositoryName, imageIds: [{ imageTag: asset.imageTag }] },
        physicalResourceId: PhysicalResourceId.of(asset.imageTag),
        outputPaths: ['imageDetails.0.imageDigest'],
      },
      policy: AwsCustomResourcePolicy.fromStatements([new PolicyStatement({ actions: ['ecr:DescribeImages'], resources: [asset.repository.repositoryArn] })]),
      installLatestAwsSdk: false,
      role,
      logGroup,
    });
    this.imageUri = `${asset.repository.repositoryUri}@${lookup.getResponseField('imageDetails.0.imageDigest')}`;
  }
}
