/**
 * Whole-host recovery: the shared contract between the planner and service (core), the state
 * machine and its task functions (lib/, functions/recovery), the local runner, and the surfaces
 * (API, CLI, Slack). Everything that crosses a boundary (an API body, a record in the catalog, a
 * state machine payload) is a zod schema here.
 *
 * A recovery restores every protected volume of one source (a lost host) onto a target, in waves:
 * a volume's wave is its configured `recovery.wave`, raised past every volume it names in
 * `recovery.after`. Members of one wave run in parallel (bounded); a failed critical member stops
 * the waves after its own (the rest of its wave still ends); a failed optional member is reported
 * and the recovery goes on.
 */
import * as z from 'zod';
import { SOURCE_PATTERN, VOLUME_PATTERN } from '../archive-key.ts';
import type { RestoreRecord } from '../catalog/model.ts';
import { CONTAINER_PATTERN, ENV_FILE_DIR, ENV_FILE_PATTERN, INSTANCE_ID_PATTERN } from '../restore/request.ts';

const named = (pattern: RegExp, what: string) => z.string().regex(pattern, { error: `must be ${what} (${pattern.source})` });
const instanceId = named(INSTANCE_ID_PATTERN, 'an EC2 instance or managed node id such as i-0123456789abcdef0');

/** Most waves a plan may have, and most members a recovery may have. */
export const MAX_WAVES = 20;
export const MAX_MEMBERS = 50;
/** Members of one wave restored at once. */
export const DEFAULT_PARALLEL = 4;
export const MAX_PARALLEL = 10;

/** Recovery ids: `rc-<yyyymmddhhmmss>-<8 hex>`. */
export const RECOVERY_ID_PATTERN = /^rc-[0-9]{14}-[a-f0-9]{8}$/;

/**
 * A protected volume's place in a whole-host recovery (protect[].recovery in the configuration).
 * Absent: wave 1, critical, backup.container (data only when none).
 */
export const RecoveryRole = z.strictObject({
  /** The wave this volume is restored in (1 first). Raised past every volume named in `after`. @default 1 */
  wave: z
    .number()
    .int()
    .min(1, { error: 'must be 1 or more' })
    .max(MAX_WAVES, { error: `must be at most ${MAX_WAVES.toString()}` })
    .optional(),
  /** Volumes of the same source that must be back (and verified) before this one starts. @default none */
  after: z.array(named(VOLUME_PATTERN, 'a volume of the same source')).max(MAX_MEMBERS).optional(),
  /** critical: its failure stops every later wave; optional: reported, the recovery goes on. @default critical */
  role: z.enum(['critical', 'optional'], { error: 'must be "critical" or "optional"' }).optional(),
  /**
   * The container to stop/recreate, start and verify. @default backup.container, else data only (never
   * the archive manifest's container name: a manifest is written by the backed-up host, so it is not trusted to name one)
   */
  container: named(CONTAINER_PATTERN, 'a Docker container name').optional(),
});
export type RecoveryRole = z.infer<typeof RecoveryRole>;

/**
 * Where the recovered volumes go: one replacement instance, a volume → instance map (every
 * protected volume of the source named), or a replacement launched from a launch template.
 */
export const RecoveryTarget = z.union(
  [
    z.strictObject({ instanceId }),
    z.strictObject({ volumes: z.record(named(VOLUME_PATTERN, 'a Docker volume name'), instanceId) }),
    z.strictObject({
      launchTemplate: z.strictObject({
        /** lt-… id or the template's name. */
        id: z.string().regex(/^(lt-[0-9a-f]{8,17}|[A-Za-z0-9()./_-]{3,128})$/, { error: 'must be a launch template id (lt-…) or name' }),
        /** @default $Default */
        version: z
          .string()
          .regex(/^(\$Latest|\$Default|[1-9][0-9]{0,8})$/, { error: 'must be a version number, "$Latest" or "$Default"' })
          .optional(),
      }),
    }),
  ],
  { error: 'must be {"instanceId": "i-…"}, {"volumes": {"<volume>": "i-…"}} or {"launchTemplate": {"id": "lt-…"}}' },
);
export type RecoveryTarget = z.infer<typeof RecoveryTarget>;

