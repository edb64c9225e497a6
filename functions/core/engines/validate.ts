import * as z from 'zod';
import { CHECK_MAX_CHARS, CUSTOM_COMMAND, type CheckRules } from './checks.ts';
import { DATABASE_ENGINES, ENGINE_PROFILES, EngineChoice, PLACEHOLDERS, type Engine, type EngineRequest } from './profiles.ts';

// Line breaks, tabs and other control characters: a check is one line of printable text.
// eslint-disable-next-line no-control-regex -- these are exactly what is refused
const CONTROL = /[\x00-\x1f\x7f]/;

function rulesProblem(what: string, rules: CheckRules, text: string): string | null {
  if (text.length > CHECK_MAX_CHARS) return `${what} must be at most ${CHECK_MAX_CHARS.toString()} characters`;
  if (CONTROL.test(text)) return `${what} must be one line, without line breaks, tabs or control characters`;
  const refined = rules.refine?.(text);
  if (refined) return refined;
  if (!rules.pattern.test(text)) return `${what} must ${rules.shape}`;
  if (rules.deny?.test(text.toLowerCase())) return `${what} may not ${rules.denied}`;
  return null;
}

/**
 * Why `text` is refused as `engine`'s read-only check, or null when it is accepted
 * (for custom: why it is refused as a custom command).
 */
export function checkProblem(engine: Engine, text: string): string | null {
  const rules = ENGINE_PROFILES[engine].checkRules;
  if (rules === null) return `${engine} takes no check (it ${engine === 'running' ? `only proves the container stays up` : 'verifies nothing'})`;
  return rulesProblem(engine === 'custom' ? 'custom commands' : `${engine} checks`, rules, text);
}

/** Engines whose rules accept `text` as a check (what `auto` may still become). */
export const enginesAccepting = (text: string): Engine[] => DATABASE_ENGINES.filter((e) => checkProblem(e, text) === null);

/** A check for one engine, as a zod string (the field's name comes from where it is used). */
export const checkSchema = (engine: Engine): z.ZodType<string> =>
  z.string().superRefine((text, ctx) => {
    const problem = checkProblem(engine, text);
    if (problem !== null) ctx.addIssue({ code: 'custom', message: problem });
  });

/** A custom health or check command as the operator writes it (words one space apart). */
export const CustomCommand = z.string().superRefine((text, ctx) => {
  const problem = rulesProblem('custom commands', CUSTOM_COMMAND, text);
  if (problem !== null) ctx.addIssue({ code: 'custom', message: problem });
});

/** The fields of a verification, to spread into a request schema with engineVerifyIssues as its refinement. */
export const ENGINE_VERIFY_FIELDS = {
  /** @default auto: from the archive, else on the host from the data */
  engine: EngineChoice.default('auto'),
  /** The read-only check (SQL SELECT, redis command, mongosh count, or a custom command); its first line is recorded. */
  check: z.string().optional(),
  /** custom only: the command that succeeds once the database answers. */
  health: z.string().optional(),
  /** The check's answer must be an integer at least this big. */
  expectMinimum: z.number({ error: 'must be a number' }).int({ error: 'must be a whole number' }).nonnegative({ error: 'must be 0 or more' }).optional(),
};

/** A verification as parsed field by field, before the rules between fields. */
export interface EngineVerifyInput {
  readonly engine: EngineRequest;
  readonly check?: string | undefined;
  readonly health?: string | undefined;
  readonly expectMinimum?: number | undefined;
}

/**
 * What is wrong with a verification, each problem with the field it is about: a check
 * the engine refuses (with `auto`, one no engine accepts), a health command anywhere but
 * custom or missing there, an expectMinimum without a check.
 */
export function engineVerifyIssues(v: EngineVerifyInput): { path: 'check' | 'health' | 'expectMinimum'; message: string }[] {
  const issues: { path: 'check' | 'health' | 'expectMinimum'; message: string }[] = [];
  if (v.engine === 'custom') {
    const problem =
      v.health === undefined
        ? 'custom needs a health command (a program and its arguments, one space apart)'
        : rulesProblem('custom commands', CUSTOM_COMMAND, v.health);
    if (problem !== null) issues.push({ path: 'health', message: problem });
  } else if (v.health !== undefined) {
    issues.push({ path: 'health', message: `only custom takes a health command; ${v.engine} has its own` });
  }
  if (v.check !== undefined) {
    const problem = v.engine === 'auto' ? autoProblem(v.check) : checkProblem(v.engine, v.check);
    if (problem !== null) issues.push({ path: 'check', message: problem });
  }
  if (v.expectMinimum !== undefined && v.check === undefined) issues.push({ path: 'expectMinimum', message: 'needs a check whose answer is a number' });
  return issues;
}

/**
 * How a restore or drill proves the database answers: the engine (or `auto`), an
 * optional read-only check and the minimum its answer must reach, and for `custom`
 * the operator's health and check commands. Errors name the field.
 */
export const EngineVerify = z.strictObject(ENGINE_VERIFY_FIELDS).superRefine((v, ctx) => {
  for (const { path, message } of engineVerifyIssues(v)) ctx.addIssue({ code: 'custom', path: [path], message });
});
export type EngineVerify = z.infer<typeof EngineVerify>;

function autoProblem(text: string): string | null {
  if (enginesAccepting(text).length > 0) return null;
  const why = CONTROL.test(text) ? ': it must be one line, without line breaks, tabs or control characters' : '';
  return `suits no engine's check rules${why}; name the engine (${DATABASE_ENGINES.join(', ')}) to be told what it accepts`;
}

/**
 * The check text the host will run: the request's, else the engine's default (null: health alone).
 * With `auto` the default is the detected engine's, so it is left to the host.
 */
export const effectiveCheck = (engine: EngineRequest, check: string | undefined): string | null =>
  check ?? (engine === 'auto' ? null : ENGINE_PROFILES[engine].defaultCheck);

/**
 * A profile's argument list with its placeholders replaced, word for word, as the host's
 * `engine_argv` does: what a plan shows will run in the container. Null: nothing runs.
 * For custom, `text` is the operator's command and is split on spaces.
 */
export function engineArgv(engine: Engine, kind: 'health' | 'check', values: { user?: string; text?: string }): string[] | null {
  const profile = ENGINE_PROFILES[engine];
  if (engine === 'custom') return values.text ? values.text.split(' ').filter(Boolean) : null;
  const template = kind === 'health' ? profile.health : profile.check;
  if (template === null) return null;
  const text = kind === 'check' ? (values.text ?? profile.defaultCheck) : values.text;
  if (kind === 'check' && text === null) return null;
  const user = values.user ?? profile.defaultUser ?? '';
  return template.flatMap((word) => {
    if (word === PLACEHOLDERS.user) return [user];
    if (word === PLACEHOLDERS.query) return [text ?? ''];
    if (word === PLACEHOLDERS.words) return (text ?? '').split(' ').filter(Boolean);
    return [word];
  });
}
