import * as z from 'zod';
import { SOURCE_PATTERN } from '#core/archive-key.ts';
import { ALL_SOURCES } from '#core/slack/access.ts';

const SLACK_ID = /^[A-Z0-9]{2,32}$/;
const ids = z
  .string()
  .transform((s) => s.split(',').filter(Boolean))
  .pipe(z.array(z.string().regex(SLACK_ID)).min(1));

/** `{"U0ALICE":["shop-db"],"U0BOB":["*"]}`: the sources each user may act on. */
export const UserSources = z.record(z.string().regex(SLACK_ID), z.array(z.union([z.literal(ALL_SOURCES), z.string().regex(SOURCE_PATTERN)])).min(1));
export type UserSources = z.infer<typeof UserSources>;

/** The Slack functions' environment; the CDK construct sets it from this same schema's input. */
export const SlackEnv = z.object({
  TABLE_NAME: z.string().min(3),
  BUCKET_NAME: z.string().min(3),
  RESTORE_DOCUMENT_NAME: z.string().min(3),
  /** The cancel-restore document: a running restore is stopped with TERM so that it puts the host back. */
  CANCEL_DOCUMENT_NAME: z.string().min(3),
  OUTPUT_LOG_GROUP: z.string().min(1),
  HELPER_IMAGE: z.string().min(1),
  LIFEBOAT_RUNBOOKS_DIR: z.string().startsWith('/'),
  /** Secrets Manager secret holding the signing secret (its ARN: never the value). */
  SIGNING_SECRET_ARN: z.string().startsWith('arn:'),
  WORK_QUEUE_URL: z.string().startsWith('https://'),
  SLACK_TEAM_IDS: ids,
  SLACK_CHANNEL_IDS: ids,
  SLACK_USER_IDS: ids,
  /** {@link UserSources} as JSON. @default nobody acts on any source */
  SLACK_USER_SOURCES: z
    .string()
    .default('{}')
    .transform((s, ctx) => {
      try {
        return JSON.parse(s) as unknown;
      } catch {
        ctx.addIssue({ code: 'custom', message: 'must be JSON' });
        return z.NEVER;
      }
    })
    .pipe(UserSources),
  /** What restores may do (RestorePolicy as JSON, written at synth). */
  LIFEBOAT_POLICY: z.string().min(2),
  /** How long a Slack plan can be confirmed, in seconds. */
  SLACK_PLAN_SECONDS: z
    .string()
    .regex(/^[0-9]{1,5}$/)
    .default('900')
    .transform(Number)
    .pipe(z.number().int().min(60).max(1800)),
});
export type SlackEnv = z.input<typeof SlackEnv>;
