import { z } from 'zod';
import { SOURCE_PATTERN, VOLUME_PATTERN } from '../archive-key.ts';

/** EC2 instances and hybrid managed nodes. */
export const INSTANCE_ID_PATTERN = /^(i|mi)-[0-9a-f]{8,17}$/;
const CONTAINER_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/;
const MOUNT_PATH_PATTERN = /^(\/[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}){1,16}$/;
const ENV_FILE_PATTERN = /^(\/[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}){1,16}$/;

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
  containerEnvFile: named(ENV_FILE_PATTERN, 'an absolute path on the host').optional(),
  dryRun: z.boolean().default(false),
});
export type RestoreRequest = z.infer<typeof RestoreRequest>;
