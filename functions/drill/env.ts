import * as z from 'zod';

/** The drill function's environment; the CDK construct sets it from this same schema. */
export const DrillEnv = z.object({
  TABLE_NAME: z.string().min(3),
  BUCKET_NAME: z.string().min(3),
  RESTORE_DOCUMENT_NAME: z.string().min(3),
  OUTPUT_LOG_GROUP: z.string().min(1),
  HELPER_IMAGE: z.string().min(1),
  TOPIC_ARN: z.string().startsWith('arn:'),
  /** What the operator allows (image allowlist, per-volume settings), as JSON. */
  LIFEBOAT_POLICY: z.string().min(2),
  LIFEBOAT_RUNBOOKS_DIR: z.string().startsWith('/'),
  POWERTOOLS_METRICS_NAMESPACE: z.string().min(1),
});
export type DrillEnv = z.infer<typeof DrillEnv>;
