/*
 * The props of the Lifeboat construct as plain readonly interfaces: what a consumer's editor shows
 * and the .d.ts the package ships. The zod schema in lib/lifeboat-config.ts checks the same shape
 * at synth (with the messages that name the prop); the compiler proves the two agree
 * (PROPS_MATCH_SCHEMA there). This file imports nothing, so the published types need nothing else.
 */

/** A tag: `{ key, value }`. */
export interface LifeboatTag {
  /** The tag key. @default - required */
  readonly key: string;
  /** The tag value. @default - required */
  readonly value: string;
}

/** One EC2 instance (or managed node) by id. */
export interface LifeboatInstanceHost {
  /** e.g. `i-0123456789abcdef0`. @default - required */
  readonly instanceId: string;
}

/** Any online instance carrying a tag. */
export interface LifeboatTaggedHost {
  /** The tag that marks the host. @default - required */
  readonly tag: LifeboatTag;
}

/** Where drills (or a scheduled backup) run: one instance by id, or the instance carrying a tag. */
export type LifeboatHost = LifeboatInstanceHost | LifeboatTaggedHost;

/** The engines a restore can prove answers; `auto` detects it from the archive. */
export type LifeboatEngine = 'auto' | 'postgres' | 'mysql' | 'redis' | 'mongodb' | 'custom' | 'running' | 'none';

/** How restores and drills of a volume prove the database answers. */
export interface LifeboatVerify {
  /** @default 'auto' (from the archive, else on the host from the data) */
  readonly engine?: LifeboatEngine;
  /** The read-only check (SQL SELECT, redis command, mongosh count, or a custom command). @default - the engine’s own check */
  readonly check?: string;
  /** custom only: the command that succeeds once the database answers. @default - none (required with engine custom) */
  readonly health?: string;
  /** The check’s answer must be an integer at least this big (needs `check`). @default - any answer */
  readonly expectMinimum?: number;
  /** Renamed `check`: always refused, with a message saying so. @default - never set */
  readonly query?: never;
}

/** A State Manager association backing a protected volume up on a schedule. */
export interface LifeboatBackupSchedule {
  /** UTC: `rate(1 hour)` (30 minutes to 30 days) or `cron(0 2 ? * * *)` (no months). @default - required */
  readonly schedule: string;
  /** The host holding the volume: `{ instanceId }`, or `{ tag }` marking exactly one host. @default - required */
  readonly host: LifeboatHost;
  /** The database container using the volume (paused or stopped for the copy; its spec goes into the manifest). @default - none: a data-only archive */
  readonly container?: string;
  /** `pause` (crash-consistent), `stop` (clean shutdown, restarted after) or `none` (live copy). @default 'pause' with a container, else 'none' */
  readonly consistency?: 'pause' | 'stop' | 'none';
}

/** A protected volume’s place in a whole-host recovery of its source. */
export interface LifeboatRecoveryRole {
  /** The wave it is restored in (1 first). @default 1 */
  readonly wave?: number;
  /** Volumes of the same source that must be back (and verified) before this one starts. @default - none */
  readonly after?: readonly string[];
  /** `critical` stops every later wave when it fails; `optional` is reported and the recovery goes on. @default 'critical' */
  readonly role?: 'critical' | 'optional';
  /** The container to stop or recreate, start and verify. @default - backup.container, else data only */
  readonly container?: string;
}

