/**
 * Engine profiles (functions/core/engines): detection from an archive, what a check may
 * say for each engine, and the bash tables the host gets, sourced by a real bash.
 */
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import * as z from 'zod';
import {
  DATABASE_ENGINES,
  ENGINE_PROFILES,
  ENGINES,
  ENGINE_VERIFY_FIELDS,
  EngineVerify,
  MYSQL_CHECK,
  PLACEHOLDERS,
  POSTGRES_CHECK,
  checkProblem,
  detectEngine,
  engineArgv,
  engineBashScript,
  engineVerifyIssues,
  engineFromImage,
  enginesAccepting,
  enginesFromMarkers,
  ereSource,
  imageRepositoryName,
  type Engine,
} from '#core/engines/index.ts';
import type { ArchiveManifest } from '#core/manifest.ts';
import { UNSAFE_QUERY_PATTERN, VERIFY_QUERY_PATTERN } from '#core/restore/request.ts';
import { loadDocument } from '#core/runbooks/document.ts';
import { sourced } from '../support/bash.ts';

const withImage = (image: string): Pick<ArchiveManifest, 'container'> => ({
  container: {
    name: 'db',
    image,
    envNames: [],
    command: null,
    shmSize: 0,
    restartPolicy: 'no',
    networkMode: 'default',
    privileged: false,
    capAdd: null,
    pidMode: '',
    user: '',
    mounts: [],
    ports: [],
  },
});

/** Issues of a failed EngineVerify parse, as "field: message". */
function problems(input: unknown): string[] {
  const parsed = EngineVerify.safeParse(input);
  return parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
}

describe('the profiles', () => {
  const restore = loadDocument('restore-volume').parameters;
  const pattern = (name: string): RegExp => new RegExp(restore[name]?.allowedPattern ?? '^$');

  it('has one profile per engine, database engines with health and check commands', () => {
    for (const engine of ENGINES) expect(ENGINE_PROFILES[engine].engine).toBe(engine);
    expect(DATABASE_ENGINES).toEqual(['postgres', 'mysql', 'redis', 'mongodb']);
    for (const engine of DATABASE_ENGINES) {
      const p = ENGINE_PROFILES[engine];
      expect(p.health?.length, engine).toBeGreaterThan(0);
      expect(p.check?.length, engine).toBeGreaterThan(0);
      expect(p.checkRules, engine).not.toBeNull();
    }
  });

  it('uses only known placeholders, each a whole word, and a check takes its text exactly once', () => {
    const known = new Set<string>(Object.values(PLACEHOLDERS));
    for (const engine of DATABASE_ENGINES) {
      const words = [...(ENGINE_PROFILES[engine].health ?? []), ...(ENGINE_PROFILES[engine].check ?? [])];
      for (const word of words) if (word.includes('@')) expect(known.has(word) || !/^@[A-Z]+@$/.test(word), `${engine}: ${word}`).toBe(true);
      const check = ENGINE_PROFILES[engine].check ?? [];
      expect(
        check.filter((w) => w === PLACEHOLDERS.query || w === PLACEHOLDERS.words),
        engine,
      ).toHaveLength(1);
    }
  });

  it('has defaults the restore document accepts (mount path, shm size, user)', () => {
    for (const engine of ENGINES) {
      const p = ENGINE_PROFILES[engine];
      if (p.defaultMountPath !== null) expect(p.defaultMountPath, engine).toMatch(pattern('MountPath'));
      if (p.defaultShmSize !== null) expect(p.defaultShmSize, engine).toMatch(pattern('ShmSize'));
      if (p.defaultUser !== null) expect(p.defaultUser, engine).toMatch(pattern('VerifyUser'));
    }
    expect(ENGINE_PROFILES.postgres.defaultShmSize).toBe('256m');
    expect(ENGINE_PROFILES.postgres.defaultMountPath).toBe('/var/lib/postgresql/data');
  });

  it("accepts its own default checks, and PostgreSQL's are the request schema's VerifyQuery rules", () => {
    for (const engine of DATABASE_ENGINES) {
      const check = ENGINE_PROFILES[engine].defaultCheck;
      if (check !== null) expect(checkProblem(engine, check), engine).toBeNull();
    }
    expect(POSTGRES_CHECK.pattern).toBe(VERIFY_QUERY_PATTERN);
    expect(POSTGRES_CHECK.deny).toBe(UNSAFE_QUERY_PATTERN);
    expect(MYSQL_CHECK.pattern).toBe(VERIFY_QUERY_PATTERN);
  });

  it('runs PostgreSQL and MySQL checks read-only whatever the query says', () => {
    expect(ENGINE_PROFILES.postgres.check).toContain('PGOPTIONS=-c default_transaction_read_only=on');
    expect(ENGINE_PROFILES.mysql.check).toContain('--init-command=SET SESSION TRANSACTION READ ONLY');
  });
});

