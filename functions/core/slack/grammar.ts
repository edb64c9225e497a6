import * as z from 'zod';
import { SOURCE_PATTERN, VOLUME_PATTERN } from '../archive-key.ts';
import { CHECK_MAX_CHARS, ENGINE_REQUESTS, EngineChoice } from '../engines/index.ts';
import { RECOVERY_ID_PATTERN, RecoveryRequest } from '../recovery/model.ts';
import { INSTANCE_ID_PATTERN } from '../restore/request.ts';
import { requestVerifyIssues } from '../restore/schemas.ts';

/** `[source/]volume` as typed in Slack. */
const VOLUME_REF = /^(?:([A-Za-z0-9][A-Za-z0-9_.-]{0,62})\/)?([A-Za-z0-9][A-Za-z0-9_.-]{0,99})$/;
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/;
const ARCHIVE_KEY = /^[A-Za-z0-9][A-Za-z0-9_./-]{0,1000}$/;
const RESTORE_ID = /^r-[a-z0-9]{1,16}-[a-f0-9]{8}$/;
const CONTAINER = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/;
const MINIMUM = /^[0-9]{1,15}$/;

export const USAGE = [
  '*Lifeboat* — restore Docker volumes from their archives.',
  '`/lifeboat help`',
  '`/lifeboat volumes` — protected volumes and their newest archive',
  '`/lifeboat list <volume>` — archives of a volume, newest first',
  '`/lifeboat plan <volume> [at <ISO time>] to <instance-id> [container <name> | data-only] [engine <name>] [minimum <n>] [check <text…>]` — what a restore would do',
  '`/lifeboat restore <volume> [at <ISO time> | archive <key>] to <instance-id> [container <name> | data-only] [preserve] [engine <name>] [minimum <n>] [check <text…>]` — shows the plan, then Confirm / Cancel',
  '`/lifeboat recover <source> to <instance-id> [at <ISO time>] [preserve]` — every protected volume of a lost host, in waves: shows the plan, then Confirm / Cancel',
  '`/lifeboat status <restore-id | recovery-id>`',
  '`/lifeboat cancel <restore-id>` — stop a running restore or drill (the host puts things back first)',
  '`/lifeboat drill <volume> to <instance-id> [engine <name>] [minimum <n>] [check <text…>]` — prove the newest archive restores (throwaway names, removed after)',
  '`<volume>` may be written `<source>/<volume>`; times look like `2026-11-27T03:00:00Z`.',
  `\`engine\` is one of ${ENGINE_REQUESTS.join(', ')} (default auto: from the archive); \`check\` takes the rest of the line, a read-only check such as \`select count(*) from orders\` or \`DBSIZE\`; \`minimum\` is the least its answer may be; \`data-only\` restores the volume and starts no container; with neither \`container\` nor \`data-only\`, the container is the one the protect config names for the volume (never the archive's).`,
].join('\n');

const VolumeRef = z.object({ source: z.string().regex(SOURCE_PATTERN).optional(), volume: z.string().regex(VOLUME_PATTERN) });
/** How the database is proven to answer; the request schema judges the whole again when the command is acted on. */
const Verify = z.object({
  engine: EngineChoice.optional(),
  check: z.string().max(CHECK_MAX_CHARS).optional(),
  expectMinimum: z.number().int().nonnegative().optional(),
});
const At = z.object({
  at: z
    .string()
    .regex(ISO_TIME)
    .refine((t) => !Number.isNaN(Date.parse(t)), 'not a real time'),
});

export const SlackCommand = z.discriminatedUnion('verb', [
  z.object({ verb: z.literal('help') }),
  z.object({ verb: z.literal('volumes') }),
  z.object({ verb: z.literal('list'), ...VolumeRef.shape }),
  z.object({
    verb: z.literal('plan'),
    ...VolumeRef.shape,
    at: At.shape.at.optional(),
    instanceId: z.string().regex(INSTANCE_ID_PATTERN),
    container: z.string().regex(CONTAINER).optional(),
    dataOnly: z.boolean().default(false),
    ...Verify.shape,
  }),
  z.object({
    verb: z.literal('restore'),
    ...VolumeRef.shape,
    at: At.shape.at.optional(),
    archiveKey: z.string().regex(ARCHIVE_KEY).optional(),
    instanceId: z.string().regex(INSTANCE_ID_PATTERN),
    container: z.string().regex(CONTAINER).optional(),
    preserve: z.boolean(),
    dataOnly: z.boolean().default(false),
    ...Verify.shape,
  }),
  /** One of the two ids: a restore's (`r-…`) or a recovery's (`rc-…`). */
  z.object({ verb: z.literal('status'), restoreId: z.string().regex(RESTORE_ID).optional(), recoveryId: z.string().regex(RECOVERY_ID_PATTERN).optional() }),
  z.object({ verb: z.literal('cancel'), restoreId: z.string().regex(RESTORE_ID) }),
  z.object({ verb: z.literal('drill'), ...VolumeRef.shape, instanceId: z.string().regex(INSTANCE_ID_PATTERN), ...Verify.shape }),
  /** A whole-host recovery of one source onto one instance. */
  z.object({
    verb: z.literal('recover'),
    source: z.string().regex(SOURCE_PATTERN),
    instanceId: z.string().regex(INSTANCE_ID_PATTERN),
    at: RecoveryRequest.shape.at,
    preserve: z.boolean().default(false),
  }),
]);
export type SlackCommand = z.infer<typeof SlackCommand>;