/** A protected volume: scheduled restore drills, an RPO alarm, a dashboard row, optionally scheduled backups. */
export interface LifeboatProtectedVolume {
  /** The archives’ host or application name (`<archivePrefix>/<source>/<volume>/…`). @default - required */
  readonly source: string;
  /** The Docker volume name. @default - required */
  readonly volume: string;
  /** Where drills of this volume run (throwaway names, no network). @default - required */
  readonly drillHost: LifeboatHost;
  /** EventBridge Scheduler expression, UTC. @default 'cron(0 4 * * ? *)' (daily at 04:00) */
  readonly drillSchedule?: string;
  /** Recovery point objective: the newest archive may be at most this many minutes old. @default - required */
  readonly rpoMinutes: number;
  /** How restores and drills prove the database answers. @default { engine: 'auto' } */
  readonly verify?: LifeboatVerify;
  /** Image for a drill’s or a recreated container when the archive’s manifest names none (must be in allowedImages). @default - the manifest’s */
  readonly containerImage?: string;
  /** Volume driver when a restore creates this volume. @default 'local' */
  readonly volumeDriver?: string;
  /** Driver options, e.g. `{ type: 'nfs', o: 'addr=10.0.0.5,rw', device: ':/exports/pg' }`. @default - none */
  readonly volumeDriverOpts?: Readonly<Record<string, string>>;
  /** Back this volume up on a schedule. @default - no scheduled backup */
  readonly backup?: LifeboatBackupSchedule;
  /** Its place in a whole-host recovery. @default - wave 1, critical, backup.container */
  readonly recovery?: LifeboatRecoveryRole;
  /** E-mail addresses told about this volume’s failed drills and overdue backups. @default [] */
  readonly notify?: readonly string[];
}

/** Alarms to a Slack channel through AWS Chatbot. */
export interface LifeboatChatbot {
  /** The Slack workspace (team) id the AWS Chatbot console shows, e.g. `T0123ABCD`. @default - required */
  readonly workspaceId: string;
  /** The channel alarms are posted in, e.g. `C0ONCALL1`. @default - required */
  readonly channelId: string;
}

/** `/lifeboat` in Slack: who may use it. Every list must name someone. */
export interface LifeboatSlack {
  /** Slack workspace (team) ids. @default - required (at least one) */
  readonly teamIds: readonly string[];
  /** Channel ids the command is answered in. @default - required (at least one) */
  readonly channelIds: readonly string[];
  /** Who may use `/lifeboat` at all (`volumes`, `list`, `status`, `help`). @default - required (at least one) */
  readonly userIds: readonly string[];
  /** The sources each user may act on, e.g. `{ U0ALICE: ['shop-db'], U0BOB: ['*'] }`. @default {} (nobody acts on any source) */
  readonly sources?: Readonly<Record<string, readonly string[]>>;
  /** How long a plan shown in Slack can be confirmed, in seconds (60 to 1800). @default 900 */
  readonly planSeconds?: number;
  /** An existing Secrets Manager secret (ARN) holding the app’s signing secret. @default - a new secret to fill in after deploy */
  readonly signingSecretArn?: string;
  /** Alarms to this Slack channel through AWS Chatbot. @default - no Chatbot */
  readonly chatbot?: LifeboatChatbot;
}

/** The sweeper: finishes restores whose completion event was lost. */
export interface LifeboatSweeper {
  /** How often it runs, in minutes (1 to 60). @default 5 */
  readonly everyMinutes?: number;
  /** A restore without progress this long (minutes, 2 to 1440) is checked with SSM. @default 10 */
  readonly staleAfterMinutes?: number;
}

/** A whole-host recovery drill of one source. */
export interface LifeboatRecoveryDrill {
  /** A source with protected volumes. @default - required */
  readonly source: string;
  /** EventBridge Scheduler expression, UTC. @default 'cron(0 5 ? * SUN *)' (weekly, Sunday 05:00) */
  readonly schedule?: string;
  /** The host every member is drilled on. @default - required */
  readonly drillHost: LifeboatHost;
}

/** A launch template a recovery may start its replacement instance from. */
export interface LifeboatLaunchTemplate {
  /** The template’s id (`lt-…`). @default - required */
  readonly id: string;
  /** The IAM role (name) of the instance profile the template names. @default - none (a template without a profile) */
  readonly instanceRole?: string;
}

