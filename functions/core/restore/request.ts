import * as z from 'zod';

/*
 * The patterns every request field is checked with (each is also a restore-document
 * parameter's pattern; test/unit/parameter-contract.test.ts holds them together), and
 * the archive choice. The request bodies are in schemas.ts: this module imports no engine
 * profile, because the engines module reads its PostgreSQL check rules from here.
 */

/** EC2 instances and hybrid managed nodes. */
export const INSTANCE_ID_PATTERN = /^(i|mi)-[0-9a-f]{8,17}$/;
export const CONTAINER_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/;
export const MOUNT_PATH_PATTERN = /^(\/[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}){1,16}$/;
/** Env files live in one root-only directory on the host (root-owned, mode 0600; checked there). */
export const ENV_FILE_DIR = '/etc/lifeboat/env';
export const ENV_FILE_PATTERN = /^\/etc\/lifeboat\/env\/[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/;

/**
 * Host directories a HostPath (restore) or hostPath (backup) may not be, lie inside, or hold:
 * system files, secrets and keys, other users' files, and the data of Docker, SSM and the
 * cloud agents (a backup of /var/lib would carry every volume and container env of
 * /var/lib/docker). The host refuses the same list (SYSTEM_DIRS in runbooks/lib/params.sh;
 * test/unit/runbook-scripts.test.ts holds them equal). A trailing `*` matches the rest of
 * the last name: /lib* is /lib, /lib64, /libx32.
 */
export const SYSTEM_DIRECTORIES = [
  '/etc',
  '/usr',
  '/bin',
  '/sbin',
  '/lib*',
  '/boot',
  '/proc',
  '/sys',
  '/dev',
  '/run',
  '/root',
  '/home',
  '/tmp',
  '/var/tmp',
  '/var/run',
  '/var/log',
  '/var/cache',
  '/var/spool',
  '/var/backups',
  '/var/lib/docker',
  '/var/lib/containerd',
  '/var/lib/lifeboat',
  '/var/lib/dpkg',
  '/var/lib/apt',
  '/var/lib/rpm',
  '/var/lib/systemd',
  '/var/lib/amazon',
  '/var/lib/cloud',
] as const;

const names = (path: string): string[] => path.split('/').filter(Boolean);
const sameName = (pattern: string, name: string): boolean => (pattern.endsWith('*') ? name.startsWith(pattern.slice(0, -1)) : name === pattern);

/**
 * Why a host directory may not be restored into or backed up, or null when it may: it is,
 * lies inside, or holds one of SYSTEM_DIRECTORIES (compared name by name, so /var/lib holds
 * /var/lib/docker and /srv/lib is none of them). Said after the field's name.
 */
export function systemDirectoryProblem(path: string): string | null {
  const mine = names(path);
  for (const dir of SYSTEM_DIRECTORIES) {
    const theirs = names(dir);
    if (!theirs.slice(0, mine.length).every((name, i) => sameName(name, mine[i] ?? ''))) continue;
    const how = mine.length < theirs.length ? 'holds' : mine.length === theirs.length ? 'is' : 'is inside';
    return `${path} ${how} a system directory (${dir})`;
  }
  return null;
}

/** Which archive to restore. */
export const ArchiveChoice = z.union([
  z.literal('latest'),
  z.strictObject({ before: z.iso.datetime({ offset: true, error: 'must be an ISO 8601 time, e.g. 2026-11-27T03:00:00Z' }) }),
  z.strictObject({ key: z.string().min(1).max(1024) }),
]);
export type ArchiveChoice = z.infer<typeof ArchiveChoice>;

/** A PostgreSQL check (engine profile postgres, and MySQL's SELECT shape): one read-only SELECT. */
export const VERIFY_QUERY_PATTERN = /^(select|SELECT) [A-Za-z0-9_ ,.*()=<>']{1,500}$/;
/** Names that may not appear anywhere in a PostgreSQL check, even inside a longer word. */
const UNSAFE_QUERY_PARTS = [
  // Server files, settings, catalogs (pg_read_file, pg_ls_dir, pg_authid, ...) and large objects (lo_import reads a server file).
  'pg_',
  'lo_',
  // SQL given as text and run: query_to_xml and every *_to_xml/*_to_xmlschema sibling, dblink and dblink_exec.
  '_to_xml',
  'dblink',
  // Settings, read or written.
  'current_setting',
  'set_config',
];
/**
 * Functions a PostgreSQL check may not call, matched as whole words (so `orders.format` is
 * refused, `formats` is not). A substring denylist holds only while nothing can run SQL
 * given as text or make a denied name out of allowed text: `ts_stat(concat('select
 * to_tsvector(p','g_read_file(...))'))` ran pg_read_file without the text naming it.
 * Both are closed, each on its own: no function that runs a query string, and no function
 * that builds or rewrites text (`||` needs `|`, which the allow pattern refuses).
 */
export const UNSAFE_QUERY_FUNCTIONS = [
  // Run SQL given as text: core text search, then tablefunc and xml2 (extensions, installed by some images).
  'ts_stat',
  'ts_rewrite',
  'crosstab',
  'crosstab2',
  'crosstab3',
  'crosstab4',
  'connectby',
  'xpath_table',
  // Read a table's raw pages by its name (pageinspect): a name made from an oid needs no pg_.
  'get_raw_page',
  // Build text from character codes or other encodings.
  'chr',
  'ascii',
  'to_ascii',
  'unistr',
  'decode',
  'encode',
  'convert',
  'convert_from',
  'convert_to',
  // Join texts.
  'concat',
  'concat_ws',
  'format',
  'string_agg',
  'array_to_string',
  'textcat',
  'textanycat',
  'anytextcat',
  // Every xml* function: xmlconcat and xmlagg join texts, xmlelement and xmlforest their arguments.
  'xml[a-z0-9_]*',
  // Rewrite text (a name spelt backwards, padded, or with a placeholder replaced).
  'replace',
  'regexp_replace',
  'translate',
  'overlay',
  'reverse',
  'repeat',
  'lpad',
  'rpad',
  // A template's literal text comes out as written, its FM prefixes dropped: 'pFMg' gives pg.
  'to_char',
  'quote_ident',
  'quote_literal',
  'quote_nullable',
];
/**
 * What a PostgreSQL check may not say, though read-only: the check runs as the database's
 * superuser, which reads server files, settings and password hashes. A denylist on top of
 * the allow pattern, matched against the lower-cased text here and on the host (the engines
 * module carries it to the host script, so it stays POSIX ERE: no `\b`).
 */
export const UNSAFE_QUERY_PATTERN = new RegExp(`${UNSAFE_QUERY_PARTS.join('|')}|(^|[^a-z0-9_])(${UNSAFE_QUERY_FUNCTIONS.join('|')})([^a-z0-9_]|$)`, 'i');

/** The throwaway volume and container name of a drill (the restore document insists on the prefix). */
export const drillName = (restoreId: string): string => `lifeboat-drill-${restoreId.replace(/^r-/, '')}`;