/** The body of `POST /sources/{source}/recoveries` (source from the path), the CLI's and Slack's request. */
export const RecoveryRequest = z.strictObject({
  source: named(SOURCE_PATTERN, 'the host or application name of the archives'),
  target: RecoveryTarget,
  /** Each volume's newest archive taken at or before this time (a set consistent in time). @default each volume's newest */
  at: z.iso.datetime({ offset: true, error: 'must be an ISO 8601 time such as 2026-12-01T03:00:00Z' }).optional(),
  /** What to do with a volume that already holds data on the target (as a single restore). @default fail */
  ifVolumeExists: z.enum(['fail', 'preserve'], { error: 'must be "fail" or "preserve"' }).default('fail'),
  /** Members of one wave restored at once. @default 4 */
  parallel: z
    .number()
    .int()
    .min(1)
    .max(MAX_PARALLEL, { error: `must be 1 to ${MAX_PARALLEL.toString()}` })
    .default(DEFAULT_PARALLEL),
  /** Host file with the values of recreated containers' environment variables. */
  containerEnvFile: named(ENV_FILE_PATTERN, `a file in ${ENV_FILE_DIR}/ on the host`).optional(),
  /** Plan only: nothing is recorded or sent. @default false */
  dryRun: z.boolean().default(false),
});
export type RecoveryRequest = z.infer<typeof RecoveryRequest>;

/** A time predicted from history: total, per phase, and what it rests on. */
export const Prediction = z.object({
  /** null when there is no history to predict from. */
  seconds: z.number().nonnegative().nullable(),
  phases: z.record(z.string(), z.number().nonnegative()).optional(),
  /** e.g. "median rate of 3 earlier restores/drills of db1/pgdata (41.2 MB/s)" or "no restore or drill of db1/pgdata recorded yet". */
  basis: z.string(),
});
export type Prediction = z.infer<typeof Prediction>;

/** One volume of a recovery, as planned. */
export const RecoveryMemberPlan = z.object({
  volume: z.string(),
  wave: z.number().int().min(1),
  role: z.enum(['critical', 'optional']),
  after: z.array(z.string()),
  instanceId: z.string(),
  /** '' : data only. */
  containerName: z.string(),
  /** The archive restored, pinned at plan time (a confirm runs exactly this). null: none found (a problem). */
  archive: z
    .object({
      key: z.string(),
      versionId: z.string().optional(),
      takenAt: z.iso.datetime(),
      size: z.number().int().nonnegative(),
      /** Archive age at plan time: the RPO this member's recovery gives. */
      ageSeconds: z.number().int().nonnegative(),
    })
    .nullable(),
  predicted: Prediction,
});
export type RecoveryMemberPlan = z.infer<typeof RecoveryMemberPlan>;

/** What a recovery will do: the dry run's answer, and what a start records and runs. */
export const RecoveryPlan = z.object({
  source: z.string(),
  mode: z.enum(['restore', 'drill']),
  /** The request's time, when it named one. */
  at: z.iso.datetime({ offset: true }).optional(),
  /** Where members go; a launch template target is resolved to an instance when the host is launched. */
  target: RecoveryTarget,
  ifVolumeExists: z.enum(['fail', 'preserve']),
  parallel: z.number().int().min(1),
  containerEnvFile: z.string().optional(),
  plannedAt: z.iso.datetime(),
  waves: z.array(z.object({ wave: z.number().int().min(1), members: z.array(RecoveryMemberPlan) })),
  /** Total predicted time: the sum over waves of each wave's slowest member (bounded by `parallel`). */
  predicted: Prediction,
  /** Why this plan cannot run as is (a critical member without an archive, …); a start refuses a plan with problems. */
  problems: z.array(z.string()),
  /** Worth knowing, not blocking (an optional member without an archive is skipped, no history, …). */
  warnings: z.array(z.string()),
});
export type RecoveryPlan = z.infer<typeof RecoveryPlan>;

export const MEMBER_STATES = ['pending', 'running', 'succeeded', 'failed', 'skipped'] as const;
export type MemberState = (typeof MEMBER_STATES)[number];

