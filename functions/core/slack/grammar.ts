import * as z from 'zod';
import { SOURCE_PATTERN, VOLUME_PATTERN } from '../archive-key.ts';
import { INSTANCE_ID_PATTERN } from '../restore/request.ts';

/** `[source/]volume` as typed in Slack. */
const VOLUME_REF = /^(?:([A-Za-z0-9][A-Za-z0-9_.-]{0,62})\/)?([A-Za-z0-9][A-Za-z0-9_.-]{0,99})$/;
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/;
const ARCHIVE_KEY = /^[A-Za-z0-9][A-Za-z0-9_./-]{0,1000}$/;
const RESTORE_ID = /^r-[a-z0-9]{1,16}-[a-f0-9]{8}$/;
const CONTAINER = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/;

export const USAGE = [
  '*Lifeboat* — restore Docker volumes from their archives.',
  '`/lifeboat help`',
  '`/lifeboat volumes` — protected volumes and their newest archive',
  '`/lifeboat list <volume>` — archives of a volume, newest first',
  '`/lifeboat plan <volume> [at <ISO time>] to <instance-id>` — what a restore would do',
  '`/lifeboat restore <volume> [at <ISO time> | archive <key>] to <instance-id> [container <name>] [preserve]` — shows the plan, then Confirm / Cancel',
  '`/lifeboat status <restore-id>`',
  '`/lifeboat cancel <restore-id>` — stop a running restore or drill (the host puts things back first)',
  '`/lifeboat drill <volume> to <instance-id>` — prove the newest archive restores (throwaway names, removed after)',
  '`<volume>` may be written `<source>/<volume>`; times look like `2026-11-27T03:00:00Z`.',
].join('\n');

const VolumeRef = z.object({ source: z.string().regex(SOURCE_PATTERN).optional(), volume: z.string().regex(VOLUME_PATTERN) });
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
  z.object({ verb: z.literal('plan'), ...VolumeRef.shape, at: At.shape.at.optional(), instanceId: z.string().regex(INSTANCE_ID_PATTERN) }),
  z.object({
    verb: z.literal('restore'),
    ...VolumeRef.shape,
    at: At.shape.at.optional(),
    archiveKey: z.string().regex(ARCHIVE_KEY).optional(),
    instanceId: z.string().regex(INSTANCE_ID_PATTERN),
    container: z.string().regex(CONTAINER).optional(),
    preserve: z.boolean(),
  }),
  z.object({ verb: z.literal('status'), restoreId: z.string().regex(RESTORE_ID) }),
  z.object({ verb: z.literal('cancel'), restoreId: z.string().regex(RESTORE_ID) }),
  z.object({ verb: z.literal('drill'), ...VolumeRef.shape, instanceId: z.string().regex(INSTANCE_ID_PATTERN) }),
]);
export type SlackCommand = z.infer<typeof SlackCommand>;

export type Parsed = { readonly ok: true; readonly command: SlackCommand } | { readonly ok: false; readonly error: string };

const MAX_TEXT = 2000;

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

  // Options after the volume: `at <time>`, `archive <key>`, `to <instance>`, `container <name>`, `preserve`.
  const options = (allowed: readonly string[], words: readonly string[]): Record<string, string | true> | string => {
    const out: Record<string, string | true> = {};
    for (let i = 0; i < words.length; i++) {
      const word = (words[i] ?? '').toLowerCase();
      if (!allowed.includes(word)) return `${shown(words[i] ?? '')} is not understood here`;
      if (word in out) return `\`${word}\` is given twice`;
      if (word === 'preserve') {
        out.preserve = true;
        continue;
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
      if (rest.length !== 1 || !RESTORE_ID.test(rest[0] ?? '')) return fail(`\`${v}\` takes one restore id such as \`r-mfx2k1a0-1a2b3c4d\``);
      candidate = { verb: v, restoreId: rest[0] };
      break;
    }
    case 'plan':
    case 'restore':
    case 'drill': {
      const v = verb.toLowerCase();
      const ref = volumeRef(rest[0]);
      if (typeof ref === 'string') return fail(ref);
      const allowed = v === 'plan' ? ['at', 'to'] : v === 'drill' ? ['to'] : ['at', 'archive', 'to', 'container', 'preserve'];
      const opts = options(allowed, rest.slice(1));
      if (typeof opts === 'string') return fail(opts);
      if (typeof opts.to !== 'string') return fail('say where: `to <instance-id>`');
      if (!INSTANCE_ID_PATTERN.test(opts.to)) return fail(`${shown(opts.to)} is not an instance id (such as \`i-0123456789abcdef0\`)`);
      if (opts.at !== undefined && opts.archive !== undefined) return fail('give `at <time>` or `archive <key>`, not both');
      if (typeof opts.at === 'string' && !At.safeParse({ at: opts.at }).success)
        return fail(`${shown(opts.at)} is not an ISO time such as \`2026-11-27T03:00:00Z\``);
      if (typeof opts.archive === 'string' && !ARCHIVE_KEY.test(opts.archive)) return fail(`${shown(opts.archive)} is not an archive key`);
      if (typeof opts.container === 'string' && !CONTAINER.test(opts.container)) return fail(`${shown(opts.container)} is not a container name`);
      candidate = {
        verb: v,
        ...ref,
        instanceId: opts.to,
        ...(typeof opts.at === 'string' ? { at: opts.at } : {}),
        ...(typeof opts.archive === 'string' ? { archiveKey: opts.archive } : {}),
        ...(typeof opts.container === 'string' ? { container: opts.container } : {}),
        ...(v === 'restore' ? { preserve: opts.preserve === true } : {}),
      };
      break;
    }
    default:
      return fail(`${shown(verb)} is not a Lifeboat command`);
  }
  const parsed = SlackCommand.safeParse(candidate);
  return parsed.success ? { ok: true, command: parsed.data } : fail(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
}