/** Region loss: archives replicated to a second region, served there by a second Lifeboat. */
export interface LifeboatReplication {
  /** The disaster-recovery region, e.g. `eu-west-1`. @default - required */
  readonly region: string;
  /** Name of the replica bucket the DR side creates. @default - `lifeboat-replica-<account>-<region>` */
  readonly bucketName?: string;
  /** A bucket you already have in the DR region, as the replica. @default - a new bucket */
  readonly existingBucketName?: string;
  /** A customer managed KMS key (ARN) in the DR region for the replicas. @default - SSE-S3 */
  readonly kmsKeyArn?: string;
  /** S3 Replication Time Control (costs extra per GB). @default false */
  readonly replicationTimeControl?: boolean;
  /** Object Lock retention in days for the replica bucket the DR side creates. @default - the primary’s objectLockDays, else none */
  readonly objectLockDays?: number;
  /** Restore drills in the DR region, on this host. @default - no drills in the DR region */
  readonly drillHost?: LifeboatHost;
  /** A Secrets Manager secret (ARN) in the DR region with the DR Slack app’s signing secret. @default - the DR side creates its own */
  readonly slackSigningSecretArn?: string;
}

/** Lifeboat’s configuration: the same fields as the `lifeboat` context block of the Lifeboat app (cdk.json). */
export interface LifeboatSettings {
  /** Use an existing archive bucket instead of creating one. @default - a new bucket */
  readonly existingBucketName?: string;
  /** The existing bucket’s region, when it is not the stack’s (only with existingBucketName). @default - the stack’s region */
  readonly existingBucketRegion?: string;
  /** Object Lock (compliance) retention in days for a new bucket. @default - no Object Lock */
  readonly objectLockDays?: number;
  /** The helper image hosts run archives through (an internal registry, air-gapped hosts). @default - an image asset built from images/helper, pinned by digest */
  readonly helperImage?: string;
  /** The CPU architecture of the helper image Lifeboat builds. @default 'linux/amd64' */
  readonly helperPlatform?: 'linux/amd64' | 'linux/arm64';
  /** Only instances carrying this tag can receive Lifeboat commands. @default { key: 'lifeboat:managed', value: 'true' } */
  readonly instanceTag?: LifeboatTag;
  /** Archive key prefix (not `lifeboat-output`). @default 'archives' */
  readonly archivePrefix?: string;
  /** Protected volumes (at most 100). @default [] */
  readonly protect?: readonly LifeboatProtectedVolume[];
  /** `/lifeboat` in Slack. @default - no Slack routes */
  readonly slack?: LifeboatSlack;
  /** How often backup freshness is checked. @default 'rate(15 minutes)' */
  readonly freshnessSchedule?: string;
  /** Images a recreated or drill container may run: repositories, prefixes ending in `/`, or `repo@sha256:…`. @default [] (restores need the existing container; drills are refused) */
  readonly allowedImages?: readonly string[];
  /** Sources that back up but are not protected. @default [] */
  readonly backupSources?: readonly string[];
  /** Scheduled whole-host recovery drills. @default [] */
  readonly recoveryDrills?: readonly LifeboatRecoveryDrill[];
  /** Launch templates a recovery may start its replacement from. @default [] (launch-template targets are refused) */
  readonly recoveryLaunchTemplates?: readonly LifeboatLaunchTemplate[];
  /** The sweeper’s schedule. @default { everyMinutes: 5, staleAfterMinutes: 10 } */
  readonly sweeper?: LifeboatSweeper;
  /** Replicate archives to a second region (served there by a second Lifeboat with `role: 'replica'`). @default - one region */
  readonly replication?: LifeboatReplication;
}

/** The props of {@link Lifeboat}: its configuration, and which side of a two-region setup it is. */
export interface LifeboatProps extends LifeboatSettings {
  /**
   * `replica`: this Lifeboat serves the DR region’s replica bucket (replication.region) on its own, with
   * freshness and (with replication.drillHost) drills, and no scheduled backups. @default 'primary'
   */
  readonly role?: 'primary' | 'replica';
  /** With role replica: the primary’s region, whose ECR references synth warns about. @default - every ECR reference outside this region */
  readonly primaryRegion?: string;
}
