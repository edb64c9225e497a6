import * as z from 'zod';

/** The catalog function's environment; the CDK construct sets it from this same schema. */
export const CatalogEnv = z.object({
  TABLE_NAME: z.string().min(3),
  BUCKET_NAME: z.string().min(3),
  ARCHIVE_PREFIX: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/),
});
export type CatalogEnv = z.infer<typeof CatalogEnv>;
