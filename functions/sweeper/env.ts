import * as z from 'zod';
import { CommandFinishedEnv } from '../command-finished/env.ts';

const seconds = z
  .string()
  .regex(/^[1-9][0-9]{0,6}$/, { error: 'must be a whole number of seconds' })
  .transform(Number);

/** The sweeper's environment: the completion function's, and its thresholds. The CDK construct sets it from this schema's input type. */
export const SweeperEnv = CommandFinishedEnv.extend({
  /** A restore without progress for this long is checked with SSM. */
  STALE_SECONDS: seconds,
  /** The command's timeout on the host (records that do not carry theirs). */
  COMMAND_TIMEOUT_SECONDS: seconds,
  /** Grace after that timeout before a command SSM still calls running is treated as lost. */
  MARGIN_SECONDS: seconds,
});
export type SweeperEnv = z.input<typeof SweeperEnv>;
