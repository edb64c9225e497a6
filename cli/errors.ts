import { ZodError } from 'zod';
import { LockHeldError } from '#core/catalog/model.ts';
import { ClientError } from '#core/restore/errors.ts';
import { ParameterError } from '#core/runbooks/parameters.ts';

/** Exit codes, documented in docs/cli.md and `lifeboat --help`. */
export const EXIT = {
  ok: 0,
  /** The restore or backup ran and failed (or was refused by the host); the host is as it was. */
  failed: 1,
  /** Bad arguments: nothing was done. */
  usage: 2,
  /** No such volume, archive or restore. */
  notFound: 3,
  /** Refused: another restore holds the volume, the instance is offline, the archive asks for something unsafe. */
  refused: 4,
  /** Something Lifeboat needs is not there: Docker, the API, credentials, the state folder. */
  unavailable: 5,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** Each exit code's name: `error.code` in `--json` output. */
export const EXIT_NAME = Object.fromEntries(Object.entries(EXIT).map(([name, code]) => [code, name])) as { [C in ExitCode]: keyof typeof EXIT };

/** A command-line error of commander's (unknown option or command, missing argument, a value not among the choices) as `--json` prints it. */
export function usageErrorJson(error: { code: string; message: string }): { code: 'usage'; exitCode: 2; message: string; hint: string } {
  return {
    code: 'usage',
    exitCode: EXIT.usage,
    // No command at all: commander printed the help on stderr, and its message is only `(outputHelp)`.
    message: error.code === 'commander.help' ? 'a command is needed: lifeboat [options] <command>' : error.message.replace(/^error: /, '').trim(),
    hint: `nothing was done; \`lifeboat --help\` lists the commands and \`lifeboat <command> --help\` their options (${error.code})`,
  };
}

/** An error for the operator: what went wrong, and what to do about it. */
export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    readonly exitCode: ExitCode,
    message: string,
    readonly hint?: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
}

const CODE_BY_STATUS: Record<number, ExitCode> = { 400: EXIT.usage, 404: EXIT.notFound, 409: EXIT.refused, 422: EXIT.refused, 429: EXIT.unavailable };

/** Maps anything thrown by the core, an adapter or the API to a {@link CliError}. */
export function toCliError(error: unknown): CliError {
  if (error instanceof CliError) return error;
  if (error instanceof ZodError) {
    const fields = error.issues.map((i) => `${i.path.join('.') || 'value'}: ${i.message}`);
    return new CliError(EXIT.usage, `invalid ${fields.join('; ')}`, 'nothing was changed; see `lifeboat <command> --help`');
  }
  if (error instanceof ParameterError) return new CliError(EXIT.usage, error.message, 'nothing was changed');
  if (error instanceof LockHeldError) {
    return new CliError(EXIT.refused, error.message, `wait for it (lifeboat status ${error.holder}) or for the lock to expire`);
  }
  if (error instanceof ClientError) {
    return new CliError(CODE_BY_STATUS[error.statusCode] ?? EXIT.failed, error.message, undefined, error.details);
  }
  const message = error instanceof Error ? error.message : String(error);
  return new CliError(EXIT.failed, `unexpected error: ${message}`);
}
