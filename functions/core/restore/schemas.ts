/**
 * The request bodies: a restore (`POST /sources/{source}/restores`, the CLI, Slack) and
 * a drill. Field patterns come from request.ts, verification fields and their rules from
 * the engines module; every error names its field and what is allowed.
 */
import * as z from 'zod';
import { SOURCE_PATTERN, VOLUME_PATTERN } from '../archive-key.ts';
import { ENGINE_VERIFY_FIELDS, EngineChoice, engineVerifyIssues, type EngineRequest } from '../engines/index.ts';
import { VolumeCreation } from '../policy.ts';
import { ArchiveChoice, CONTAINER_PATTERN, ENV_FILE_DIR, ENV_FILE_PATTERN, INSTANCE_ID_PATTERN, MOUNT_PATH_PATTERN } from './request.ts';

const named = (pattern: RegExp, what: string) => z.string().regex(pattern, { error: `must be ${what} (${pattern.source})` });

/**
 * How a request says the restored database is proven to answer. `health` is accepted
 * as a field only to be refused with a reason (see requestVerifyIssues).
 */
const VERIFY_FIELDS = {
  /**
   * postgres, mysql, redis, mongodb, custom, running, none, or auto. Absent is auto (so
   * callers that build a request in code need not name it).
   * @default auto: the protect config's engine, else the archive's (data markers, then image), else decided on the host
   */
  engine: EngineChoice.optional(),
  /** A read-only check in the engine's language (SQL SELECT, a redis read command, a mongosh count); its first line is recorded. */
  check: ENGINE_VERIFY_FIELDS.check,
  /** The check's answer must be a whole number at least this big. */
  expectMinimum: ENGINE_VERIFY_FIELDS.expectMinimum,
  /** Refused: custom health commands come only from the protect config. */
  health: ENGINE_VERIFY_FIELDS.health,
};

interface RequestVerify {
  readonly engine?: EngineRequest | undefined;
  readonly check?: string | undefined;
  readonly expectMinimum?: number | undefined;
  readonly health?: string | undefined;
}

/** Said when a request names a custom command: why only the protect config may. */
export const CUSTOM_FROM_CONFIG =
  "custom commands come only from the volume's protect config (verify.health, verify.check): they run as given, as root, inside the database container, so only the operator names them; a request may say engine custom to use them";

/**
 * What is wrong with a request's verification, each problem with its field. The engines
 * module's rules (a check the engine refuses, expectMinimum without a check), except that
 * custom commands are never taken from a request: a request with engine custom uses the
 * protect config's (the service refuses it when there are none).
 */
export function requestVerifyIssues(v: RequestVerify, options: { dataOnly?: boolean } = {}): { path: string; message: string }[] {
  if (options.dataOnly) {
    const dataOnly = 'a data-only restore (no containerName) starts no database, so nothing is verified; name the container to verify it';
    const issues: { path: string; message: string }[] = [];
    if (v.engine !== undefined && v.engine !== 'auto' && v.engine !== 'none') issues.push({ path: 'engine', message: `must be auto or none: ${dataOnly}` });
    for (const field of ['check', 'expectMinimum', 'health'] as const)
      if (v[field] !== undefined) issues.push({ path: field, message: `is not taken: ${dataOnly}` });
    return issues;
  }
  const issues: { path: string; message: string }[] = [];
  if (v.health !== undefined) issues.push({ path: 'health', message: `is not taken from a request: ${CUSTOM_FROM_CONFIG}` });
  if (v.engine === 'custom') {
    if (v.check !== undefined) issues.push({ path: 'check', message: `is not taken from a request with engine custom: ${CUSTOM_FROM_CONFIG}` });
    return issues;
  }
  return [...issues, ...engineVerifyIssues({ engine: v.engine ?? 'auto', check: v.check, expectMinimum: v.expectMinimum })];
}

const addIssues = (issues: { path: string; message: string }[], ctx: z.RefinementCtx): void => {
  for (const { path, message } of issues) ctx.addIssue({ code: 'custom', path: [path], message });
};

const uncompressedBytes = z
  .number()
  .int()
  .positive()
  .max(2 ** 50)
  .optional();

/** The body of `POST /sources/{source}/restores`. */
export const RestoreRequest = z
  .strictObject({
    source: named(SOURCE_PATTERN, 'the host or application name of the archives'),
    volume: named(VOLUME_PATTERN, 'a Docker volume name'),
    archive: ArchiveChoice.default('latest'),
    instanceId: named(INSTANCE_ID_PATTERN, 'an EC2 instance or managed node id such as i-0123456789abcdef0'),
    /**
     * The database container, stopped before and started (or created from the manifest)
     * after the restore, then verified. Absent: a data-only restore, which fills the
     * volume and starts and verifies nothing.
     */
    containerName: named(CONTAINER_PATTERN, 'a Docker container name').optional(),
    /** Where the container mounts the data. @default the manifest's, else the engine's (postgres /var/lib/postgresql/data, mysql /var/lib/mysql, …), else decided on the host */
    // restore-volume's MountPath takes at most 512 characters.
    mountPath: named(MOUNT_PATH_PATTERN, 'an absolute path').max(512, { error: 'must be at most 512 characters' }).optional(),
    ifVolumeExists: z.enum(['fail', 'preserve']).default('fail'),
    /** Host file with the values of the container's environment variables (bare-host recreate). */
    containerEnvFile: named(ENV_FILE_PATTERN, `a file in ${ENV_FILE_DIR}/ on the host`).optional(),
    /** Driver and options for the volume if this restore creates it. @default the protect config's, else a plain local volume (never the manifest's) */
    ...VolumeCreation.shape,
    ...VERIFY_FIELDS,
    /** Restore an archive that has no sha256 (made by hand or by another tool): nothing proves its bytes. @default false */
    allowUnverified: z.boolean().default(false),
    /** The archive's uncompressed size in bytes, when the catalog's figure is missing or wrong (bounds extraction and the free-space check). */
    uncompressedBytes,
    dryRun: z.boolean().default(false),
  })
  .superRefine((r, ctx) => {
    addIssues(requestVerifyIssues(r, { dataOnly: r.containerName === undefined }), ctx);
  });
export type RestoreRequest = z.infer<typeof RestoreRequest>;

/** A restore drill: the archive restored under throwaway names, verified, removed. */
export const DrillRequest = z
  .strictObject({
    source: named(SOURCE_PATTERN, 'the host or application name of the archives'),
    volume: named(VOLUME_PATTERN, 'a Docker volume name'),
    archive: ArchiveChoice.default('latest'),
    instanceId: named(INSTANCE_ID_PATTERN, 'an EC2 instance or managed node id such as i-0123456789abcdef0'),
    ...VERIFY_FIELDS,
    /** Env file with the values of the manifest's environment variable names. */
    containerEnvFile: named(ENV_FILE_PATTERN, `a file in ${ENV_FILE_DIR}/ on the host`).optional(),
    /** Drill an archive that has no sha256 (see RestoreRequest.allowUnverified). @default false */
    allowUnverified: z.boolean().default(false),
    uncompressedBytes,
  })
  .superRefine((r, ctx) => {
    addIssues(requestVerifyIssues(r), ctx);
  });
export type DrillRequest = z.infer<typeof DrillRequest>;
