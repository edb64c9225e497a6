import * as z from 'zod';

/** The restore API's environment; the CDK construct sets it from this same schema. */
export const RestoreApiEnv = z.object({
  TABLE_NAME: z.string().min(3),
  IDEMPOTENCY_TABLE_NAME: z.string().min(3),
  BUCKET_NAME: z.string().min(3),
  RESTORE_DOCUMENT_NAME: z.string().min(3),
  /** The cancel-restore document: a running restore is stopped with TERM so that it puts the host back. */
  CANCEL_DOCUMENT_NAME: z.string().min(3),
  /** The backup-volume document (`POST /sources/{source}/backups`). */
  BACKUP_DOCUMENT_NAME: z.string().min(3),
  /** Key prefix of the archive convention (backups upload under `<prefix>/<source>/`). */
  ARCHIVE_PREFIX: z.string().min(1),
  /** The archive bucket's region, handed to the backup document. */
  ARCHIVE_REGION: z.string().min(1),
  OUTPUT_LOG_GROUP: z.string().min(1),
  HELPER_IMAGE: z.string().min(1),
  LIFEBOAT_RUNBOOKS_DIR: z.string().startsWith('/'),
  POWERTOOLS_METRICS_NAMESPACE: z.string().min(1),
  /** What restores may do (RestorePolicy as JSON, written at synth). */
  LIFEBOAT_POLICY: z.string().min(2),
});
export type RestoreApiEnv = z.infer<typeof RestoreApiEnv>;