describe('detecting the engine', () => {
  it.each([
    ['postgres:16', 'postgres'],
    ['docker.io/library/postgres:16-alpine', 'postgres'],
    ['postgis/postgis:16-3.4', 'postgres'],
    ['timescale/timescaledb-ha:pg16', 'postgres'],
    ['bitnami/postgresql:16', 'postgres'],
    ['mysql:8.4', 'mysql'],
    ['mariadb:10.11', 'mysql'],
    ['percona/percona-server:8.0', 'mysql'],
    ['redis:7-alpine', 'redis'],
    ['valkey/valkey:8', 'redis'],
    ['eqalpha/keydb', 'redis'],
    [`mongo:7@sha256:${'a'.repeat(64)}`, 'mongodb'],
    ['registry.example.com:5000/team/mongo:6', 'mongodb'],
    ['percona/percona-server-mongodb:7.0', 'mongodb'],
    ['nginx:1.27', null],
    ['prometheuscommunity/postgres-exporter', null],
    ['example/my-postgres-app:1', null],
  ] as const)('from the image %s: %s', (image, engine) => {
    expect(engineFromImage(image)).toBe(engine);
  });

  it('takes the repository name without registry, port, path, tag or digest', () => {
    expect(imageRepositoryName(`registry.example.com:5000/Team/Postgres:16@sha256:${'0'.repeat(64)}`)).toBe('postgres');
    expect(imageRepositoryName('postgres')).toBe('postgres');
  });

  it.each([
    [['./PG_VERSION', './base/1/1259', './postgresql.conf'], 'postgres'],
    [['ibdata1', 'mysql/', 'ib_logfile0'], 'mysql'],
    [['./mysql/user.frm', './shop/orders.ibd'], 'mysql'],
    [['aria_log_control'], 'mysql'],
    [['dump.rdb'], 'redis'],
    [['appendonlydir/', 'appendonlydir/appendonly.aof.1.base.rdb'], 'redis'],
    [['appendonly.aof'], 'redis'],
    [['WiredTiger', 'WiredTiger.wt', 'collection-0-123.wt'], 'mongodb'],
  ] as const)('from data markers %j: %s', (names, engine) => {
    expect(enginesFromMarkers(names).map((h) => h.engine)).toEqual([engine]);
    expect(detectEngine({ dataMarkers: names })).toMatchObject({ engine, source: 'manifest-markers' });
  });

  it('matches markers as whole top-level names (a file named like a marker deeper down does not count)', () => {
    expect(enginesFromMarkers(['backups/PG_VERSION', 'notes/dump.rdb', 'mysqlx', 'PG_VERSION.old'])).toEqual([]);
  });

  it('prefers the data markers to the image, and says when they disagree', () => {
    const d = detectEngine({ manifest: withImage('postgres:16'), dataMarkers: ['ibdata1', 'mysql'] });
    expect(d).toMatchObject({ engine: 'mysql', source: 'manifest-markers' });
    expect(d.detail).toContain('ibdata1, mysql');
    expect(d.detail).toContain('postgres:16, which looks like postgres');
  });

  it('falls back to the image when the markers name several engines, and says so', () => {
    const d = detectEngine({ manifest: withImage('redis:7'), dataMarkers: ['PG_VERSION', 'dump.rdb'] });
    expect(d).toMatchObject({ engine: 'redis', source: 'manifest-image' });
    expect(d.detail).toContain('markers of several engines (postgres: PG_VERSION; redis: dump.rdb)');
  });

  it('lets the request override everything, then the protect config, and keeps the disagreeing evidence in the detail', () => {
    const archive = { manifest: withImage('mysql:8.4'), dataMarkers: ['ibdata1'] };
    const byRequest = detectEngine({ ...archive, override: 'running', protectedEngine: 'postgres' });
    expect(byRequest).toMatchObject({ engine: 'running', source: 'request' });
    expect(byRequest.detail).toMatch(/ibdata1, which looks like mysql/);
    expect(detectEngine({ ...archive, protectedEngine: 'none' })).toMatchObject({ engine: 'none', source: 'protect-config' });
    expect(detectEngine({ ...archive, override: 'auto', protectedEngine: 'auto' })).toMatchObject({ engine: 'mysql', source: 'manifest-markers' });
    expect(detectEngine({ ...archive, override: 'mysql' }).detail).not.toContain('but');
  });

  it('leaves the engine to the host when the archive tells nothing', () => {
    expect(detectEngine({})).toMatchObject({ engine: 'auto', source: 'host' });
    expect(detectEngine({ manifest: null, dataMarkers: [] })).toMatchObject({ engine: 'auto', source: 'host' });
    const unknown = detectEngine({ manifest: withImage('example/app:1') });
    expect(unknown).toMatchObject({ engine: 'auto', source: 'host' });
    expect(unknown.detail).toContain('example/app:1');
  });
});