export type Parsed = { readonly ok: true; readonly command: SlackCommand } | { readonly ok: false; readonly error: string };

const MAX_TEXT = 2000;

/** The Slack word of a request field, for errors. */
const SLACK_WORD: Record<string, string> = { engine: 'engine', check: 'check', expectMinimum: 'minimum', health: 'health' };

/** Slack sends `&`, `<` and `>` in command text as entities; a check (SQL `<`, `>`) needs them back. */
const unescapeSlack = (text: string): string => text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');

/** A message that may quote the user's check: no control or bidi characters, no Slack mention markup (`<@`, `<!`, `<#`). */
const unmarked = (text: string): string =>
  text
    // eslint-disable-next-line no-control-regex -- exactly what is replaced
    .replace(/[\x00-\x1f\x7f\u202a-\u202e\u2066-\u2069]/g, '?')
    .replace(/<(?=[@!#])/g, '?');

/** Shows a user's token back to them safely: short, printable, no Slack markup. */
const shown = (token: string): string =>
  `\`${token
    .slice(0, 60)
    .replace(/[^\x20-\x7e]/g, '?')
    .replace(/[`<>&*_~]/g, '?')}\``;

/**
 * Parses the text after `/lifeboat`. Never throws: any mistake is an error that
 * says what is wrong, followed (by the caller) by the usage. Every value that
 * comes out has matched its allow pattern.
 */
