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

/** Which archive to restore. */
export const ArchiveChoice = z.union([
  z.literal('latest'),
  z.strictObject({ before: z.iso.datetime({ offset: true, error: 'must be an ISO 8601 time, e.g. 2026-11-27T03:00:00Z' }) }),
  z.strictObject({ key: z.string().min(1).max(1024) }),
]);
export type ArchiveChoice = z.infer<typeof ArchiveChoice>;

/** A PostgreSQL check (engine profile postgres, and MySQL's SELECT shape): one read-only SELECT. */
export const VERIFY_QUERY_PATTERN = /^(select|SELECT) [A-Za-z0-9_ ,.*()=<>']{1,500}$/;
/**
 * What a PostgreSQL check may not name, though read-only: the check runs as the database's
 * superuser, which reads server files (pg_read_file, pg_ls_dir, lo_*), settings, or runs
 * dynamic SQL (query_to_xml and friends). A denylist on top of the allow pattern; the host
 * script applies the same one (the engines module carries both to it).
 */
export const UNSAFE_QUERY_PATTERN = /pg_|lo_|_to_xml|current_setting|set_config|dblink/i;

/** The throwaway volume and container name of a drill (the restore document insists on the prefix). */
export const drillName = (restoreId: string): string => `lifeboat-drill-${restoreId.replace(/^r-/, '')}`;
