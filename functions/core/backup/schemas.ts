/**
 * The body of `POST /sources/{source}/backups` (and of `lifeboat backup` in API mode): a
 * backup now, through SSM Run Command, of one volume (or host directory) on one host.
 * Every field's pattern is the backup-volume document parameter's it becomes
 * (test/unit/backup-request.test.ts holds them together); every error names its field.
 */
import * as z from 'zod';
import { SOURCE_PATTERN, VOLUME_PATTERN } from '../archive-key.ts';
import { CONTAINER_PATTERN, INSTANCE_ID_PATTERN, MOUNT_PATH_PATTERN, SYSTEM_DIRECTORIES, systemDirectoryProblem } from '../restore/request.ts';

/** A host directory the backup document accepts: absolute, at least two segments (system directories are refused apart, here and on the host). */
export const BACKUP_HOST_PATH_PATTERN = /^(\/[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}){2,16}$/;

export const CONSISTENCIES = ['pause', 'stop', 'none'] as const;
export type Consistency = (typeof CONSISTENCIES)[number];

const named = (pattern: RegExp, what: string) => z.string().regex(pattern, { error: `must be ${what} (${pattern.source})` });

export const BackupRequest = z
  .strictObject({
    source: named(SOURCE_PATTERN, 'the host or application name of the archives'),
    /** The Docker named volume to back up (exactly one of volume and hostPath). */
    volume: named(VOLUME_PATTERN, 'a Docker volume name').optional(),
    /** A host directory to back up instead of a volume: not one that is, lies inside or holds a system directory such as /etc, /home, /var/lib/docker (refused here and on the host). */
    hostPath: named(BACKUP_HOST_PATH_PATTERN, 'an absolute host directory of at least two segments, e.g. /srv/pgdata').optional(),
    instanceId: named(INSTANCE_ID_PATTERN, 'an EC2 instance or managed node id such as i-0123456789abcdef0'),
    /** The database container using the data: paused or stopped for a consistent copy, its spec recorded in the manifest. */
    containerName: named(CONTAINER_PATTERN, 'a Docker container name').optional(),
    /** Where the container mounts the data (recorded in the manifest). @default read from the container, else the document's default */
    mountPath: named(MOUNT_PATH_PATTERN, 'an absolute path').optional(),
    /** pause (crash-consistent), stop (clean shutdown, restarted after), none (live copy). Only applies with a containerName. @default pause */
    consistency: z.enum(CONSISTENCIES, { error: `must be one of ${CONSISTENCIES.join(', ')}` }).default('pause'),
  })
  .superRefine((r, ctx) => {
    if (r.volume !== undefined && r.hostPath !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['hostPath'], message: 'cannot be given with volume: name exactly one of volume and hostPath' });
    }
    const system = r.hostPath === undefined ? null : systemDirectoryProblem(r.hostPath);
    if (system !== null) {
      ctx.addIssue({
        code: 'custom',
        path: ['hostPath'],
        message: `must be a data directory such as /srv/pgdata, neither one of, inside nor above a system directory (${SYSTEM_DIRECTORIES.join(', ')}); ${system}`,
      });
    }
    if (r.volume === undefined && r.hostPath === undefined) {
      ctx.addIssue({ code: 'custom', path: ['volume'], message: 'is required: name the Docker volume to back up (or hostPath for a host directory)' });
    }
  });
export type BackupRequest = z.infer<typeof BackupRequest>;

/** A backup id as the service makes them (`b-<time base36>-<8 hex>`), also the document's BackupId. */
export const BACKUP_ID_PATTERN = /^b-[a-z0-9]{1,12}-[a-f0-9]{8}$/;
/** An SSM command id (a UUID). */
export const COMMAND_ID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