export function parseSlackText(text: string): Parsed {
  if (text.length > MAX_TEXT) return { ok: false, error: `the command is too long (${text.length.toString()} characters; at most ${MAX_TEXT.toString()})` };
  const tokens = text
    .trim()
    .split(/[ \t]+/)
    .filter(Boolean);
  const [verb = 'help', ...rest] = tokens;
  const fail = (error: string): Parsed => ({ ok: false, error });
  const volumeRef = (token: string | undefined): { source?: string; volume: string } | string => {
    if (token === undefined) return 'a volume is missing';
    const m = VOLUME_REF.exec(token);
    if (!m?.[2]) return `${shown(token)} is not a volume name (letters, digits, _ . -, optionally \`source/volume\`)`;
    return m[1] ? { source: m[1], volume: m[2] } : { volume: m[2] };
  };

  // Options after the volume: `at <time>`, `archive <key>`, `to <instance>`, `container <name>`, `preserve`,
  // `data-only`, `engine <name>`, `minimum <n>`, and last `check <text…>`, which takes the rest of the line.
  const options = (allowed: readonly string[], words: readonly string[]): Record<string, string | true> | string => {
    const out: Record<string, string | true> = {};
    for (let i = 0; i < words.length; i++) {
      const word = (words[i] ?? '').toLowerCase();
      if (!allowed.includes(word)) return `${shown(words[i] ?? '')} is not understood here`;
      if (word in out) return `\`${word}\` is given twice`;
      if (word === 'preserve' || word === 'data-only') {
        out[word] = true;
        continue;
      }
      if (word === 'check') {
        if (i + 1 >= words.length) return '`check` needs a read-only check after it (it takes the rest of the line)';
        out.check = unescapeSlack(words.slice(i + 1).join(' '));
        break;
      }
      const value = words[i + 1];
      if (value === undefined) return `\`${word}\` needs a value`;
      out[word] = value;
      i++;
    }
    return out;
  };

  let candidate: unknown;
  switch (verb.toLowerCase()) {
    case 'help':
    case 'volumes':
      if (rest.length > 0) return fail(`\`${verb.toLowerCase()}\` takes no arguments`);
      candidate = { verb: verb.toLowerCase() };
      break;
    case 'list': {
      const ref = volumeRef(rest[0]);
      if (typeof ref === 'string') return fail(ref);
      if (rest.length > 1) return fail('`list` takes one volume');
      candidate = { verb: 'list', ...ref };
      break;
    }
    case 'status':
    case 'cancel': {
      const v = verb.toLowerCase();
      if (v === 'status' && rest.length === 1 && RECOVERY_ID_PATTERN.test(rest[0] ?? '')) {
        candidate = { verb: v, recoveryId: rest[0] };
        break;
      }
      if (rest.length !== 1 || !RESTORE_ID.test(rest[0] ?? ''))
        return fail(
          v === 'status'
            ? '`status` takes one restore id such as `r-mfx2k1a0-1a2b3c4d` or one recovery id such as `rc-20261127030000-1a2b3c4d`'
            : '`cancel` takes one restore id such as `r-mfx2k1a0-1a2b3c4d`',
        );
      candidate = { verb: v, restoreId: rest[0] };
      break;
    }
    case 'recover': {
      // `recover <source> to <instance> [at <time>] [preserve]`: only the source is positional.
      const source = rest[0];
      if (source === undefined) return fail('`recover` needs the source (the lost host’s name in the archives), then `to <instance-id>`');
      if (!SOURCE_PATTERN.test(source)) return fail(`${shown(source)} is not a source name (letters, digits, _ . -)`);
      const opts = options(['to', 'at', 'preserve'], rest.slice(1));
      if (typeof opts === 'string') return fail(opts);
      if (typeof opts.to !== 'string') return fail('say where: `to <instance-id>`');
      if (!INSTANCE_ID_PATTERN.test(opts.to)) return fail(`\`to\`: ${shown(opts.to)} is not an instance id (such as \`i-0123456789abcdef0\`)`);
      if (typeof opts.at === 'string' && !RecoveryRequest.shape.at.safeParse(opts.at).success)
        return fail(`\`at\`: ${shown(opts.at)} is not an ISO time with seconds, such as \`2026-11-27T03:00:00Z\``);
      candidate = { verb: 'recover', source, instanceId: opts.to, ...(typeof opts.at === 'string' ? { at: opts.at } : {}), preserve: opts.preserve === true };
      break;
    }
    case 'plan':
    case 'restore':
    case 'drill': {
      const v = verb.toLowerCase();
      const ref = volumeRef(rest[0]);
      if (typeof ref === 'string') return fail(ref);
      const verify = ['engine', 'minimum', 'check'];
      const allowed =
        v === 'plan'
          ? ['at', 'to', 'container', 'data-only', ...verify]
          : v === 'drill'
            ? ['to', ...verify]
            : ['at', 'archive', 'to', 'container', 'preserve', 'data-only', ...verify];
      const opts = options(allowed, rest.slice(1));
      if (typeof opts === 'string') return fail(opts);
      if (typeof opts.to !== 'string') return fail('say where: `to <instance-id>`');
      if (!INSTANCE_ID_PATTERN.test(opts.to)) return fail(`${shown(opts.to)} is not an instance id (such as \`i-0123456789abcdef0\`)`);
      if (opts.at !== undefined && opts.archive !== undefined) return fail('give `at <time>` or `archive <key>`, not both');
      if (typeof opts.at === 'string' && !At.safeParse({ at: opts.at }).success)
        return fail(`${shown(opts.at)} is not an ISO time such as \`2026-11-27T03:00:00Z\``);
      if (typeof opts.archive === 'string' && !ARCHIVE_KEY.test(opts.archive)) return fail(`${shown(opts.archive)} is not an archive key`);
      if (typeof opts.container === 'string' && !CONTAINER.test(opts.container)) return fail(`${shown(opts.container)} is not a container name`);
      if (opts.container !== undefined && opts['data-only'] !== undefined)
        return fail('give `container <name>` or `data-only`, not both (a data-only restore starts no container)');
      if (typeof opts.engine === 'string' && !EngineChoice.safeParse(opts.engine.toLowerCase()).success)
        return fail(`${shown(opts.engine)} is not an engine: one of ${ENGINE_REQUESTS.join(', ')}`);
      if (typeof opts.minimum === 'string' && !MINIMUM.test(opts.minimum)) return fail(`${shown(opts.minimum)} is not a whole number for \`minimum\``);
      const verification = {
        ...(typeof opts.engine === 'string' ? { engine: EngineChoice.parse(opts.engine.toLowerCase()) } : {}),
        ...(typeof opts.check === 'string' ? { check: opts.check } : {}),
        ...(typeof opts.minimum === 'string' ? { expectMinimum: Number(opts.minimum) } : {}),
      };
      // The request schema's own rules, said now rather than after the command is queued.
      const problems = requestVerifyIssues(verification, { dataOnly: opts['data-only'] === true });
      if (problems.length > 0) return fail(problems.map((p) => `\`${SLACK_WORD[p.path] ?? p.path}\` ${unmarked(p.message)}`).join('; '));
      candidate = {
        verb: v,
        ...ref,
        instanceId: opts.to,
        ...(typeof opts.at === 'string' ? { at: opts.at } : {}),
        ...(typeof opts.archive === 'string' ? { archiveKey: opts.archive } : {}),
        ...(typeof opts.container === 'string' ? { container: opts.container } : {}),
        ...(v === 'restore' ? { preserve: opts.preserve === true } : {}),
        ...(v === 'drill' ? {} : { dataOnly: opts['data-only'] === true }),
        ...verification,
      };
      break;
    }
    default:
      return fail(`${shown(verb)} is not a Lifeboat command`);
  }
  const parsed = SlackCommand.safeParse(candidate);
  return parsed.success ? { ok: true, command: parsed.data } : fail(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
}