/** Texts each engine must accept as a check. */
const GOOD: Record<'postgres' | 'mysql' | 'redis' | 'mongodb', string[]> = {
  postgres: [
    'select 1',
    'select count(*) from orders',
    "SELECT count(*) FROM orders WHERE status = 'paid'",
    "select max(id) from orders where total >= 10 and status <> 'void'",
    'select min(created_at) from shop.orders',
    "select count(*) from orders o join customers c on o.customer_id = c.id where c.country = 'fr'",
    // Whole words only: a table or column whose name holds a denied function's is fine.
    'select count(distinct format_id) from replacements',
  ],
  mysql: ['select 1', 'select count(*) from shop.orders', "SELECT count(*) FROM orders WHERE status = 'paid'"],
  redis: ['DBSIZE', 'dbsize', 'EXISTS user:1 user:2', 'LLEN queue:jobs', 'ZCOUNT scores -inf +inf', 'HEXISTS session:{42} token', 'BITCOUNT flags 0 -1'],
  mongodb: [
    'db.getSiblingDB("shop").orders.countDocuments({})',
    'db.getSiblingDB("shop").orders.countDocuments({status: "paid"})',
    'db.getSiblingDB("shop").orders.countDocuments({ status: "paid", total: 12.5, "customer.vip": true, deleted: null })',
    'db.getSiblingDB("shop").getCollection("order.items").estimatedDocumentCount()',
    'db.orders.countDocuments()',
  ],
};

/** Texts each engine must refuse, with part of the reason. */
const BAD: Record<'postgres' | 'mysql' | 'redis' | 'mongodb', [string, string][]> = {
  postgres: [
    ['select 1; drop table orders', 'must be one SELECT'],
    ['select $(id)', 'must be one SELECT'],
    ['select 1\ndrop table orders', 'one line'],
    ['select `id`', 'must be one SELECT'],
    ['drop table orders', 'must be one SELECT'],
    ['SET default_transaction_read_only = off', 'must be one SELECT'],
    ["select pg_ls_dir('.')", 'server-file'],
    ["select set_config('default_transaction_read_only', 'off', false)", 'settings'],
    [`select ${'x'.repeat(600)}`, 'at most 500 characters'],
  ],
  mysql: [
    ['select 1; drop table orders', 'must be one SELECT'],
    ['DROP TABLE orders', 'must be one SELECT'],
    ['SET SESSION TRANSACTION READ WRITE', 'must be one SELECT'],
    ['select 1 \\! id', 'must be one SELECT'],
    ["select * from orders into outfile 'orders.txt'", 'write files'],
    ["select load_file('my.cnf')", 'write files or wait'],
    ['select sleep(100)', 'wait'],
    ['select authentication_string from mysql.user', 'password columns'],
    ['select count(*) from performance_schema.events_statements_history', 'performance_schema'],
    // A qualified name may have spaces around its dot.
    ['select count(*) from mysql . user', 'mysql, sys or performance_schema'],
    ['select count(*) from performance_schema .events_statements_history', 'mysql, sys or performance_schema'],
  ],
  redis: [
    ['FLUSHALL', 'redis checks must start with one of DBSIZE, EXISTS'],
    ['SET a 1', 'must start with one of'],
    ['CONFIG SET dir /tmp', 'must start with one of'],
    ['DBSIZE; FLUSHALL', 'must start with one of'],
    ['EXISTS a;FLUSHALL', 'arguments may hold only'],
    ['EXISTS $(id)', 'arguments may hold only'],
    ['EXISTS "a b"', 'arguments may hold only'],
    ['DBSIZE\nFLUSHALL', 'one line'],
    ['DbSize', 'must start with one of'],
    ['DBSIZE extra', 'DBSIZE takes 0 arguments'],
    ['LLEN', 'LLEN takes 1 argument, not 0'],
    ['EXISTS  a', 'arguments may hold only'],
    ['GET session:1', 'must start with one of'],
  ],
  mongodb: [
    ['db.getSiblingDB("shop").orders.deleteMany({})', 'must be one count'],
    ['db.x.deleteMany({})', 'must be one count'],
    ['db.getSiblingDB("shop").orders.countDocuments({$where: "sleep(1000)"})', 'must be one count'],
    ['db.getSiblingDB("shop").orders.countDocuments({a: {$gt: 1}})', 'must be one count'],
    ['db.getSiblingDB("shop").dropDatabase()', 'must be one count'],
    ['db.getSiblingDB("shop").orders.countDocuments({}); db.dropDatabase()', 'must be one count'],
    ["db.getSiblingDB('shop').orders.countDocuments()", 'must be one count'],
    ['db.getSiblingDB("shop").orders.aggregate([{$out: "x"}])', 'must be one count'],
    ['db.orders.countDocuments({a: "x\\" + db.dropDatabase() + \\""})', 'must be one count'],
  ],
};

