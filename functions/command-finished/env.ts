import * as z from 'zod';

/** The completion function's environment; the CDK construct sets it from this same schema. */
export const CommandFinishedEnv = z.object({
  TABLE_NAME: z.string().min(3),
  TOPIC_ARN: z.string().startsWith('arn:'),
  OUTPUT_LOG_GROUP: z.string().min(1),
  RESTORE_DOCUMENT_NAME: z.string().min(3),
  POWERTOOLS_METRICS_NAMESPACE: z.string().min(1),
});
export type CommandFinishedEnv = z.infer<typeof CommandFinishedEnv>;