/** How one member went. */
export const MemberProgress = z.object({
  state: z.enum(MEMBER_STATES),
  restoreId: z.string().optional(),
  startedAt: z.iso.datetime().optional(),
  endedAt: z.iso.datetime().optional(),
  /** Seconds per phase and in total, as the host reported them. */
  phases: z.record(z.string(), z.number()).optional(),
  totalSeconds: z.number().nonnegative().optional(),
  error: z.string().nullable().optional(),
  preservedVolume: z.string().nullable().optional(),
  verifyOutput: z.string().nullable().optional(),
});
export type MemberProgress = z.infer<typeof MemberProgress>;

export const RECOVERY_STATES = ['planned', 'launching', 'running', 'succeeded', 'partial', 'failed', 'stopped'] as const;
export type RecoveryState = (typeof RECOVERY_STATES)[number];
/** partial: every critical member succeeded, an optional one did not; stopped: a critical member failed and later waves never ran. */
export const FINAL_RECOVERY_STATES: readonly RecoveryState[] = ['succeeded', 'partial', 'failed', 'stopped'];

/** The end-of-recovery report (posted to the topic, and to Slack when started there). */
export const RecoveryReport = z.object({
  recoveryId: z.string(),
  source: z.string(),
  mode: z.enum(['restore', 'drill']),
  outcome: z.enum(['succeeded', 'partial', 'failed', 'stopped']),
  startedAt: z.iso.datetime(),
  endedAt: z.iso.datetime(),
  /** Total RTO: start of the recovery (launch included) to the end of its last member. */
  totalSeconds: z.number().nonnegative(),
  predictedSeconds: z.number().nonnegative().nullable(),
  members: z.array(
    z.object({
      volume: z.string(),
      wave: z.number().int(),
      role: z.enum(['critical', 'optional']),
      outcome: z.enum(MEMBER_STATES),
      archiveKey: z.string().nullable(),
      /** RPO: the archive's age when the recovery started. */
      rpoSeconds: z.number().int().nonnegative().nullable(),
      /** RTO of this member: its start to its end. */
      rtoSeconds: z.number().nonnegative().nullable(),
      predictedSeconds: z.number().nonnegative().nullable(),
      phases: z.record(z.string(), z.number()).optional(),
      error: z.string().nullable().optional(),
    }),
  ),
  /** The replacement a launch template target launched (left running). */
  launchedInstanceId: z.string().optional(),
  /** One paragraph per member plus the totals, for the topic's e-mail and Slack. */
  text: z.string(),
});
export type RecoveryReport = z.infer<typeof RecoveryReport>;

/** A recovery in the catalog (pk RECOVERY#<id>). */
export const RecoveryRecord = z.object({
  id: z.string().regex(RECOVERY_ID_PATTERN),
  requestedBy: z.string(),
  state: z.enum(RECOVERY_STATES),
  plan: RecoveryPlan,
  /** Per member volume. */
  members: z.record(z.string(), MemberProgress),
  /** The instance a launch template step started. */
  launchedInstanceId: z.string().optional(),
  /** The Step Functions execution (or `local:<id>`). */
  executionArn: z.string().optional(),
  createdAt: z.iso.datetime(),
  startedAt: z.iso.datetime().optional(),
  endedAt: z.iso.datetime().optional(),
  updatedAt: z.iso.datetime(),
  error: z.string().nullable().optional(),
  report: RecoveryReport.optional(),
  /** When the report was handed to the notifier (topic, Slack); absent: a retried Report notifies again. */
  notifiedAt: z.iso.datetime().optional(),
  notifySlack: z.object({ responseUrl: z.url(), channelId: z.string(), userId: z.string() }).optional(),
});
export type RecoveryRecord = z.infer<typeof RecoveryRecord>;

// ---------------------------------------------------------------------------------------------
// The state machine's payloads (Amazon States Language, lib/recovery-definition.ts). Each task
// function parses its input with these; the local runner hands the same shapes to the core.
// ---------------------------------------------------------------------------------------------

/** Execution input: a recovery already planned and recorded, or a scheduled recovery drill to plan now. */
export const ExecutionInput = z.union([
  z.strictObject({ recoveryId: z.string().regex(RECOVERY_ID_PATTERN) }),
  z.strictObject({ scheduledDrill: z.strictObject({ source: z.string().regex(SOURCE_PATTERN) }) }),
]);
export type ExecutionInput = z.infer<typeof ExecutionInput>;

