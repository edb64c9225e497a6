import * as z from 'zod';

/** The freshness function's environment; the CDK construct sets it from this same schema. */
export const FreshnessEnv = z.object({
  TABLE_NAME: z.string().min(3),
  POWERTOOLS_METRICS_NAMESPACE: z.string().min(1),
});
export type FreshnessEnv = z.infer<typeof FreshnessEnv>;
