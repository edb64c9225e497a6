/**
 * What a read-only check may say, per engine. Every pattern here is also the host's
 * (bash `[[ =~ ]]`, POSIX ERE): no `\d`, `\s`, `\b`, lookarounds or flags, and no
 * backslash inside brackets, so the service and the host accept exactly the same text.
 * Deny patterns are matched against the lower-cased text on both sides.
 */
import { UNSAFE_QUERY_FUNCTIONS, UNSAFE_QUERY_PATTERN, VERIFY_QUERY_PATTERN } from '../restore/request.ts';

/** The longest check or custom command accepted (characters). */
export const CHECK_MAX_CHARS = 500;
/**
 * Every character any engine's check (or a custom command) may hold, 1 to 500 of them:
 * the restore document's VerifyQuery pattern. The host applies the engine's own rules
 * (below) once it knows the engine.
 */
export const CHECK_TEXT_PATTERN = /^[A-Za-z0-9_ ,.*()=<>'"{}:/@%#+-]{1,500}$/;

/** How one engine's check text is judged. */
export interface CheckRules {
  /** Allow pattern (ERE-compatible) the whole text must match. */
  readonly pattern: RegExp;
  /** Said when the allow pattern fails, after "<engine> checks must ". */
  readonly shape: string;
  /** Denylist (ERE-compatible) over the lower-cased text, on top of the allow pattern. */
  readonly deny: RegExp | null;
  /** Said when the denylist matches, after "<engine> checks may not ". */
  readonly denied: string;
  /** Finer rules than a pattern can say (a command's arity); a problem, or null. */
  readonly refine?: (text: string) => string | null;
}

// ------------------------------------------------------------------ SQL

/**
 * PostgreSQL: the request schema's VerifyQuery rules (one SELECT; no server-file,
 * large-object, settings or SQL-running functions, and none that builds or rewrites
 * text), run in a read-only transaction.
 */
export const POSTGRES_CHECK: CheckRules = {
  pattern: VERIFY_QUERY_PATTERN,
  shape: "be one SELECT of letters, digits, spaces and _ ,.*()=<>'",
  deny: UNSAFE_QUERY_PATTERN,
  denied: `name server-file, large-object, settings or SQL-running functions (pg_*, lo_*, *_to_xml, dblink*, current_setting, set_config), nor any of ${UNSAFE_QUERY_FUNCTIONS.map((f) => f.replace('[a-z0-9_]*', '*')).join(', ')} (they run SQL given as text or build text); a check reads tables with columns, literals, comparisons, joins and aggregates such as count(*), min and max`,
};

/**
 * MySQL and MariaDB: the same SELECT shape, in a `SET SESSION TRANSACTION READ ONLY`
 * session. A read-only transaction still lets `SELECT … INTO OUTFILE|DUMPFILE` write
 * a server file (tried on MariaDB 10.11), so `into` is denied, with file reads, sleeps
 * and locks, and the tables that hold password hashes or other sessions' statements.
 * The client runs `\!` (a shell) from `-e` text: backslashes are outside the pattern.
 * A schema is denied with spaces before its dot too (`mysql . user` is a qualified name).
 * MySQL has no function that runs SQL given as text, so text built with CONCAT or CHAR
 * never becomes a call: naming the functions is enough.
 */
export const MYSQL_DENY_PATTERN =
  /(^|[^a-z0-9_])(into|load_file|sleep|benchmark|get_lock|release_lock|release_all_locks|is_free_lock|is_used_lock|sys_exec|sys_eval|authentication_string|password)([^a-z0-9_]|$)|(^|[^a-z0-9_])(mysql|sys|performance_schema) *\./;
export const MYSQL_CHECK: CheckRules = {
  pattern: VERIFY_QUERY_PATTERN,
  shape: "be one SELECT of letters, digits, spaces and _ ,.*()=<>'",
  deny: MYSQL_DENY_PATTERN,
  denied:
    'write files or wait (into, load_file, sleep, benchmark, *_lock), nor read the mysql, sys or performance_schema schemas or password columns (authentication_string, password)',
};

// ---------------------------------------------------------------- Redis

/**
 * Read commands whose answer is one integer, with how many arguments each takes.
 * Only a number can be compared with expectMinimum, and the host refuses any other
 * answer (redis-cli exits 0 on an error reply such as NOAUTH or WRONGTYPE). GET is
 * left out on purpose: it is the one read command that answers a stored value (a
 * session token, say), which would land in the restore record.
 */
export const REDIS_CHECK_COMMANDS = {
  DBSIZE: [0, 0],
  EXISTS: [1, 16],
  STRLEN: [1, 1],
  LLEN: [1, 1],
  SCARD: [1, 1],
  SISMEMBER: [2, 2],
  HLEN: [1, 1],
  HEXISTS: [2, 2],
  ZCARD: [1, 1],
  ZCOUNT: [3, 3],
  XLEN: [1, 1],
  BITCOUNT: [1, 3],
} as const satisfies Record<string, readonly [number, number]>;
export type RedisCheckCommand = keyof typeof REDIS_CHECK_COMMANDS;
const REDIS_COMMANDS = Object.keys(REDIS_CHECK_COMMANDS) as RedisCheckCommand[];
/** A key, member or bound: no quotes, spaces, `$`, `;` or backslashes (`-inf`/`+inf` for ZCOUNT). */
const REDIS_WORD = '[A-Za-z0-9_:./{}#@+=-]{1,200}';
const REDIS_WORD_RE = new RegExp(`^${REDIS_WORD}$`);
const REDIS_MAX_ARGS = Math.max(...REDIS_COMMANDS.map((c) => REDIS_CHECK_COMMANDS[c][1]));

export const REDIS_CHECK: CheckRules = {
  // A command in upper or lower case, then its arguments, one space apart.
  pattern: new RegExp(`^(${REDIS_COMMANDS.flatMap((c) => [c, c.toLowerCase()]).join('|')})( ${REDIS_WORD}){0,${REDIS_MAX_ARGS.toString()}}$`),
  shape: `be one read command answering a number (${REDIS_COMMANDS.join(', ')}) and its arguments, one space apart, each of letters, digits and _:./{}#@+=-`,
  deny: null,
  denied: '',
  refine: (text) => {
    const [command = '', ...args] = text.split(' ');
    const upper = command.toUpperCase();
    if (!(upper in REDIS_CHECK_COMMANDS) || (command !== upper && command !== command.toLowerCase())) {
      return `redis checks must start with one of ${REDIS_COMMANDS.join(', ')} (read commands answering a number), not ${JSON.stringify(command.slice(0, 40))}`;
    }
    const [min, max] = REDIS_CHECK_COMMANDS[upper as RedisCheckCommand];
    if (args.length < min || args.length > max) {
      const takes = min === max ? `${min.toString()} argument${min === 1 ? '' : 's'}` : `${min.toString()} to ${max.toString()} arguments`;
      return `redis ${upper} takes ${takes}, not ${args.length.toString()}`;
    }
    const bad = args.find((a) => !REDIS_WORD_RE.test(a));
    return bad === undefined
      ? null
      : `redis check arguments may hold only letters, digits and _:./{}#@+=- (no quotes, $, ; or backslashes), not ${JSON.stringify(bad.slice(0, 40))}`;
  },
};

// -------------------------------------------------------------- MongoDB

const MONGO_DB = 'db(\\.getSiblingDB\\("[A-Za-z0-9_-]{1,63}"\\))?';
const MONGO_COLLECTION = '(\\.[A-Za-z_][A-Za-z0-9_]{0,119}|\\.getCollection\\("[A-Za-z0-9_][A-Za-z0-9_.-]{0,119}"\\))';
const MONGO_KEY = '([A-Za-z_][A-Za-z0-9_]{0,63}|"[A-Za-z0-9_][A-Za-z0-9_.]{0,127}")';
const MONGO_VALUE = '(-?[0-9]{1,15}(\\.[0-9]{1,15})?|"[A-Za-z0-9 _.:@/+-]{0,100}"|true|false|null)';
const MONGO_PAIR = `${MONGO_KEY} ?: ?${MONGO_VALUE}`;
const MONGO_FILTER = `\\{ ?(${MONGO_PAIR}( ?, ?${MONGO_PAIR}){0,9})? ?\\}`;

/**
 * MongoDB: one count on one collection, `db[.getSiblingDB("x")].coll.countDocuments({…})`
 * or `.estimatedDocumentCount()`, with a filter of plain fields equal to literals. No
 * `$` anywhere, so no query operators (`$where` and `$function` run JavaScript on the
 * server) and no aggregation stages (`$out` and `$merge` write).
 */
export const MONGODB_CHECK: CheckRules = {
  pattern: new RegExp(`^${MONGO_DB}${MONGO_COLLECTION}\\.(countDocuments\\((${MONGO_FILTER})?\\)|estimatedDocumentCount\\(\\))$`),
  shape:
    'be one count such as db.getSiblingDB("shop").orders.countDocuments({status: "paid"}) or db.getSiblingDB("shop").getCollection("orders").estimatedDocumentCount(), with a filter of at most 10 fields equal to numbers, "strings" (letters, digits, spaces and _.:@/+-), true, false or null',
  deny: null,
  denied: '',
};

// -------------------------------------------------------------- custom

/** One word of a custom command: no quotes, spaces, `$`, `;`, `|`, `&`, backticks, globs, braces or backslashes. */
export const CUSTOM_WORD_PATTERN = /^[A-Za-z0-9_@%+=:,./-]{1,200}$/;
/**
 * A custom health or check command: words one space apart, the first a program (not an
 * option). The host splits it on spaces (`read -r -a`) into an argument list for
 * `docker exec`; no shell ever parses it. Also the SSM parameter's allowed pattern.
 */
export const CUSTOM_COMMAND_PATTERN = /^[A-Za-z0-9_./][A-Za-z0-9_@%+=:,./-]{0,199}( [A-Za-z0-9_@%+=:,./-]{1,200}){0,31}$/;
export const CUSTOM_COMMAND: CheckRules = {
  pattern: CUSTOM_COMMAND_PATTERN,
  shape:
    'be a program and at most 31 arguments, one space apart, each of letters, digits and _@%+=:,./- (no quotes, $, ;, |, &, backticks or backslashes; the first word not an option)',
  deny: null,
  denied: '',
};
