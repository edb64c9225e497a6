import * as z from 'zod';

const ids = z.string().transform((s) => s.split(',').filter(Boolean)).pipe(z.array(z.string().regex(/^[A-Z0-9]{2,32}$/)).min(1));

/** The Slack functions' environment; the CDK construct sets it from this same schema's input. */
export const SlackEnv = z.object({
  TABLE_NAME: z.string().min(3),
  BUCKET_NAME: z.string().min(3),
  RESTORE_DOCUMENT_NAME: z.string().min(3),
  OUTPUT_LOG_GROUP: z.string().min(1),
  HELPER_IMAGE: z.string().min(1),
  LIFEBOAT_RUNBOOKS_DIR: z.string().startsWith('/'),
  /** Secrets Manager secret holding the signing secret (its ARN: never the value). */
  SIGNING_SECRET_ARN: z.string().startsWith('arn:'),
  WORK_QUEUE_URL: z.string().startsWith('https://'),
  SLACK_TEAM_IDS: ids,
  SLACK_CHANNEL_IDS: ids,
  SLACK_USER_IDS: ids,
});
export type SlackEnv = z.input<typeof SlackEnv>;