/**
 * SQL run from text (ts_stat, ts_rewrite) with the denied name built at run time: the first
 * read /etc/hostname on PostgreSQL 15 though its text names no pg_ function.
 */
const PG_DODGES = [
  "select word from ts_stat(concat('select to_tsvector(p','g_read_file(',chr(39),chr(47),'etc',chr(47),'hostname',chr(39),'))')) limit 1",
  "SELECT word FROM TS_STAT('select to_tsvector(reverse(''elif_daer_gp''))')",
  "select word from public.ts_stat ('select to_tsvector(x) from t')",
  "select ts_rewrite(cast('a' as tsquery), 'select t, s from aliases')",
  "select convert_from(decode('cGdfcmVhZF9maWxl', 'base64'), 'utf8')",
  "select concat_ws('g', 'p', '_read_file')",
  "select string_agg(x, '') from (select 'p' as x union all select 'g_read_file') s",
  "select lpad('_read_file', 12, 'pg')",
  "select translate('pX_ls_dir', 'X', 'g')",
  "select cast(xmlelement(name x, 'p', 'g_read_file') as text)",
  "select to_char(1, 'pFMg')",
];

describe('check validation', () => {
  for (const [engine, texts] of Object.entries(GOOD) as [Engine, string[]][]) {
    it(`accepts good ${engine} checks`, () => {
      for (const text of texts) {
        expect(checkProblem(engine, text), text).toBeNull();
        expect(problems({ engine, check: text, expectMinimum: 1 }), text).toEqual([]);
      }
    });
  }

  for (const [engine, cases] of Object.entries(BAD) as [Engine, [string, string][]][]) {
    it(`refuses bad ${engine} checks, naming the field and what is allowed`, () => {
      for (const [text, reason] of cases) {
        const issues = problems({ engine, check: text });
        expect(issues, text).toHaveLength(1);
        expect(issues[0], text).toMatch(/^check: /);
        expect(issues[0], text).toContain(reason);
      }
    });
  }

  it.each(PG_DODGES)('postgres refuses %j (runs SQL from text or builds a denied name), naming the field and what is allowed', (text) => {
    const issues = problems({ engine: 'postgres', check: text });
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatch(/^check: postgres checks may not name server-file, large-object, settings or SQL-running functions/);
    expect(issues[0]).toContain('ts_stat, ts_rewrite');
    expect(issues[0]).toContain('a check reads tables with columns, literals, comparisons, joins and aggregates such as count(*), min and max');
  });

  it('postgres cannot join texts with ||: | is outside the allow pattern', () => {
    expect(problems({ engine: 'postgres', check: "select 'p' || 'g_read_file'" })).toEqual([
      "check: postgres checks must be one SELECT of letters, digits, spaces and _ ,.*()=<>'",
    ]);
  });

  it('says the redis allowlist in the error, as an operator reads it', () => {
    expect(problems({ engine: 'redis', check: 'FLUSHALL' })).toEqual([
      'check: redis checks must start with one of DBSIZE, EXISTS, STRLEN, LLEN, SCARD, SISMEMBER, HLEN, HEXISTS, ZCARD, ZCOUNT, XLEN, BITCOUNT (read commands answering a number), not "FLUSHALL"',
    ]);
  });

  it('refuses a check for engines that take none, and a health command for any engine but custom', () => {
    expect(problems({ engine: 'running', check: 'select 1' })).toEqual(['check: running takes no check (it only proves the container stays up)']);
    expect(problems({ engine: 'none', check: 'select 1' })).toEqual(['check: none takes no check (it verifies nothing)']);
    expect(problems({ engine: 'postgres', health: 'pg_isready' })).toEqual(['health: only custom takes a health command; postgres has its own']);
  });

  it('takes custom health and check commands as words, never anything a shell would read', () => {
    expect(problems({ engine: 'custom', health: 'cockroach node status --insecure', check: 'cockroach sql --insecure -e select.1' })).toEqual([]);
    expect(problems({ engine: 'custom' })).toEqual(['health: custom needs a health command (a program and its arguments, one space apart)']);
    for (const bad of ['sh -c "rm -rf /"', 'echo $HOME', 'a;b', 'ls `id`', 'a | b', 'a && b', 'a\nb', '-rf /', "it's", 'a  b', 'cat /etc/*']) {
      const issues = problems({ engine: 'custom', health: bad, check: bad });
      expect(
        issues.map((i) => i.split(':')[0]),
        bad,
      ).toEqual(['health', 'check']);
      expect(issues[0], bad).toMatch(/custom commands must (be a program|be one line)/);
    }
  });

  it('needs expectMinimum to be a whole number of 0 or more, with a check', () => {
    expect(problems({ engine: 'redis', check: 'DBSIZE', expectMinimum: -1 })).toEqual(['expectMinimum: must be 0 or more']);
    expect(problems({ engine: 'redis', check: 'DBSIZE', expectMinimum: 1.5 })).toEqual(['expectMinimum: must be a whole number']);
    expect(problems({ engine: 'redis', check: 'DBSIZE', expectMinimum: '3' })).toEqual(['expectMinimum: must be a number']);
    expect(problems({ engine: 'redis', expectMinimum: 3 })).toEqual(['expectMinimum: needs a check whose answer is a number']);
    expect(problems({ engine: 'redis', check: 'DBSIZE', expectMinimum: 0 })).toEqual([]);
  });

  it('with engine auto, accepts a check some engine accepts (the plan re-checks it against the engine it finds)', () => {
    expect(EngineVerify.parse({ check: 'select count(*) from orders' })).toEqual({ engine: 'auto', check: 'select count(*) from orders' });
    expect(enginesAccepting('select count(*) from orders')).toEqual(['postgres', 'mysql']);
    expect(enginesAccepting('DBSIZE')).toEqual(['redis']);
    expect(problems({ check: 'FLUSHALL' })).toEqual([
      "check: suits no engine's check rules; name the engine (postgres, mysql, redis, mongodb) to be told what it accepts",
    ]);
    expect(problems({ engine: 'sqlite' })[0]).toMatch(/^engine: must be one of postgres, mysql, redis, mongodb, custom, running, none, auto/);
  });
});

