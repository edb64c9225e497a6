import * as z from 'zod';
import { SOURCE_PATTERN } from '#core/archive-key.ts';
import { ProtectionPolicy } from '#core/protection.ts';
import { ALL_SOURCES } from '#core/slack/access.ts';

const SLACK_ID = /^[A-Z0-9]{2,32}$/;
/** JSON text parsed, then checked by `schema`. */
const json = <T extends z.ZodType>(schema: T, fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((s, ctx) => {
      try {
        return JSON.parse(s) as unknown;
      } catch {
        ctx.addIssue({ code: 'custom', message: 'must be JSON' });
        return z.NEVER;
      }
    })
    .pipe(schema);

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
  SLACK_USER_SOURCES: json(UserSources, '{}'),
  /** What restores may do (RestorePolicy as JSON, written at synth). */
  LIFEBOAT_POLICY: z.string().min(2),
  /** How long a Slack plan can be confirmed, in seconds. */
  SLACK_PLAN_SECONDS: z
    .string()
    .regex(/^[0-9]{1,5}$/)
    .default('900')
    .transform(Number)
    .pipe(z.number().int().min(60).max(1800)),
  /** The recovery state machine (`recover`, its Confirm, `status rc-…`). @default '' : recovery is not deployed */
  RECOVERY_STATE_MACHINE_ARN: z.union([z.literal(''), z.string().startsWith('arn:')]).default(''),
  /** The protect list as the recovery planner reads it (recoveryProtect in core/protection.ts, JSON written at synth). @default none */
  LIFEBOAT_PROTECT: json(z.array(ProtectionPolicy), '[]'),
});

export type SlackEnv = z.input<typeof SlackEnv>;
