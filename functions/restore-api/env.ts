import * as z from 'zod';

/** The restore API's environment; the CDK construct sets it from this same schema. */
export const RestoreApiEnv = z.object({
  TABLE_NAME: z.string().min(3),
  IDEMPOTENCY_TABLE_NAME: z.string().min(3),
  BUCKET_NAME: z.string().min(3),
  RESTORE_DOCUMENT_NAME: z.string().min(3),
  /** The cancel-restore document: a running restore is stopped with TERM so that it puts the host back. */
  CANCEL_DOCUMENT_NAME: z.string().min(3),
  /**
   * The backup-volume document (`POST /sources/{source}/backups`). The construct always sets
   * it (the output type requires it); a function deployed without it answers the backup
   * routes 404 "runs no backups" rather than failing every route at cold start.
   */
  BACKUP_DOCUMENT_NAME: z.union([z.literal(''), z.string().min(3)]).default(''),
  /** Key prefix of the archive convention (backups upload under `<prefix>/<source>/`). */
  ARCHIVE_PREFIX: z.string().min(1).default('archives'),
  /** The archive bucket's region, handed to the backup document. @default '' : the host's own region */
  ARCHIVE_REGION: z.string().default(''),
  OUTPUT_LOG_GROUP: z.string().min(1),
  HELPER_IMAGE: z.string().min(1),
  LIFEBOAT_RUNBOOKS_DIR: z.string().startsWith('/'),
  POWERTOOLS_METRICS_NAMESPACE: z.string().min(1),
  /** What restores may do (RestorePolicy as JSON, written at synth); its volumes are what a backup may read on a shared host. */
  LIFEBOAT_POLICY: z.string().min(2),
  /**
   * The recovery state machine (`POST /sources/{source}/recoveries`). '' : the API was
   * deployed without it, and the recovery routes do not exist (the handler answers 404).
   */
  RECOVERY_STATE_MACHINE_ARN: z.union([z.literal(''), z.string().startsWith('arn:')]).default(''),
  /**
   * The protect list as the recovery planner reads it (recoveryProtect in core/protection.ts: each entry's
   * source, volume, recovery role and scheduled backup; JSON written at synth). '[]' without
   * recoveries.
   */
  LIFEBOAT_PROTECT: z.string().min(2).default('[]'),
});
export type RestoreApiEnv = z.infer<typeof RestoreApiEnv>;