/** `Prepare`'s output, the rest of the execution's state. */
export const PreparedRecovery = z.object({
  recoveryId: z.string(),
  /** Present when the target is a launch template: the `Launch` step runs. */
  launch: z.object({ id: z.string(), version: z.string().optional() }).optional(),
  waves: z.array(z.object({ wave: z.number().int(), members: z.array(z.object({ volume: z.string(), role: z.enum(['critical', 'optional']) })) })),
  /** The plan's `parallel`: members of one wave restored at once (the Members Map's MaxConcurrencyPath). @default the definition's `parallel` */
  parallel: z.number().int().min(1).max(MAX_PARALLEL).optional(),
});
export type PreparedRecovery = z.infer<typeof PreparedRecovery>;

/** `Launch`'s input and output; `CheckHost`'s input and output (attempts bounded by the definition). */
export const LaunchInput = z.object({ recoveryId: z.string() });
export const HostCheck = z.object({ recoveryId: z.string(), instanceId: z.string(), attempts: z.number().int().nonnegative() });
export type HostCheck = z.infer<typeof HostCheck>;
export const HostCheckResult = HostCheck.extend({ online: z.boolean() });
export type HostCheckResult = z.infer<typeof HostCheckResult>;

/** `RestoreMember`'s payload (a waitForTaskToken task: the completion handler answers the token). */
export const MemberTask = z.object({ recoveryId: z.string(), volume: z.string(), taskToken: z.string().min(1) });
export type MemberTask = z.infer<typeof MemberTask>;

/** What a member's task resolves with (SendTaskSuccess output), and what a caught failure becomes. */
export const MemberResult = z.object({
  volume: z.string(),
  role: z.enum(['critical', 'optional']),
  outcome: z.enum(['succeeded', 'failed', 'skipped']),
  restoreId: z.string().optional(),
  error: z.string().nullable().optional(),
});
export type MemberResult = z.infer<typeof MemberResult>;

/** `WaveEnded`'s input: the wave's member results; output: whether later waves may run. */
export const WaveEnd = z.object({ recoveryId: z.string(), wave: z.number().int(), results: z.array(z.unknown()) });
export type WaveEnd = z.infer<typeof WaveEnd>;
export const WaveVerdict = z.object({ recoveryId: z.string(), wave: z.number().int(), stop: z.boolean(), reason: z.string().optional() });
export type WaveVerdict = z.infer<typeof WaveVerdict>;

/** `Report`'s input: the recovery, and the error that ended it early (a Catch's {Error, Cause}). */
export const ReportInput = z.object({
  recoveryId: z.string(),
  error: z.object({ Error: z.string(), Cause: z.string().optional() }).optional(),
});
export type ReportInput = z.infer<typeof ReportInput>;

/** Error names the task functions throw (Catch and Retry match on them). */
export const RECOVERY_ERRORS = {
  /** A member could not be started (refused, no archive, lock held): nothing reached the host for it. */
  memberNotStarted: 'Lifeboat.MemberNotStarted',
  /** The host ran the member's restore and it failed (SendTaskFailure). */
  memberFailed: 'Lifeboat.RestoreFailed',
  /** A critical member failed: later waves do not run. */
  criticalFailed: 'Lifeboat.CriticalMemberFailed',
  /** The launched replacement did not come online in SSM within the bound. */
  hostNotOnline: 'Lifeboat.HostNotOnline',
  /** Prepare refused (unknown recovery, a plan with problems, no drill host). */
  notRunnable: 'Lifeboat.RecoveryNotRunnable',
} as const;

/** An error whose name a state machine Catch can match. */
export class RecoveryTaskError extends Error {
  constructor(name: (typeof RECOVERY_ERRORS)[keyof typeof RECOVERY_ERRORS], message: string) {
    super(message);
    this.name = name;
  }
}

/** Answers a member's task token (Step Functions SendTaskSuccess/SendTaskFailure; locally, a promise). */
export interface TaskCallback {
  succeed(taskToken: string, output: MemberResult): Promise<void>;
  fail(taskToken: string, error: string, cause: string): Promise<void>;
}

/** Starts the state machine for a recorded recovery (Step Functions StartExecution; locally, the local runner). Returns the execution ARN. */
export interface RecoveryEngine {
  start(recoveryId: string): Promise<string>;
}

