import { randomBytes } from 'node:crypto';
import type { CommandDocument } from '../runbooks/document.ts';
import { resolveParameters } from '../runbooks/parameters.ts';
import { BackupResult, parseResultLine } from '../runbooks/results.ts';
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

/** SSM invocation states after which nothing changes. */
export const TERMINAL_INVOCATION_STATES: readonly string[] = ['Success', 'Failed', 'TimedOut', 'Cancelled', 'Undeliverable', 'Terminated'];

export const newBackupId = (now = new Date()): string => `b-${now.getTime().toString(36)}-${randomBytes(4).toString('hex')}`;

/** The command comment that ties a backup command to its source (SSM keeps comments up to 100 characters). */
export const backupComment = (backupId: string, source: string): string => `lifeboat backup ${backupId} ${source}`;
const COMMENT = /^lifeboat backup (b-[a-z0-9]+-[a-f0-9]{8}) ([A-Za-z0-9][A-Za-z0-9_.-]{0,62})$/;

/**
 * A host backs up a source only when it declares it (its `lifeboat:sources` tag, as for
 * restores): otherwise a caller allowed one source could copy another host's data under
 * its own source's prefix, then restore it where it likes.
 */
function assertHostServes(instanceId: string, target: InstanceStatus, source: string): void {
  const declared = target.sources;
  if (declared?.includes(ANY_SOURCE) || declared?.includes(source)) return;
  const what =
    declared === undefined ? `has no ${TARGET_SOURCES_TAG} tag` : `has ${TARGET_SOURCES_TAG}=${JSON.stringify(declared.join(','))}, which does not list it`;
  throw new ClientError(
    403,
    `instance ${instanceId} may not back up source ${source}: it ${what}; nothing was sent ` +
      `(tag the host ${TARGET_SOURCES_TAG}=${source}, comma-separated for several)`,
    { instanceId, source, tag: TARGET_SOURCES_TAG, declaredSources: declared ?? null },
  );
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

  /** Checks the host (online in SSM, declares the source), then sends the backup document to it. */
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
    assertHostServes(request.instanceId, target, request.source);
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
    const done = TERMINAL_INVOCATION_STATES.includes(inv.status);
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
