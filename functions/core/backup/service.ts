import { randomBytes } from 'node:crypto';
import type { CommandDocument } from '../runbooks/document.ts';
import { resolveParameters } from '../runbooks/parameters.ts';
import { BackupResult, parseResultLine } from '../runbooks/results.ts';
import { TERMINAL_COMMAND_STATUSES } from '../restore/completion.ts';
import { ClientError, ConflictError, NotFoundError } from '../restore/errors.ts';
import type { InstanceDirectory, InstanceStatus } from '../restore/ports.ts';
import { ANY_SOURCE, TARGET_SOURCES_TAG } from '../restore/targets.ts';
import type { BackupRequest, Consistency } from './schemas.ts';

/** Where a backup runs: SSM Run Command with the backup-volume document. */
export interface BackupRunner {
  /** Sends the backup document to one instance; returns the command id. */
  sendBackup(request: SendBackup): Promise<string>;
  /** What became of a backup command (found by its id alone), or undefined when SSM lists no invocation of it. */
  backupInvocation(commandId: string): Promise<BackupInvocation | undefined>;
  /** The full standard output of an ended backup command (its last line is the result). */
  backupOutput(commandId: string, instanceId: string): Promise<string>;
}

export interface SendBackup {
  readonly instanceId: string;
  /** Exactly the document's parameters (already checked against its patterns). */
  readonly parameters: Readonly<Record<string, string>>;
  /** `lifeboat backup <backupId> <source>`: how the status route knows the command's source. */
  readonly comment: string;
}

export interface BackupInvocation {
  readonly instanceId: string;
  readonly documentName: string;
  readonly comment: string;
  /** SSM's invocation status: Pending, InProgress, Delayed, Success, Failed, TimedOut, Cancelled, Cancelling. */
  readonly status: string;
  readonly statusDetails?: string;
}

export interface BackupServiceConfig {
  /** The backup-volume document (its patterns are checked before anything is sent). */
  readonly document: CommandDocument;
  /** Its deployed name: a status answer is given only for commands of this document. */
  readonly documentName: string;
  readonly bucket: string;
  readonly prefix: string;
  /** The bucket's region (empty: the instance's default). */
  readonly region: string;
  readonly helperImage: string;
  /**
   * The volumes the stack protects, per source (the restore policy's `volumes`): on a host
   * that serves more than one source only these may be backed up, each for its own source.
   * @default none: on a shared host nothing may be backed up through the API
   */
  readonly protectedVolumes?: readonly ProtectedVolume[];
}

export interface BackupServiceDeps {
  readonly runner: BackupRunner;
  readonly instances: InstanceDirectory;
  readonly now?: () => Date;
  readonly newId?: () => string;
}

/** What `POST /sources/{source}/backups` answers (202): the command and exactly what was sent. */
export interface StartedBackup {
  readonly backupId: string;
  /** Who asked: the caller's IAM principal. */
  readonly requestedBy: string;
  readonly commandId: string;
  readonly source: string;
  readonly instanceId: string;
  readonly target: InstanceStatus;
  /** The volume or host directory backed up. */
  readonly volume: string | null;
  readonly hostPath: string | null;
  readonly containerName: string | null;
  /** What is done to the container while its data is read (none without a container). */
  readonly consistency: Consistency;
  /** Where the archive goes: `s3://<bucket>/<prefix>/<source>/<volume>/<UTC time>.tar.zst`. */
  readonly destination: string;
  /** Every parameter of the backup-volume document, as sent. */
  readonly parameters: Readonly<Record<string, string>>;
}

/** What `GET /sources/{source}/backups/{id}` answers. */
export interface BackupStatus {
  readonly commandId: string;
  readonly source: string;
  readonly backupId: string | null;
  readonly instanceId: string | null;
  /** SSM's invocation status (Pending until the host has the command). */
  readonly status: string;
  readonly statusDetails: string | null;
  /** The command has ended: `result` (or `problem`) says how. */
  readonly done: boolean;
  /** The host's result line (archive key, sha256, bytes, seconds, error) once done. */
  readonly result: BackupResult | null;
  /** Done without a valid result line: what is known. */
  readonly problem: string | null;
}

export const newBackupId = (now = new Date()): string => `b-${now.getTime().toString(36)}-${randomBytes(4).toString('hex')}`;

/** The command comment that ties a backup command to its source (SSM keeps comments up to 100 characters). */
export const backupComment = (backupId: string, source: string): string => `lifeboat backup ${backupId} ${source}`;
const COMMENT = /^lifeboat backup (b-[a-z0-9]+-[a-f0-9]{8}) ([A-Za-z0-9][A-Za-z0-9_.-]{0,62})$/;

