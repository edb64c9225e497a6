import type { ArchiveEntry, RestoreRecord, VolumeSummary } from '#core/catalog/model.ts';
import type { CancelOutcome } from '#core/restore/cancel.ts';
import type { DrillRequest, RestoreRequest } from '#core/restore/schemas.ts';
import type { RestorePlan, StartedRestore } from '#core/restore/service.ts';
import type { BackupStatus, StartedBackup } from '#core/backup/service.ts';
import type { BackupResult } from '#core/runbooks/results.ts';
import type { RecoveryPlan, RecoveryRecord, RecoveryRequest, StartedRecovery } from '#core/recovery/model.ts';

/** What a long operation reports while it runs (the CLI draws it; `--json` ignores it). */
export interface ProgressSink {
  /** The host entered a phase (preflight, download, extract, …). */
  phase(name: string): void;
  /** Where to read the bytes moved so far, and the total when known. */
  bytes(read: () => number, total?: number): void;
  /** A state change seen from outside (sent, running, …). */
  state(name: string): void;
}

export const silentProgress: ProgressSink = { phase: () => undefined, bytes: () => undefined, state: () => undefined };

export interface BackupOptions {
  readonly volume: string;
  readonly source: string;
  /** The database container; found from the volume when not given. */
  readonly container?: string;
  readonly consistency: 'pause' | 'stop' | 'none';
  /** A deployed Lifeboat: the instance holding the volume (local mode backs up this machine). */
  readonly instanceId?: string;
  /** A deployed Lifeboat: wait for the end (bounded by timeoutSeconds). @default true */
  readonly wait?: boolean;
  /** @default 3600 */
  readonly timeoutSeconds?: number;
  /** A deployed Lifeboat: told as soon as the command is sent (before any waiting). */
  readonly onSent?: (started: RemoteBackupOutcome['started']) => void;
}

/** A backup made here and cataloged (local mode). */
export interface BackupOutcome {
  readonly kind: 'local';
  readonly result: BackupResult;
  /** The catalog entry, made exactly as the catalog Lambda makes it. */
  readonly archive: ArchiveEntry;
  /** The container used for consistency and the manifest (given or found). */
  readonly container: string | null;
}

/** A backup run through a deployed Lifeboat's API: the command sent, and how it ended when waited for. */
export interface RemoteBackupOutcome {
  readonly kind: 'api';
  readonly started: StartedBackup & { readonly statusUrl: string };
  /** null with --no-wait. */
  readonly status: BackupStatus | null;
}

/** An archive as listed (the API leaves the manifest out). */
export type ArchiveListItem = Omit<ArchiveEntry, 'manifest'> & { readonly hasManifest: boolean };
/** A protected volume with its newest archive's age. */
export type VolumeView = VolumeSummary & { readonly newestAgeSeconds: number };

export const listItem = ({ manifest, ...entry }: ArchiveEntry): ArchiveListItem => ({ ...entry, hasManifest: manifest !== undefined });

/**
 * A restore as the CLI names it: its id, and its source (the API addresses every restore
 * under its source, which is what IAM scopes; local mode needs only the id).
 */
export interface RestoreRef {
  readonly restoreId: string;
  readonly source?: string;
}

/** A whole-host recovery as the CLI names it: its id and its source (the API keeps it under its source). */
export interface RecoveryRef {
  readonly recoveryId: string;
  readonly source: string;
}

/** What the CLI shows while a recovery runs: a line per member started and ended, and per wave ended. */
export type RecoveryProgress =
  | { readonly type: 'memberStarted'; readonly volume: string }
  | {
      readonly type: 'memberEnded';
      readonly volume: string;
      readonly outcome: 'succeeded' | 'failed' | 'skipped';
      /** false: refused before anything reached the host. */
      readonly started: boolean;
      /** As the host reported it; else the CLI's own clock. */
      readonly seconds?: number;
      readonly error?: string | null;
    }
  | { readonly type: 'waveEnded'; readonly wave: number; readonly stop?: boolean; readonly reason?: string };

/** One Lifeboat: the local mode on this machine, or a deployed stack's API. */
export interface Backend {
  /** For humans: where this Lifeboat is. */
  readonly description: string;
  /** The instance id restores go to when the operator gives none (local mode only). */
  readonly defaultInstanceId?: string;
  /** The protected volumes: of one source, or of every source. */
  volumes(source?: string): Promise<VolumeView[]>;
  archives(source: string, volume: string, options: { before?: string; limit: number }): Promise<ArchiveListItem[]>;
  plan(request: RestoreRequest): Promise<RestorePlan>;
  start(request: RestoreRequest, progress: ProgressSink): Promise<StartedRestore>;
  /** Starts a restore drill (throwaway names, verified, removed). */
  drill(request: DrillRequest, progress: ProgressSink): Promise<StartedRestore>;
  /** Waits until the restore is over (bounded by timeoutSeconds) and returns its record. */
  wait(ref: RestoreRef, progress: ProgressSink, timeoutSeconds: number): Promise<RestoreRecord>;
  status(ref: RestoreRef): Promise<RestoreRecord>;
  /** Asks for a restore or drill to stop; the host's trap puts things back, then it is `cancelled`. */
  cancel(ref: RestoreRef): Promise<CancelOutcome>;
  /** Local mode: runs the backup runbook here and catalogs the archive. A deployed Lifeboat: runs it on the host through SSM. */
  backup(options: BackupOptions, progress: ProgressSink): Promise<BackupOutcome | RemoteBackupOutcome>;
  /** What became of a backup sent through a deployed Lifeboat (its SSM command id). */
  backupStatus(source: string, commandId: string): Promise<BackupStatus>;
  /** The dry run of a whole-host recovery: members, waves, archives and ages, predictions, problems. */
  recoveryPlan(request: RecoveryRequest): Promise<RecoveryPlan>;
  /** Records the recovery and starts its state machine. */
  recover(request: RecoveryRequest): Promise<StartedRecovery>;
  /** Waits until the recovery is over (bounded by timeoutSeconds), telling members' starts and ends, and returns its record. */
  waitRecovery(ref: RecoveryRef, progress: (event: RecoveryProgress) => void, timeoutSeconds: number): Promise<RecoveryRecord>;
  recoveryStatus(ref: RecoveryRef): Promise<RecoveryRecord>;
  /** Stops what the backend started; a local restore or backup in flight is cancelled (its trap cleans up). */
  close(): Promise<void>;
}
