import * as z from 'zod';

const seconds = z.number().nonnegative();
const sha256 = z.string().regex(/^[a-f0-9]{64}$/);

/**
 * The helper image a run used and how the host got it: `present` (already there), `pulled`
 * (after an ECR login when in ECR), or `provisioned` (made from the host's own tools, as
 * `local/lifeboat-helper-host:<content hash>`). null when the run ended before; absent from older hosts.
 */
export const HelperUsed = z.strictObject({
  image: z.string(),
  source: z.enum(['present', 'pulled', 'provisioned']),
});
export type HelperUsed = z.infer<typeof HelperUsed>;

/** The JSON line `restore-volume` prints last on stdout. */
export const RestoreResult = z.strictObject({
  lifeboat: z.literal('restore-result'),
  version: z.literal(1),
  restoreId: z.string(),
  mode: z.enum(['restore', 'drill']).default('restore'),
  outcome: z.enum(['succeeded', 'failed', 'refused']),
  failedPhase: z.enum(['preflight', 'download', 'extract', 'swap', 'start', 'verify', 'cleanup']).nullable(),
  error: z.string().max(4000).nullable(),
  volume: z.string().nullable(),
  hostPath: z.string().nullable(),
  container: z.string().nullable(),
  containerAction: z.enum(['none', 'restarted', 'created']),
  bytes: z.number().int().nonnegative(),
  sha256: sha256.nullable(),
  compression: z.enum(['gzip', 'zstd', 'xz', 'bzip2', 'none']).nullable(),
  preservedVolume: z.string().nullable(),
  rolledBack: z.boolean(),
  /** The engine profile that verified (auto resolved on the host); null when the run ended before it was known. */
  engine: z.string().nullable().optional(),
  verifyOutput: z.string().nullable(),
  /** Files from the archive whose setuid/setgid bits were cleared. */
  strippedSetid: z.number().int().nonnegative().default(0),
  /** The restored data root as `uid:gid:mode` (from the archive's root entry). */
  dataRoot: z
    .string()
    .regex(/^[0-9]+:[0-9]+:[0-7]{1,4}$/)
    .nullable()
    .default(null),
  helper: HelperUsed.nullable().optional(),
  /**
   * The database container's image as it ran: the reference, `repository@sha256:…` (its
   * RepoDigest, or the image id when it has none), and whether the host pulled it. null when
   * no container was started; absent from older hosts.
   */
  containerImage: z
    .strictObject({
      image: z.string(),
      digest: z.string(),
      source: z.enum(['present', 'pulled']),
    })
    .nullable()
    .optional(),
  phases: z.strictObject({
    preflight: seconds,
    download: seconds,
    extract: seconds,
    swap: seconds,
    start: seconds,
    verify: seconds,
    cleanup: seconds.default(0),
  }),
  totalSeconds: seconds,
});
export type RestoreResult = z.infer<typeof RestoreResult>;

/** The JSON line `backup-volume` prints last on stdout. */
export const BackupResult = z.strictObject({
  lifeboat: z.literal('backup-result'),
  version: z.literal(1),
  backupId: z.string(),
  outcome: z.enum(['succeeded', 'failed', 'refused']),
  failedPhase: z.enum(['preflight', 'archive', 'manifest']).nullable(),
  error: z.string().max(4000).nullable(),
  volume: z.string().nullable(),
  hostPath: z.string().nullable(),
  container: z.string().nullable(),
  consistency: z.enum(['pause', 'stop', 'none']).nullable(),
  bucket: z.string().nullable(),
  archiveKey: z.string().nullable(),
  manifestKey: z.string().nullable(),
  bytes: z.number().int().nonnegative(),
  uncompressedBytes: z.number().int().nonnegative(),
  fileCount: z.number().int().nonnegative(),
  sha256: sha256.nullable(),
  compression: z.literal('zstd'),
  containerFrozenSeconds: seconds,
  helper: HelperUsed.nullable().optional(),
  phases: z.strictObject({ preflight: seconds, archive: seconds, manifest: seconds }),
  totalSeconds: seconds,
  pruneRisk: z.strictObject({
    notUsedByRunningContainer: z.array(z.string()),
    unreferenced: z.array(z.string()),
  }),
});
export type BackupResult = z.infer<typeof BackupResult>;

/**
 * Finds and validates the result line: the last non-empty line of stdout.
 * Returns undefined when there is none or it is not a valid result (the caller
 * then reports the raw output; a lying or truncated line is never trusted).
 */
export function parseResultLine<T>(schema: z.ZodType<T>, stdout: string): T | undefined {
  const last = stdout.trimEnd().split('\n').pop();
  if (!last) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(last);
  } catch {
    return undefined;
  }
  const parsed = schema.safeParse(json);
  return parsed.success ? parsed.data : undefined;
}

/** The JSON line `cancel-restore` prints last on stdout. */
export const CancelResult = z.strictObject({
  lifeboat: z.literal('cancel-result'),
  version: z.literal(1),
  restoreId: z.string(),
  outcome: z.enum(['stopped', 'not-running', 'still-running', 'refused']),
  message: z.string().max(1000),
});
export type CancelResult = z.infer<typeof CancelResult>;
