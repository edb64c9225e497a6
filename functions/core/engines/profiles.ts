/**
 * Engine profiles, declared once: how Lifeboat knows a restored database answers and
 * how it runs a read-only check on it. The service validates and plans with them; the
 * host script gets the same profiles as generated bash tables (engineBashTables), so
 * the two cannot drift.
 */
import * as z from 'zod';
import { CUSTOM_COMMAND, MONGODB_CHECK, MYSQL_CHECK, POSTGRES_CHECK, REDIS_CHECK, type CheckRules } from './checks.ts';

/** The engines a restore can be verified as. */
export const ENGINES = ['postgres', 'mysql', 'redis', 'mongodb', 'custom', 'running', 'none'] as const;
export type Engine = (typeof ENGINES)[number];
/** What a request may say: an engine, or `auto` (from the archive; on the host from the data if the plan could not tell). */
export const ENGINE_REQUESTS = [...ENGINES, 'auto'] as const;
export type EngineRequest = (typeof ENGINE_REQUESTS)[number];

export const EngineName = z.enum(ENGINES, { error: `must be one of ${ENGINES.join(', ')}` });
export const EngineChoice = z.enum(ENGINE_REQUESTS, { error: `must be one of ${ENGINE_REQUESTS.join(', ')}` });

/** Placeholder words of a profile's argument lists, replaced word for word on the host. */
export const PLACEHOLDERS = {
  /** The database user (the request's, else the profile's defaultUser). */
  user: '@USER@',
  /** The check text as ONE argument (SQL, a mongosh expression). */
  query: '@QUERY@',
  /** The check text split on spaces into several arguments (a redis-cli command). */
  words: '@WORDS@',
} as const;

/**
 * A container variable whose value the check client needs (a password), handed over
 * through the environment of `docker exec -e NAME`, never on a command line.
 */
export interface SecretEnv {
  /** The variable the client reads (MYSQL_PWD, REDISCLI_AUTH). */
  readonly name: string;
  /** The container's variables that may hold it, first found wins (MYSQL_ROOT_PASSWORD). */
  readonly from: readonly string[];
}

/** One engine: how it is recognised, started, asked whether it answers, and checked. */
export interface EngineProfile {
  readonly engine: Engine;
  /** For plans and messages. */
  readonly label: string;
  /** Matched against the last path part of the image repository (no registry, tag or digest), lower-cased. */
  readonly imageHints: readonly RegExp[];
  /** Top-level names in the data directory that only this engine leaves; a trailing `*` matches any suffix. */
  readonly dataMarkers: readonly string[];
  /** Where the official image keeps its data. */
  readonly defaultMountPath: string | null;
  /** `--shm-size` for a recreated container, in the ShmSize parameter's form. */
  readonly defaultShmSize: string | null;
  /** The user health and check run as (`@USER@`). */
  readonly defaultUser: string | null;
  /** Argument list run in the container until it succeeds (exit 0, and healthAnswer if set); null: none. */
  readonly health: readonly string[] | null;
  /** ERE the first line of the health command's output must match (clients that exit 0 on an error reply). */
  readonly healthAnswer: RegExp | null;
  /** Argument list of the read-only check; null: the engine has none. */
  readonly check: readonly string[] | null;
  /** The check run when the request gives none; null: health alone. */
  readonly defaultCheck: string | null;
  /** What the check text may say; null: no check text is accepted. */
  readonly checkRules: CheckRules | null;
  /** ERE the check's first output line must match, else the check failed whatever the exit status. */
  readonly checkAnswer: RegExp | null;
  /** Credentials the client takes from the container's environment. */
  readonly secretEnv: SecretEnv | null;
  /** A program of health or check and what to run instead where the image lacks it (exit 126/127 from docker exec). */
  readonly fallbackPrograms: Readonly<Record<string, string>>;
}

/** Authenticates mongosh as the image's root user when the container has one; no password passes a command line. */
const MONGOSH_AUTH = 'const u = process.env.MONGO_INITDB_ROOT_USERNAME; if (u) db.getSiblingDB("admin").auth(u, process.env.MONGO_INITDB_ROOT_PASSWORD)';

const NUMBER_ANSWER = /^-?[0-9]{1,19}$/;

const none = {
  imageHints: [],
  dataMarkers: [],
  defaultMountPath: null,
  defaultShmSize: null,
  defaultUser: null,
  health: null,
  healthAnswer: null,
  check: null,
  defaultCheck: null,
  checkRules: null,
  checkAnswer: null,
  secretEnv: null,
  fallbackPrograms: {},
} as const satisfies Omit<EngineProfile, 'engine' | 'label'>;

