import type { App, Environment } from 'aws-cdk-lib';
import { REPLICA_STACK_ID, ReplicationConfig } from '#core/replication.ts';
import { LifeboatStack, type LifeboatConfig } from './lifeboat-stack.ts';

/** The primary stack's id in the app. */
export const PRIMARY_STACK_ID = 'Lifeboat';

/**
 * The app's stacks: `Lifeboat`, and with `replication` the DR region's `LifeboatDr` (its
 * {@link REPLICA_STACK_ID}) in replication.region. The primary depends on the DR stack: the
 * replica bucket must exist before the primary's replication configuration names it, so
 * `cdk deploy --all` deploys the DR stack first. Nothing is referenced across them.
 *
 * With replication, the primary gets `env` (CDK_DEFAULT_ACCOUNT/REGION by default) so synth can
 * refuse a DR region equal to the primary's; without it, the primary stays environment-agnostic.
 */
export function lifeboatStacks(
  app: App,
  config: LifeboatConfig | undefined,
  env: Environment = { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
): { primary: LifeboatStack; replica?: LifeboatStack } {
  const replication = config?.replication === undefined ? undefined : ReplicationConfig.safeParse(config.replication);
  const primary = new LifeboatStack(app, PRIMARY_STACK_ID, {
    description: 'Lifeboat: disaster-recovery restores of Docker volumes from S3 archives',
    config,
    ...(replication ? { env } : {}),
  });
  // An invalid replication block has already failed synth above, naming its fields.
  if (!replication?.success) return { primary };
  const region = replication.data.region;
  const replica = new LifeboatStack(app, REPLICA_STACK_ID, {
    description: `Lifeboat (DR region ${region}): serves the replica of the archives on its own when the primary region is lost`,
    config,
    role: 'replica',
    primaryRegion: env.region,
    env: { account: env.account, region },
  });
  primary.addStackDependency(replica, 'the replica bucket must exist before the primary’s replication configuration names it');
  return { primary, replica };
}
