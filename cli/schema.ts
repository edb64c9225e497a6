import * as z from 'zod';
import { EXIT } from './errors.ts';
import { ArchiveEntry, RESTORE_STATES, RestoreRecord, VolumeSummary } from '#core/catalog/model.ts';
import { ENGINE_REQUESTS, ENGINE_SOURCES } from '#core/engines/index.ts';
import { CONSISTENCIES } from '#core/backup/schemas.ts';
import { BackupResult } from '#core/runbooks/results.ts';
import { Prediction, RECOVERY_STATES, RecoveryPlan, RecoveryRecord } from '#core/recovery/model.ts';

/** What a dry run answers (the core's RestorePlan), as it travels over the API and out of `--json`. */
export const RestorePlanSchema = z.object({
  archive: z.object({
    key: z.string(),
    takenAt: z.iso.datetime(),
    ageSeconds: z.number().int().nonnegative(),
    size: z.number().int().nonnegative(),
    sha256: z.string().nullable(),
    compression: z.string(),
    hasManifest: z.boolean(),
  }),
  target: z.object({
    instanceId: z.string(),
    online: z.boolean(),
    pingStatus: z.string(),
    platform: z.string().optional(),
    agentVersion: z.string().optional(),
    sources: z.array(z.string()).readonly().optional(),
  }),
  volume: z.string(),
  containerName: z.string(),
  dataOnly: z.boolean(),
  mountPath: z.object({ path: z.string(), from: z.enum(['request', 'manifest', 'engine default', 'host']) }),
  verification: z.object({
    engine: z.enum(ENGINE_REQUESTS),
    from: z.enum([...ENGINE_SOURCES, 'data-only']),
    detail: z.string(),
    health: z.array(z.string()).readonly().nullable(),
    check: z
      .object({ text: z.string(), from: z.enum(['request', 'protect config', 'engine default']), argv: z.array(z.string()).readonly().nullable() })
      .nullable(),
    expectMinimum: z.object({ value: z.number().int().nonnegative(), from: z.enum(['request', 'protect config']) }).nullable(),
  }),
  recreation: z.object({ dropped: z.array(z.object({ what: z.string(), reason: z.string() })).readonly(), otherMounts: z.array(z.string()).readonly() }),
  existingVolume: z.string(),
  missingContainer: z.string(),
  volumeCreation: z.object({
    manifestRecorded: z.object({ driver: z.string(), driverOpts: z.record(z.string(), z.string()) }).nullable(),
    used: z.object({ driver: z.string(), driverOpts: z.record(z.string(), z.string()), from: z.enum(['request', 'protect config', 'default']) }),
  }),
  integrity: z.string(),
  expectedSize: z.object({ bytes: z.number().int().nonnegative(), from: z.enum(['request', 'manifest', 'estimate', 'archive size']) }),
  /** An API deployed before plans predicted their time answers without it. */
  predicted: Prediction.default({ seconds: null, basis: 'the Lifeboat API that answered is older than this CLI and predicts nothing' }),
  parameters: z.record(z.string(), z.string()),
});

/** What `DELETE /sources/{source}/restores/{id}` (and `lifeboat cancel`) answers. */
export const CancelOutcomeSchema = z.object({ restoreId: z.string(), state: z.enum(['cancelling', ...RESTORE_STATES]), message: z.string() });

export const StartedRestoreSchema = z.object({ restoreId: z.string(), state: z.enum(RESTORE_STATES), commandId: z.string(), plan: RestorePlanSchema });

export const ArchiveListItemSchema = ArchiveEntry.omit({ manifest: true }).extend({ hasManifest: z.boolean() });
export const VolumeViewSchema = VolumeSummary.extend({ newestAgeSeconds: z.number() });

/** What `POST /sources/{source}/backups` answers (the core's StartedBackup and the status URL). */
export const StartedBackupSchema = z.object({
  backupId: z.string(),
  requestedBy: z.string(),
  commandId: z.string(),
  source: z.string(),
  instanceId: z.string(),
  target: z.object({
    online: z.boolean(),
    pingStatus: z.string(),
    platform: z.string().optional(),
    agentVersion: z.string().optional(),
    sources: z.array(z.string()).readonly().optional(),
  }),
  volume: z.string().nullable(),
  hostPath: z.string().nullable(),
  containerName: z.string().nullable(),
  consistency: z.enum(CONSISTENCIES),
  destination: z.string(),
  parameters: z.record(z.string(), z.string()),
  statusUrl: z.string(),
});

/** What `GET /sources/{source}/backups/{id}` answers (the core's BackupStatus). */
export const BackupStatusSchema = z.object({
  commandId: z.string(),
  source: z.string(),
  backupId: z.string().nullable(),
  instanceId: z.string().nullable(),
  status: z.string(),
  statusDetails: z.string().nullable(),
  done: z.boolean(),
  result: BackupResult.nullable(),
  problem: z.string().nullable(),
});

/** What `POST /sources/{source}/recoveries` answers (the core's StartedRecovery and the status URL). */
export const StartedRecoverySchema = z.object({
  recoveryId: z.string(),
  state: z.enum(RECOVERY_STATES),
  executionArn: z.string(),
  plan: RecoveryPlan,
  statusUrl: z.string().optional(),
});

/** `--json` output of each command: one JSON document on stdout. */
const EXIT_NAMES = Object.keys(EXIT) as [keyof typeof EXIT, ...(keyof typeof EXIT)[]];

export const JsonOutput = {
  volumes: z.strictObject({ volumes: z.array(VolumeViewSchema) }),
  archives: z.strictObject({ source: z.string(), volume: z.string(), archives: z.array(ArchiveListItemSchema) }),
  plan: z.strictObject({ plan: RestorePlanSchema }),
  restore: z.strictObject({ restoreId: z.string(), plan: RestorePlanSchema, record: RestoreRecord.nullable() }),
  status: z.strictObject({ record: RestoreRecord }),
  cancel: z.strictObject({ restoreId: z.string(), state: z.enum(['cancelling', ...RESTORE_STATES]), message: z.string() }),
  backup: z.strictObject({ result: BackupResult, archive: ArchiveEntry, container: z.string().nullable() }),
  /** `lifeboat backup` with a deployed Lifeboat: the command sent, and (unless --no-wait) how it ended. */
  backupSent: z.strictObject({ backup: StartedBackupSchema, status: BackupStatusSchema.nullable() }),
  /** `lifeboat status <command id>`: a backup run through a deployed Lifeboat. */
  backupStatus: z.strictObject({ status: BackupStatusSchema }),
  /** `lifeboat recover --dry-run`. */
  recoveryPlan: z.strictObject({ plan: RecoveryPlan }),
  /** `lifeboat recover`: what was started and, once over, its record (the report in `record.report`). */
  recovery: z.strictObject({ recoveryId: z.string(), executionArn: z.string(), plan: RecoveryPlan, record: RecoveryRecord.nullable() }),
  /** `lifeboat status <recovery id>`. */
  recoveryStatus: z.strictObject({ record: RecoveryRecord }),
  error: z.strictObject({
    error: z.strictObject({
      /** The exit code's name (EXIT in errors.ts): usage, failed, notFound, refused, unavailable. */
      code: z.enum(EXIT_NAMES),
      exitCode: z.number().int(),
      message: z.string(),
      hint: z.string().optional(),
      details: z.record(z.string(), z.unknown()).optional(),
    }),
  }),
};