describe('composing the verification into a request schema', () => {
  it('keeps the field names of the request it is spread into', () => {
    const Drill = z.strictObject({ volume: z.string(), ...ENGINE_VERIFY_FIELDS }).superRefine((v, ctx) => {
      for (const { path, message } of engineVerifyIssues(v)) ctx.addIssue({ code: 'custom', path: [path], message });
    });
    expect(Drill.parse({ volume: 'pgdata', engine: 'redis', check: 'DBSIZE', expectMinimum: 1 })).toEqual({
      volume: 'pgdata',
      engine: 'redis',
      check: 'DBSIZE',
      expectMinimum: 1,
    });
    const parsed = Drill.safeParse({ volume: 'pgdata', engine: 'mongodb', check: 'db.x.deleteMany({})' });
    expect(parsed.success ? [] : parsed.error.issues.map((i) => i.path.join('.'))).toEqual(['check']);
  });
});

describe('engineArgv (what a plan shows will run)', () => {
  it('replaces placeholders word for word', () => {
    expect(engineArgv('postgres', 'check', { text: "select count(*) from t where a = 'x y'" })).toEqual([
      'env',
      'PGOPTIONS=-c default_transaction_read_only=on',
      'psql',
      '-h',
      '/var/run/postgresql',
      '-U',
      'postgres',
      '-d',
      'postgres',
      '-v',
      'ON_ERROR_STOP=1',
      '-XAtq',
      '-c',
      "select count(*) from t where a = 'x y'",
    ]);
    expect(engineArgv('mysql', 'health', { user: 'app' })).toEqual(['mysqladmin', 'ping', '--silent', '-u', 'app']);
    expect(engineArgv('redis', 'check', { text: 'EXISTS a b' })).toEqual(['redis-cli', '-e', 'EXISTS', 'a', 'b']);
    expect(engineArgv('redis', 'check', {})).toEqual(['redis-cli', '-e', 'DBSIZE']);
    expect(engineArgv('mongodb', 'check', {})).toBeNull();
    expect(engineArgv('running', 'health', {})).toBeNull();
    expect(engineArgv('custom', 'health', { text: 'cockroach node status' })).toEqual(['cockroach', 'node', 'status']);
  });
});

/** The outcome of one case of `eachCase`. */
interface CaseOutcome {
  readonly stdout: string;
  readonly status: number;
}

/**
 * Runs `body` once per case in ONE sourced bash (a process costs a second or more on a
 * busy machine), with the case's variables set; each case in its own subshell under
 * `set -e`, as the host script runs. Values reach bash as environment variables.
 */
function eachCase(script: string, cases: readonly Readonly<Record<string, string>>[], body: string): CaseOutcome[] {
  const names = [...new Set(cases.flatMap((c) => Object.keys(c)))];
  const env = Object.fromEntries(cases.flatMap((c, i) => Object.entries(c).map(([k, v]) => [`C${i.toString()}_${k}`, v])));
  const assign = names.map((n) => `v="C\${i}_${n}"; ${n}="\${!v-}"`).join('; ');
  const program = `set +e\nfor ((i = 0; i < ${cases.length.toString()}; i++)); do ( set -e; ${assign}\n${body}\n ); printf '\\x1e%s\\x1f' "$?"; done`;
  const { stdout } = sourced(script, program, env);
  return stdout
    .split('\x1f')
    .slice(0, cases.length)
    .map((chunk) => {
      const at = chunk.lastIndexOf('\x1e');
      return { stdout: chunk.slice(0, at), status: Number(chunk.slice(at + 1)) };
    });
}