/** What the surfaces (API, CLI, Slack) call: functions/core/recovery/service.ts implements it. */
export interface RecoveryApi {
  /** The dry run: every member, its archive and age, its wave, predictions, problems. Records and sends nothing. */
  plan(request: RecoveryRequest): Promise<RecoveryPlan>;
  /** Plans, refuses a plan with problems (ClientError 422 naming them), records the recovery and starts the engine. */
  start(request: RecoveryRequest, requestedBy: string, extra?: Pick<RecoveryRecord, 'notifySlack'>): Promise<StartedRecovery>;
  /** Runs exactly this plan (Slack's Confirm): its pinned archives must still be live, else 409 naming them. */
  startPlan(plan: RecoveryPlan, requestedBy: string, extra?: Pick<RecoveryRecord, 'notifySlack'>): Promise<StartedRecovery>;
  /** The record without capabilities (Slack response URL). 404 when unknown. */
  get(recoveryId: string): Promise<RecoveryRecord>;
}

export interface StartedRecovery {
  readonly recoveryId: string;
  readonly state: RecoveryState;
  readonly executionArn: string;
  readonly plan: RecoveryPlan;
}

/**
 * What the state machine's tasks call (one Lambda per method in AWS; the local runner's task
 * overrides locally). Errors meant for a Catch are RecoveryTaskError with a RECOVERY_ERRORS name.
 */
export interface RecoveryTasks {
  /** State `Prepare`: loads (or, for a scheduled drill, plans and records) the recovery; marks it launching or running. */
  prepare(input: ExecutionInput): Promise<PreparedRecovery>;
  /** State `Launch`: starts the replacement from the launch template, tagged for Lifeboat (lifeboat:sources, lifeboat:recovery). */
  launch(input: { recoveryId: string; launch: NonNullable<PreparedRecovery['launch']> }): Promise<HostCheck>;
  /** State `CheckHost`: is the launched instance online in SSM? (attempts + 1; the definition bounds them). */
  checkHost(input: HostCheck): Promise<HostCheckResult>;
  /** State `RestoreMember` (waitForTaskToken): starts the member's restore or drill with the token in its record; returns once sent. */
  startMember(task: MemberTask): Promise<void>;
  /** State `WaveEnded`: records the wave's end; stop when a critical member failed. */
  waveEnded(input: WaveEnd): Promise<WaveVerdict>;
  /** State `Report`: the final state, the report, the notifications (topic, Slack), the recovery drill's proof. */
  report(input: ReportInput): Promise<RecoveryReport>;
}

/**
 * Called by the completion path (finishRestore) for a restore record carrying `recovery`:
 * records the member's progress and answers its task token (success, or failure with the error).
 */
export interface RecoveryMemberSink {
  memberFinished(record: RestoreRecord): Promise<void>;
}

/** Starts a replacement instance from a launch template (EC2 RunInstances), tagged as given. Returns its instance id. */
export interface HostLauncher {
  launch(input: {
    readonly templateId: string;
    readonly version?: string;
    readonly tags: Readonly<Record<string, string>>;
    /** Idempotency token (the recovery id): a retried Launch starts no second instance. */
    readonly clientToken: string;
  }): Promise<string>;
}

/** Where and when a source's whole-host recovery drill runs (configuration `recoveryDrills[]`). */
export const RecoveryDrillConfig = z.strictObject({
  source: named(SOURCE_PATTERN, 'a source with protected volumes'),
  /** EventBridge Scheduler expression, UTC. @default weekly, Sunday 05:00 */
  schedule: z
    .string()
    .regex(/^(cron\((\S+ ){5}\S+\)|rate\([1-9][0-9]* (minute|minutes|hour|hours|day|days)\))$/, {
      error: 'must be an EventBridge Scheduler expression such as "cron(0 5 ? * SUN *)" or "rate(7 days)"',
    })
    .default('cron(0 5 ? * SUN *)'),
  /** The host every member is drilled on (throwaway names): {instanceId} or {tag}. */
  drillHost: z.union([
    z.strictObject({ instanceId }),
    z.strictObject({ tag: z.strictObject({ key: z.string().min(1).max(128), value: z.string().min(1).max(256) }) }),
  ]),
});
export type RecoveryDrillConfig = z.infer<typeof RecoveryDrillConfig>;