/** A (source, volume) pair the stack protects (the restore policy's `volumes`, from the protect config). */
export interface ProtectedVolume {
  readonly source: string;
  readonly volume: string;
}

const tagText = (declared: readonly string[]): string => `${TARGET_SOURCES_TAG}=${JSON.stringify(declared.join(','))}`;

/** A 403 naming the request field refused and the rule, then what to do instead; nothing has been sent. */
function refused(field: string, problem: string, what: string, instead: string, details: Record<string, unknown>): ClientError {
  return new ClientError(403, `${what}; nothing was sent (${instead})`, { ...details, fields: [{ field, problem }] });
}

/**
 * Whether this backup may run on this host. A backup reads whatever the request names on
 * the host and lands it under the path's source, where that source's callers may restore
 * (and so read) it; consistency pause/stop also acts on the named container. So:
 * - the host's `lifeboat:sources` tag must name the source itself: `*` (a spare or DR host,
 *   which may hold any source's data) is not enough;
 * - on a host dedicated to the source (its tag names it alone) any volume, host directory
 *   (the document still refuses system directories) or container may be named;
 * - on a host that also serves others (the tag names more sources, or `*` too) only a volume
 *   the stack protects for this source, with no host directory and no container: nothing
 *   on the API's side can tell whose a host directory or a container is.
 */
export function assertMayBackUp(request: BackupRequest, target: InstanceStatus, protectedVolumes: readonly ProtectedVolume[]): void {
  const { instanceId, source } = request;
  const declared = target.sources;
  const base = { instanceId, source, tag: TARGET_SOURCES_TAG, declaredSources: declared ?? null };
  if (declared === undefined || !declared.includes(source)) {
    const problem =
      declared === undefined
        ? `has no ${TARGET_SOURCES_TAG} tag`
        : declared.includes(ANY_SOURCE)
          ? `has ${tagText(declared)}, which does not name it: ${ANY_SOURCE} marks a spare or DR host, which may hold any source's data, and is not accepted for backups`
          : `has ${tagText(declared)}, which does not list it`;
    throw refused(
      'instanceId',
      `must be a host whose ${TARGET_SOURCES_TAG} tag names ${source}`,
      `instance ${instanceId} may not back up source ${source}: it ${problem}`,
      `a backup goes only to a host whose tag names the source: ${TARGET_SOURCES_TAG}=${source}, comma-separated with the other sources it serves`,
      base,
    );
  }
  const others = [...new Set(declared.filter((s) => s !== source))];
  if (others.length === 0) return;
  const shared = `instance ${instanceId} is shared (${tagText(declared)})`;
  if (request.hostPath !== undefined) {
    throw refused(
      'hostPath',
      `not allowed on a host shared with other sources (${others.join(', ')}): a host directory there may hold their data`,
      `hostPath ${request.hostPath} may not be backed up for source ${source}: ${shared}, and on a shared host only volumes the stack protects for ${source} may be backed up`,
      `back up a host directory only from a host tagged ${TARGET_SOURCES_TAG}=${source} alone`,
      base,
    );
  }
  const mine = protectedVolumes.filter((p) => p.source === source).map((p) => p.volume);
  if (request.volume !== undefined && !mine.includes(request.volume)) {
    throw refused(
      'volume',
      `on a host shared with other sources (${others.join(', ')}) must be a volume the stack protects for ${source}: ${mine.length === 0 ? 'none is' : mine.join(', ')}`,
      `volume ${request.volume} may not be backed up for source ${source}: ${shared}, and the stack does not protect ${request.volume} for ${source}`,
      `protected for ${source}: ${mine.length === 0 ? 'none' : mine.join(', ')}; add a protect entry for it, or back up from a host tagged ${TARGET_SOURCES_TAG}=${source} alone`,
      base,
    );
  }
  // A volume name two sources protect is ambiguous on a host serving both: it may be the other's.
  const alsoTheirs = protectedVolumes
    .filter((p) => p.volume === request.volume && p.source !== source && (others.includes(ANY_SOURCE) || others.includes(p.source)))
    .map((p) => p.source);
  if (alsoTheirs.length > 0) {
    throw refused(
      'volume',
      `on a host shared with other sources must be protected for ${source} alone; ${request.volume ?? ''} is also protected for ${alsoTheirs.join(', ')}`,
      `volume ${request.volume ?? ''} may not be backed up for source ${source}: ${shared}, and the stack protects a volume of that name for ${alsoTheirs.join(', ')} too, so it may be theirs`,
      `back it up from a host tagged ${TARGET_SOURCES_TAG}=${source} alone`,
      base,
    );
  }
  if (request.containerName !== undefined) {
    throw refused(
      'containerName',
      `not allowed on a host shared with other sources (${others.join(', ')}): the container may be theirs`,
      `containerName ${request.containerName} may not be named for a backup of source ${source}: ${shared}, and Lifeboat cannot tell whose container it is ` +
        `(pausing or stopping it could stop another source's database)`,
      `leave containerName out for a live copy, or let the protect entry's scheduled backup, whose container the stack configuration names, take a consistent one`,
      base,
    );
  }
}