/** Prints an array's words NUL-terminated (none for an empty array, also under set -u in old bash). */
const printWords = (array: string): string => `for w in \${${array}[@]+"\${${array}[@]}"}; do printf '%s\\0' "$w"; done`;
/** Words printed by printWords, as a list. */
const words = (stdout: string): string[] => stdout.split('\0').slice(0, -1);

describe('the bash tables, sourced by bash', () => {
  let script = '';
  beforeAll(() => {
    script = join(mkdtempSync(join(tmpdir(), 'lifeboat-engines-')), 'engines.sh');
    writeFileSync(script, `set -Eeuo pipefail\n${engineBashScript()}`);
  });

  it('gives each engine arrays whose words are exactly the profile words (the one with spaces stays one word)', () => {
    const arrays = ENGINES.flatMap((engine) => (['health', 'check'] as const).map((kind) => ({ engine, kind, A: `ENGINE_${kind.toUpperCase()}_${engine}` })));
    const out = eachCase(
      script,
      arrays.map(({ A }) => ({ A })),
      `name="$A[@]"; for w in \${!name+"\${!name}"}; do printf '%s\\0' "$w"; done`,
    );
    arrays.forEach(({ engine, kind, A }, i) => {
      expect(out[i]?.status, A).toBe(0);
      expect(words(out[i]?.stdout ?? ''), A).toEqual([...(ENGINE_PROFILES[engine][kind] ?? [])]);
    });
    expect(words(out[1]?.stdout ?? '')).toContain('PGOPTIONS=-c default_transaction_read_only=on');
  });

  it('gives the markers, mount paths, shm sizes, users, default checks and secrets of the profiles', () => {
    const tables = [
      'ENGINE_MARKERS',
      'ENGINE_MOUNT_PATH',
      'ENGINE_SHM_SIZE',
      'ENGINE_USER',
      'ENGINE_DEFAULT_CHECK',
      'ENGINE_CHECK_PATTERN',
      'ENGINE_SECRET_ENV',
      'ENGINE_FALLBACK',
    ] as const;
    const out = eachCase(
      script,
      tables.map((T) => ({ T })),
      `declare -n t="$T"; for k in "\${!t[@]}"; do printf '%s\\t%s\\0' "$k" "\${t[$k]}"; done`,
    );
    const assoc = (table: (typeof tables)[number]): Record<string, string> =>
      Object.fromEntries(words(out[tables.indexOf(table)]?.stdout ?? '').map((row) => row.split('\t', 2) as [string, string]));
    const expected = (value: (e: Engine) => string | null): Record<string, string> =>
      Object.fromEntries(ENGINES.flatMap((e) => (value(e) === null ? [] : [[e, value(e) as string]])));
    const p = ENGINE_PROFILES;
    expect(assoc('ENGINE_MARKERS')).toEqual(expected((e) => (p[e].dataMarkers.length ? p[e].dataMarkers.join(' ') : null)));
    expect(assoc('ENGINE_MARKERS').redis).toBe('dump.rdb appendonly*');
    expect(assoc('ENGINE_MOUNT_PATH')).toEqual(expected((e) => p[e].defaultMountPath));
    expect(assoc('ENGINE_SHM_SIZE')).toEqual({ postgres: '256m' });
    expect(assoc('ENGINE_USER')).toEqual({ postgres: 'postgres', mysql: 'root' });
    expect(assoc('ENGINE_DEFAULT_CHECK')).toEqual(expected((e) => p[e].defaultCheck));
    expect(assoc('ENGINE_CHECK_PATTERN').postgres).toBe(VERIFY_QUERY_PATTERN.source);
    expect(assoc('ENGINE_SECRET_ENV')).toEqual({ mysql: 'MYSQL_PWD MYSQL_ROOT_PASSWORD MARIADB_ROOT_PASSWORD', redis: 'REDISCLI_AUTH REDIS_PASSWORD' });
    expect(assoc('ENGINE_FALLBACK')).toEqual({ mysqladmin: 'mariadb-admin', mysql: 'mariadb', 'redis-cli': 'valkey-cli' });
  });

  it('holds no double braces, which SSM would read as a parameter', () => {
    expect(engineBashScript()).not.toMatch(/\{\{|\}\}/);
  });

  it('refuses patterns bash would read differently', () => {
    expect(() => ereSource(/^\d+$/)).toThrow(/ERE lacks/);
    expect(() => ereSource(/^[\w-]+$/)).toThrow(/ERE lacks|backslash/);
    expect(() => ereSource(/a/g)).toThrow(/flag/);
    expect(() => ereSource(/select/i)).toThrow(/flag/);
    expect(ereSource(/pg_|dblink/i, true)).toBe('pg_|dblink');
    expect(() => ereSource(/PG_/i, true)).toThrow(/upper-case/);
    expect(ereSource(/^a\/b$/)).toBe('^a/b$');
  });

  it('engine_argv gives the words engineArgv shows, placeholders replaced word for word', () => {
    const cases: [Engine, 'health' | 'check', string, string][] = [
      ['postgres', 'check', '', "select count(*) from t where a = 'x  y'"],
      ['postgres', 'check', 'app', ''],
      ['postgres', 'health', '', ''],
      ['mysql', 'check', 'reader', 'select 1'],
      ['mysql', 'health', '', ''],
      ['redis', 'check', '', 'EXISTS a:1 b:{2}'],
      ['redis', 'check', '', ''],
      ['redis', 'health', '', ''],
      ['mongodb', 'check', '', 'db.getSiblingDB("shop").orders.countDocuments({status: "paid"})'],
      ['mongodb', 'check', '', ''],
      ['mongodb', 'health', '', ''],
      ['custom', 'check', '', 'cockroach sql --insecure -e select.1'],
      ['custom', 'health', '', ''],
      ['running', 'health', '', ''],
      ['none', 'check', '', ''],
    ];
    const out = eachCase(
      script,
      cases.map(([E, K, U, T]) => ({ E, K, U, T })),
      `engine_argv "$E" "$K" "$U" "$T"; ${printWords('ENGINE_ARGV')}`,
    );
    cases.forEach(([engine, kind, user, text], i) => {
      const expected = engineArgv(engine, kind, { ...(user ? { user } : {}), ...(text ? { text } : {}) }) ?? [];
      expect(out[i]?.status, `${engine} ${kind}`).toBe(0);
      expect(words(out[i]?.stdout ?? ''), `${engine} ${kind} ${text}`).toEqual(expected);
    });
  });

  it('engine_argv passes a query as data: nothing in it runs', () => {
    const marker = join(mkdtempSync(join(tmpdir(), 'lifeboat-engines-')), 'ran');
    const query = `select 1 $(touch ${marker}) \`touch ${marker}\` ; touch ${marker}`;
    const [pg, redis] = eachCase(
      script,
      [
        { E: 'postgres', T: query },
        { E: 'redis', T: query },
      ],
      `engine_argv "$E" check "" "$T"; ${printWords('ENGINE_ARGV')}`,
    );
    expect(words(pg?.stdout ?? '').at(-1)).toBe(query);
    expect(words(redis?.stdout ?? '')).toEqual(['redis-cli', '-e', ...query.split(' ').filter(Boolean)]);
    expect(existsSync(marker)).toBe(false);
  });

  it('engine_argv refuses an unknown engine or kind', () => {
    const out = eachCase(
      script,
      [
        { E: 'sqlite', K: 'check' },
        { E: 'postgres', K: 'drop' },
        { E: 'x[$(id)]', K: 'check' },
        { E: 'postgres', K: 'check' },
      ],
      'engine_argv "$E" "$K" "" ""',
    );
    expect(out.map((o) => o.status)).toEqual([1, 1, 1, 0]);
  });

  it('engine_check_allowed accepts exactly what the service accepts (same patterns in ERE)', () => {
    const texts = [
      ...Object.values(GOOD).flat(),
      ...Object.values(BAD)
        .flat()
        .map(([t]) => t),
      'cockroach sql --insecure',
      'SELECT 1',
      'Select 1',
    ];
    const engines = [...DATABASE_ENGINES, 'custom', 'running'] as Engine[];
    const cases = engines.flatMap((E) => texts.map((T) => ({ E, T })));
    // A predicate: run in the one shell (`if`), not a subshell each, to keep it quick.
    const { stdout } = sourced(
      script,
      `for ((i = 0; i < ${cases.length.toString()}; i++)); do e="C\${i}_E"; t="C\${i}_T"; if engine_check_allowed "\${!e}" "\${!t}"; then printf 1; else printf 0; fi; done`,
      Object.fromEntries(
        cases.flatMap((c, i) => [
          [`C${i.toString()}_E`, c.E],
          [`C${i.toString()}_T`, c.T],
        ]),
      ),
    );
    expect(stdout).toHaveLength(cases.length);
    cases.forEach(({ E, T }, i) => {
      const service = ENGINE_PROFILES[E].checkRules !== null && checkProblem(E, T) === null;
      const host = stdout[i] === '1';
      // The service's finer redis rule (arity) is not the host's; everything else agrees.
      if (E === 'redis' && !service && host) expect(checkProblem(E, T), T).toMatch(/takes \d/);
      else expect(host, `${E}: ${JSON.stringify(T)}`).toBe(service);
    });
  });

  it('engine_check_allowed refuses the postgres checks that run SQL from text or build a denied name', () => {
    const { stdout } = sourced(
      script,
      `for ((i = 0; i < ${PG_DODGES.length.toString()}; i++)); do t="T$i"; if engine_check_allowed postgres "\${!t}"; then printf 1; else printf 0; fi; done`,
      Object.fromEntries(PG_DODGES.map((t, i) => [`T${i.toString()}`, t])),
    );
    expect(stdout).toBe('0'.repeat(PG_DODGES.length));
    expect(sourced(script, 'engine_check_allowed postgres "$T" && printf 1', { T: GOOD.postgres.at(-1) ?? '' }).stdout).toBe('1');
  });

  it('engine_from_names tells the engine from top-level names as the service does', () => {
    const sets = [
      ['./PG_VERSION', './base'],
      ['ibdata1', 'mysql/'],
      ['./appendonlydir/x'],
      ['WiredTiger'],
      ['PG_VERSION', 'dump.rdb'],
      ['nothing'],
      ['./'],
      ['appendonly'],
      ['backups/PG_VERSION'],
    ];
    const out = eachCase(
      script,
      sets.map((names) => ({ N: names.join('\n') })),
      'mapfile -t names <<<"$N"; engine_from_names "${names[@]}"',
    );
    sets.forEach((names, i) => {
      const hits = enginesFromMarkers(names);
      expect(out[i]?.stdout.trim(), names.join(',')).toBe(hits.length === 1 ? hits[0]?.engine : '');
      expect(out[i]?.status, names.join(',')).toBe(hits.length === 1 ? 0 : 1);
    });
    expect(out.map((o) => o.stdout.trim())).toEqual(['postgres', 'mysql', 'redis', 'mongodb', '', '', '', 'redis', '']);
  });

  it('engine_answer_ok refuses a redis error reply that redis-cli exits 0 with, and takes any first line where the engine has no answer pattern', () => {
    const cases: [string, string, string, number][] = [
      ['health', 'redis', 'PONG', 0],
      ['health', 'redis', 'NOAUTH Authentication required.', 1],
      ['health', 'redis', 'LOADING Redis is loading the dataset in memory', 1],
      ['check', 'redis', '42', 0],
      ['check', 'redis', 'WRONGTYPE Operation against a key holding the wrong kind of value', 1],
      ['check', 'mongodb', '17\nmore', 0],
      ['health', 'mongodb', '0', 1],
      ['check', 'postgres', 'paid', 0],
      ['health', 'postgres', '', 0],
    ];
    const out = eachCase(
      script,
      cases.map(([K, E, O]) => ({ K, E, O })),
      'engine_answer_ok "$K" "$E" "$O"',
    );
    expect(out.map((o) => o.status)).toEqual(cases.map((c) => c[3]));
  });

  it('engine_fallback swaps a program the image lacks for its other name', () => {
    const [mysql, postgres] = eachCase(
      script,
      [
        { E: 'mysql', T: 'select 1' },
        { E: 'postgres', T: '' },
      ],
      `engine_argv "$E" check "" "$T"; engine_fallback; ${printWords('ENGINE_ARGV')}`,
    );
    expect(words(mysql?.stdout ?? '').slice(0, 3)).toEqual(['mariadb', '-u', 'root']);
    expect(postgres?.status).toBe(1);
  });

  it("engine_secret takes the client's password from the container's environment, first named variable wins", () => {
    const cases = [
      { E: 'mysql', ENV: 'PATH=/usr/bin\nMARIADB_ROOT_PASSWORD=b\nMYSQL_ROOT_PASSWORD=a = b $(id)' },
      { E: 'mysql', ENV: 'MARIADB_ROOT_PASSWORD=only' },
      { E: 'mysql', ENV: 'MYSQL_ROOT_PASSWORD_FILE=/run/secrets/x' },
      { E: 'redis', ENV: 'REDIS_PASSWORD=r' },
      { E: 'postgres', ENV: 'POSTGRES_PASSWORD=p' },
    ];
    const out = eachCase(script, cases, `engine_secret "$E" <<<"$ENV"; printf '%s|%s' "$ENGINE_SECRET_NAME" "$ENGINE_SECRET_VALUE"`);
    expect(out.map((o) => o.stdout)).toEqual(['MYSQL_PWD|a = b $(id)', 'MYSQL_PWD|only', '|', 'REDISCLI_AUTH|r', '|']);
  });
});