/** Every engine's profile. */
export const ENGINE_PROFILES: Readonly<Record<Engine, EngineProfile>> = {
  postgres: {
    engine: 'postgres',
    label: 'PostgreSQL',
    imageHints: [/^(postgres|postgresql|postgis|timescaledb|timescaledb-ha|pgvector|citus|pgrouting|supabase-postgres)$/],
    dataMarkers: ['PG_VERSION'],
    defaultMountPath: '/var/lib/postgresql/data',
    defaultShmSize: '256m',
    defaultUser: 'postgres',
    health: ['pg_isready', '-q', '-h', '/var/run/postgresql', '-U', '@USER@'],
    healthAnswer: null,
    // env's argument is one word with a space: psql reads PGOPTIONS itself, no shell splits it.
    check: [
      'env',
      'PGOPTIONS=-c default_transaction_read_only=on',
      'psql',
      '-h',
      '/var/run/postgresql',
      '-U',
      '@USER@',
      '-d',
      'postgres',
      '-v',
      'ON_ERROR_STOP=1',
      '-XAtq',
      '-c',
      '@QUERY@',
    ],
    defaultCheck: 'select 1',
    checkRules: POSTGRES_CHECK,
    checkAnswer: null,
    secretEnv: null,
    fallbackPrograms: {},
  },
  mysql: {
    engine: 'mysql',
    label: 'MySQL/MariaDB',
    imageHints: [/^(mysql|mysql-server|mariadb|mariadb-server|percona|percona-server|percona-xtradb-cluster)$/],
    dataMarkers: ['ibdata1', 'mysql', 'mysql.ibd', 'aria_log_control'],
    defaultMountPath: '/var/lib/mysql',
    defaultShmSize: null,
    defaultUser: 'root',
    // Exits 0 whenever the server answers, even "Access denied": it proves the server is up, not the password.
    health: ['mysqladmin', 'ping', '--silent', '-u', '@USER@'],
    healthAnswer: null,
    check: ['mysql', '-u', '@USER@', '--batch', '--skip-column-names', '--init-command=SET SESSION TRANSACTION READ ONLY', '-e', '@QUERY@'],
    defaultCheck: 'select 1',
    checkRules: MYSQL_CHECK,
    checkAnswer: null,
    secretEnv: { name: 'MYSQL_PWD', from: ['MYSQL_ROOT_PASSWORD', 'MARIADB_ROOT_PASSWORD'] },
    // MariaDB 11 images no longer carry the mysql* names.
    fallbackPrograms: { mysqladmin: 'mariadb-admin', mysql: 'mariadb' },
  },
  redis: {
    engine: 'redis',
    label: 'Redis',
    imageHints: [/^(redis|redis-stack|redis-stack-server|valkey|keydb)$/],
    dataMarkers: ['dump.rdb', 'appendonly*'],
    defaultMountPath: '/data',
    defaultShmSize: null,
    defaultUser: null,
    // -e: an error reply exits 1 (else redis-cli exits 0 and prints it); LOADING still exits 0, so the answer is checked too.
    health: ['redis-cli', '-e', 'PING'],
    healthAnswer: /^PONG$/,
    check: ['redis-cli', '-e', '@WORDS@'],
    defaultCheck: 'DBSIZE',
    checkRules: REDIS_CHECK,
    checkAnswer: NUMBER_ANSWER,
    secretEnv: { name: 'REDISCLI_AUTH', from: ['REDIS_PASSWORD'] },
    fallbackPrograms: { 'redis-cli': 'valkey-cli' },
  },
  mongodb: {
    engine: 'mongodb',
    label: 'MongoDB',
    imageHints: [/^(mongo|mongodb|mongodb-community-server|mongodb-enterprise-server|percona-server-mongodb)$/],
    dataMarkers: ['WiredTiger', 'WiredTiger.wt', 'mongod.lock'],
    defaultMountPath: '/data/db',
    defaultShmSize: null,
    defaultUser: null,
    health: ['mongosh', '--quiet', '--norc', '--eval', 'db.runCommand({ping:1}).ok'],
    healthAnswer: /^1$/,
    // mongosh evaluates several --eval in one session (1.5.1+) and prints the last one's result.
    check: ['mongosh', '--quiet', '--norc', '--eval', MONGOSH_AUTH, '--eval', '@QUERY@'],
    defaultCheck: null,
    checkRules: MONGODB_CHECK,
    checkAnswer: NUMBER_ANSWER,
    secretEnv: null,
    fallbackPrograms: {},
  },
  custom: {
    ...none,
    engine: 'custom',
    label: 'custom commands',
    // The operator's health and check commands arrive as parameters, not from here.
    checkRules: CUSTOM_COMMAND,
  },
  running: { ...none, engine: 'running', label: 'container stays running' },
  none: { ...none, engine: 'none', label: 'no check' },
};

/** Seconds a `running` container must stay up to count as answering. */
export const RUNNING_SECONDS = 5;

/** The profile of an engine. */
export const profileOf = (engine: Engine): EngineProfile => ENGINE_PROFILES[engine];

/** Engines that are databases Lifeboat knows (a profile with health and check commands). */
export const DATABASE_ENGINES = ENGINES.filter((e) => ENGINE_PROFILES[e].health !== null);