/** Runs backups now through the backup-volume document, and says what became of them. Knows nothing of Lambda. */
export class BackupService {
  constructor(
    private readonly deps: BackupServiceDeps,
    private readonly config: BackupServiceConfig,
  ) {}

  /** The document parameters of a backup (checked against the document's patterns). */
  parameters(request: BackupRequest, backupId: string): Record<string, string> {
    const container = request.containerName ?? '';
    return resolveParameters(this.config.document, {
      BackupId: backupId,
      VolumeName: request.volume ?? '',
      HostPath: request.hostPath ?? '',
      ContainerName: container,
      ...(request.mountPath === undefined ? {} : { MountPath: request.mountPath }),
      // Nothing to pause or stop without a container: say so rather than pretend.
      Consistency: container ? request.consistency : 'none',
      Bucket: this.config.bucket,
      KeyPrefix: this.config.prefix,
      Source: request.source,
      HelperImage: this.config.helperImage,
      Region: this.config.region,
    });
  }

  /**
   * Checks the host (online in SSM; may back up this for the source: {@link assertMayBackUp}),
   * then sends the backup document to it.
   */
  async start(request: BackupRequest, requestedBy: string): Promise<StartedBackup> {
    const backupId = this.deps.newId?.() ?? newBackupId(this.deps.now?.() ?? new Date());
    // Patterns first: nothing is asked of AWS for a request SSM would refuse.
    const parameters = this.parameters(request, backupId);
    const target = await this.deps.instances.status(request.instanceId);
    if (!target.online) {
      throw new ConflictError(`instance ${request.instanceId} is not online in SSM (${target.pingStatus}); nothing was sent`, {
        target: { instanceId: request.instanceId, ...target },
      });
    }
    assertMayBackUp(request, target, this.config.protectedVolumes ?? []);
    const commandId = await this.deps.runner.sendBackup({
      instanceId: request.instanceId,
      parameters,
      comment: backupComment(backupId, request.source),
    });
    const name = request.volume ?? request.hostPath?.split('/').pop() ?? '';
    return {
      backupId,
      requestedBy,
      commandId,
      source: request.source,
      instanceId: request.instanceId,
      target,
      volume: request.volume ?? null,
      hostPath: request.hostPath ?? null,
      containerName: request.containerName ?? null,
      consistency: (parameters.Consistency ?? 'none') as Consistency,
      destination: `s3://${this.config.bucket}/${this.config.prefix}/${request.source}/${name}/<UTC time>.tar.zst`,
      parameters,
    };
  }

  /**
   * What became of a backup command of this source. A command of another document or
   * another source is not found here (the path's source is what IAM authorized).
   */
  async status(source: string, commandId: string): Promise<BackupStatus> {
    const inv = await this.deps.runner.backupInvocation(commandId);
    if (inv === undefined) {
      // SSM lists an invocation moments after SendCommand; until then nothing is known, not even the source.
      return { commandId, source, backupId: null, instanceId: null, status: 'Pending', statusDetails: null, done: false, result: null, problem: null };
    }
    const comment = COMMENT.exec(inv.comment);
    if (inv.documentName !== this.config.documentName || comment?.[2] !== source) throw new NotFoundError(`no backup command ${commandId} of source ${source}`);
    const done = (TERMINAL_COMMAND_STATUSES as readonly string[]).includes(inv.status);
    // Output only once the command is known to be this source's, and over.
    const result = done ? (parseResultLine(BackupResult, await this.deps.runner.backupOutput(commandId, inv.instanceId)) ?? null) : null;
    const problem =
      done && result === null
        ? `the command ended ${inv.status}${inv.statusDetails ? ` (${inv.statusDetails})` : ''} without a backup result line; its output is in the command-output log group`
        : null;
    return {
      commandId,
      source,
      backupId: comment[1] ?? null,
      instanceId: inv.instanceId,
      status: inv.status,
      statusDetails: inv.statusDetails ?? null,
      done,
      result,
      problem,
    };
  }
}
