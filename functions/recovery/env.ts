import * as z from 'zod';

/** The recovery tasks function's environment; the CDK construct (lib/recovery.ts) sets it from this same schema. */
export const RecoveryTasksEnv = z.object({
  TABLE_NAME: z.string().min(3),
  BUCKET_NAME: z.string().min(3),
  RESTORE_DOCUMENT_NAME: z.string().min(3),
  OUTPUT_LOG_GROUP: z.string().min(1),
  HELPER_IMAGE: z.string().min(1),
  TOPIC_ARN: z.string().startsWith('arn:'),
  /** What restores may do (RestorePolicy as JSON, written at synth). */
  LIFEBOAT_POLICY: z.string().min(2),
  /** The protected volumes (ProtectionPolicy[] as JSON, written at synth): each one's recovery role. */
  LIFEBOAT_PROTECT: z.string().min(2),
  /** Scheduled whole-host recovery drills (RecoveryDrillConfig[] as JSON): where each source's drill runs. */
  RECOVERY_DRILLS: z.string().min(2),
  /** The tag every Lifeboat host carries (a launched replacement gets it, so it may receive the restore document). */
  INSTANCE_TAG_KEY: z.string().min(1),
  INSTANCE_TAG_VALUE: z.string().min(1),
  /** The launch template ids a recovery may launch its replacement from (JSON array of lt-… ids; `[]`: none): plans naming another are refused. */
  LAUNCH_TEMPLATES: z.string().min(2),
  LIFEBOAT_RUNBOOKS_DIR: z.string().startsWith('/'),
  POWERTOOLS_METRICS_NAMESPACE: z.string().min(1),
});
export type RecoveryTasksEnv = z.infer<typeof RecoveryTasksEnv>;

/**
 * The execution-ended rule (lib/recovery.ts) invokes this function with
 * `{task: 'report', input: {recoveryId: <execution name>, error: {Error: 'Lifeboat.Execution<status>', Cause}}}`
 * when an execution ended FAILED, TIMED_OUT or ABORTED, so that no recovery stays running.
 */
export const EXECUTION_ENDED_ERROR_PREFIX = 'Lifeboat.Execution';
export const EXECUTION_ENDED_STATUSES = ['FAILED', 'TIMED_OUT', 'ABORTED'] as const;
