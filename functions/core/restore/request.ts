import * as z from 'zod';
import { SOURCE_PATTERN, VOLUME_PATTERN } from '../archive-key.ts';
import { VolumeCreation } from '../policy.ts';

/** EC2 instances and hybrid managed nodes. */
export const INSTANCE_ID_PATTERN = /^(i|mi)-[0-9a-f]{8,17}$/;
export const CONTAINER_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/;
export const MOUNT_PATH_PATTERN = /^(\/[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}){1,16}$/;
/** Env files live in one root-only directory on the host (root-owned, mode 0600; checked there). */
export const ENV_FILE_DIR = '/etc/lifeboat/env';
export const ENV_FILE_PATTERN = /^\/etc\/lifeboat\/env\/[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/;

const named = (pattern: RegExp, what: string) => z.string().regex(pattern, { error: `must be ${what} (${pattern.source})` });

/** Which archive to restore. */
export const ArchiveChoice = z.union([
  z.literal('latest'),
  z.strictObject({ before: z.iso.datetime({ offset: true, error: 'must be an ISO 8601 time, e.g. 2026-11-27T03:00:00Z' }) }),
  z.strictObject({ key: z.string().min(1).max(1024) }),
]);
export type ArchiveChoice = z.infer<typeof ArchiveChoice>;

/** The body of `POST /restores`. */
export const RestoreRequest = z.strictObject({
  source: named(SOURCE_PATTERN, 'the host or application name of the archives'),
  volume: named(VOLUME_PATTERN, 'a Docker volume name'),
  archive: ArchiveChoice.default('latest'),
  instanceId: named(INSTANCE_ID_PATTERN, 'an EC2 instance or managed node id such as i-0123456789abcdef0'),
  containerName: named(CONTAINER_PATTERN, 'a Docker container name'),
  /** Where the container mounts the data. @default the manifest's, else /var/lib/postgresql/data */
  mountPath: named(MOUNT_PATH_PATTERN, 'an absolute path').optional(),
  ifVolumeExists: z.enum(['fail', 'preserve']).default('fail'),
  /** Host file with the values of the container's environment variables (bare-host recreate). */
  containerEnvFile: named(ENV_FILE_PATTERN, `a file in ${ENV_FILE_DIR}/ on the host`).optional(),
  /** Driver and options for the volume if this restore creates it. @default the protect config's, else a plain local volume (never the manifest's) */
  ...VolumeCreation.shape,
  /** Restore an archive that has no sha256 (made by hand or by another tool): nothing proves its bytes. @default false */
  allowUnverified: z.boolean().default(false),
  /** The archive's uncompressed size in bytes, when the catalog's figure is missing or wrong (bounds extraction and the free-space check). */
  uncompressedBytes: z
    .number()
    .int()
    .positive()
    .max(2 ** 50)
    .optional(),
  dryRun: z.boolean().default(false),
});
export type RestoreRequest = z.infer<typeof RestoreRequest>;

/** The restore document's VerifyQuery pattern: one read-only SELECT. */
export const VERIFY_QUERY_PATTERN = /^(select|SELECT) [A-Za-z0-9_ ,.*()=<>']{1,500}$/;
/**
 * What a verify query may not name, though read-only: the check runs as the database's
 * superuser, which reads server files (pg_read_file, pg_ls_dir, lo_*), settings, or runs
 * dynamic SQL (query_to_xml and friends). A denylist on top of the allow pattern; the host
 * script applies the same one (restore-volume, UNSAFE_QUERY).
 */
export const UNSAFE_QUERY_PATTERN = /pg_|lo_|_to_xml|current_setting|set_config|dblink/i;
/** A verify query: one read-only SELECT that names no server-file, settings or dynamic-SQL function. */
export const VerifyQuery = z
  .string()
  .regex(VERIFY_QUERY_PATTERN, { error: "must be one read-only SELECT of letters, digits, spaces and _ ,.*()=<>'" })
  .refine((q) => !UNSAFE_QUERY_PATTERN.test(q), {
    error: 'may not name server-file, large-object, settings or dynamic-SQL functions (pg_*, lo_*, *_to_xml, current_setting, set_config, dblink)',
  });

/** A restore drill: the archive restored under throwaway names, verified, removed. */
export const DrillRequest = z
  .strictObject({
    source: named(SOURCE_PATTERN, 'the host or application name of the archives'),
    volume: named(VOLUME_PATTERN, 'a Docker volume name'),
    archive: ArchiveChoice.default('latest'),
    instanceId: named(INSTANCE_ID_PATTERN, 'an EC2 instance or managed node id such as i-0123456789abcdef0'),
    /** A read-only check, e.g. `select count(*) from orders`; its first line is recorded. */
    verifyQuery: VerifyQuery.optional(),
    /** The drill fails unless verifyQuery's first line is a number at least this big. */
    expectMinimum: z.number().int().nonnegative().optional(),
    /** Env file with the values of the manifest's environment variable names. */
    containerEnvFile: named(ENV_FILE_PATTERN, `a file in ${ENV_FILE_DIR}/ on the host`).optional(),
    /** Drill an archive that has no sha256 (see RestoreRequest.allowUnverified). @default false */
    allowUnverified: z.boolean().default(false),
    uncompressedBytes: z
      .number()
      .int()
      .positive()
      .max(2 ** 50)
      .optional(),
  })
  .refine((r) => r.expectMinimum === undefined || r.verifyQuery !== undefined, {
    error: 'expectMinimum needs a verifyQuery whose first line is a number',
    path: ['expectMinimum'],
  });
export type DrillRequest = z.infer<typeof DrillRequest>;

/** The throwaway volume and container name of a drill (the restore document insists on the prefix). */
export const drillName = (restoreId: string): string => `lifeboat-drill-${restoreId.replace(/^r-/, '')}`;
