import * as z from 'zod';
import { ArchiveManifest } from '../manifest.ts';
import type { MemberProgress, MemberState, RecoveryRecord, RecoveryState } from '../recovery/model.ts';

/** What a restore drill proved (or failed to) about an archive. */
export const DrillProof = z.object({
  restoreId: z.string(),
  archiveKey: z.string(),
  at: z.iso.datetime(),
  outcome: z.enum(['succeeded', 'failed', 'cancelled']),
  totalSeconds: z.number().nonnegative().optional(),
  phases: z.record(z.string(), z.number()).optional(),
  bytes: z.number().int().nonnegative().optional(),
  verifyOutput: z.string().nullable().optional(),
  error: z.string().nullable().optional(),
});
export type DrillProof = z.infer<typeof DrillProof>;

/** One archive in the catalog. */
export const ArchiveEntry = z.object({
  key: z.string(),
  source: z.string(),
  volume: z.string(),
  takenAt: z.iso.datetime(),
  compression: z.enum(['gzip', 'zstd', 'none']),
  size: z.number().int().nonnegative(),
  etag: z.string().optional(),
  versionId: z.string().optional(),
  /** From the manifest when there is one; archives made by hand have none. */
  sha256: z
    .string()
    .regex(/^[a-f0-9]{64}$/)
    .optional(),
  manifest: ArchiveManifest.optional(),
  catalogedAt: z.iso.datetime(),
  deletedAt: z.iso.datetime().optional(),
  /** The newest drill of this archive. */
  lastDrill: DrillProof.optional(),
});
export type ArchiveEntry = z.infer<typeof ArchiveEntry>;

/** A protected volume and its newest archive. */
export const VolumeSummary = z.object({
  source: z.string(),
  volume: z.string(),
  newestKey: z.string(),
  newestTakenAt: z.iso.datetime(),
  /** The newest drill of any of the volume's archives. */
  lastDrill: DrillProof.optional(),
  /** "Last proven restorable at": the newest successful drill. */
  lastProvenAt: z.iso.datetime().optional(),
  lastProvenKey: z.string().optional(),
});
export type VolumeSummary = z.infer<typeof VolumeSummary>;

export const RESTORE_STATES = ['planned', 'sent', 'running', 'succeeded', 'failed', 'cancelled'] as const;
export type RestoreState = (typeof RESTORE_STATES)[number];
export const TERMINAL_STATES: readonly RestoreState[] = ['succeeded', 'failed', 'cancelled'];

/** A restore request and what became of it. */
export const RestoreRecord = z.object({
  id: z.string(),
  requestedBy: z.string(),
  mode: z.enum(['restore', 'drill']),
  state: z.enum(RESTORE_STATES),
  archiveKey: z.string(),
  source: z.string(),
  volume: z.string(),
  instanceId: z.string(),
  containerName: z.string(),
  ifVolumeExists: z.enum(['fail', 'preserve']),
  commandId: z.string().optional(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
  /** Seconds per phase, bytes and the rest, as the host reported them. */
  phases: z.record(z.string(), z.number()).optional(),
  bytes: z.number().int().nonnegative().optional(),
  totalSeconds: z.number().nonnegative().optional(),
  preservedVolume: z.string().nullable().optional(),
  failedPhase: z.string().nullable().optional(),
  error: z.string().nullable().optional(),
  commandStatus: z.string().optional(),
  /** First line of the verification query's output. */
  verifyOutput: z.string().nullable().optional(),
  /** Where to tell the requester the outcome (a restore started from Slack): the interaction's response_url. */
  notifySlack: z.object({ responseUrl: z.url(), channelId: z.string(), userId: z.string() }).optional(),
  /** Set for drills: the protected volume whose archive is proven (the record's volume is the throwaway one). */
  drill: z.object({ volume: z.string(), expectMinimum: z.number().int().nonnegative().optional() }).optional(),
  /** Someone asked to cancel: who and when (the record turns `cancelled` once the host has put things back). */
  cancelRequestedBy: z.string().optional(),
  cancelRequestedAt: z.iso.datetime().optional(),
  /** The command's own timeout on the host, as sent: after it (plus a margin) the sweeper may call a silent command lost. */
  commandTimeoutSeconds: z.number().int().positive().optional(),
  /**
   * Set for a member of a whole-host recovery: the recovery, the protected volume, and the
   * Step Functions task token the completion answers (a capability: never shown outside Lifeboat).
   */
  recovery: z.object({ id: z.string(), volume: z.string(), taskToken: z.string() }).optional(),
  /** What the plan predicted for the whole restore on the host (null: no history), to set beside the measured totalSeconds. */
  predictedSeconds: z.number().nonnegative().nullable().optional(),
});
export type RestoreRecord = z.infer<typeof RestoreRecord>;

/**
 * How long one finished restore or drill of a protected volume took, kept to predict the next
 * (the newest {@link RESTORE_RATE_SAMPLES} per volume).
 */
export const RestoreRateSample = z.object({
  at: z.iso.datetime(),
  mode: z.enum(['restore', 'drill']),
  /** Archive bytes received by the host. */
  bytes: z.number().int().nonnegative(),
  totalSeconds: z.number().nonnegative(),
  /** Seconds per phase, as the host reported them. */
  phases: z.record(z.string(), z.number().nonnegative()),
});
export type RestoreRateSample = z.infer<typeof RestoreRateSample>;
export const RESTORE_RATE_SAMPLES = 10;

/** What the newest whole-host recovery drill of a source proved ("db1 provably recoverable in N minutes"), or failed to. */
export const RecoveryDrillProof = z.object({
  recoveryId: z.string(),
  at: z.iso.datetime(),
  outcome: z.enum(['succeeded', 'partial', 'failed', 'stopped']),
  totalSeconds: z.number().nonnegative(),
});
export type RecoveryDrillProof = z.infer<typeof RecoveryDrillProof>;

/** A recovery with this id is already recorded. */
export class RecoveryExistsError extends Error {
  override readonly name = 'RecoveryExistsError';
  constructor(readonly recoveryId: string) {
    super(`recovery ${recoveryId} is already recorded`);
  }
}

/** An entry of the index of unfinished restores (written with the record, removed when it reaches a final state). */
export const ActiveRestore = z.object({ id: z.string(), createdAt: z.iso.datetime() });
export type ActiveRestore = z.infer<typeof ActiveRestore>;

/**
 * An archive's key was written again with another S3 version. Archive keys carry their
 * time and are never rewritten by backups: a second version is someone replacing a
 * known archive (a host that may write its prefix), also after deleting it. The first
 * cataloged version stays (deleted, if it was).
 */
export class ArchiveVersionConflictError extends Error {
  override readonly name = 'ArchiveVersionConflictError';
  constructor(
    readonly key: string,
    readonly cataloged: string,
    readonly offered: string,
    /** Set when the cataloged version was deleted before the key was written again. */
    readonly deletedAt?: string,
  ) {
    super(
      deletedAt === undefined
        ? `archive ${key} was overwritten (version ${offered}); the cataloged version ${cataloged} stays the one restored`
        : `archive ${key} was written again (version ${offered}) after its cataloged version ${cataloged} was deleted (${deletedAt}): a suspected substitution, not cataloged`,
    );
  }
}

/** Another restore holds the (instance, volume) lock. */
export class LockHeldError extends Error {
  override readonly name = 'LockHeldError';
  constructor(
    readonly instanceId: string,
    readonly volume: string,
    readonly holder: string,
    readonly expiresAt: string,
  ) {
    super(`restore ${holder} is already running for volume ${volume} on ${instanceId} (lock expires ${expiresAt})`);
  }
}

/** The catalog and restore state, wherever they are stored. */
export interface Catalog {
  putArchive(entry: ArchiveEntry): Promise<void>;
  /** Moves an archive out of the live entries and keeps it marked deleted. Returns false if it was not cataloged. */
  markArchiveDeleted(key: string, deletedAt: string): Promise<boolean>;
  getArchive(key: string): Promise<ArchiveEntry | undefined>;
  /** Newest archive taken at or before `atOrBefore` (or the newest of all). One Query, whatever the catalog size. */
  latestArchive(source: string, volume: string, atOrBefore?: string): Promise<ArchiveEntry | undefined>;
  /** Archives newest first, one Query page. */
  listArchives(source: string, volume: string, options?: { atOrBefore?: string; limit?: number }): Promise<ArchiveEntry[]>;
  listVolumes(): Promise<VolumeSummary[]>;

  createRestore(record: RestoreRecord): Promise<void>;
  getRestore(id: string): Promise<RestoreRecord | undefined>;
  /**
   * Applies a change only while the restore is in one of `from` (so a late or
   * duplicate event never moves a finished restore). Returns the new record, or
   * undefined when the state did not allow it.
   */
  updateRestore(id: string, from: readonly RestoreState[], change: Partial<Omit<RestoreRecord, 'id'>>): Promise<RestoreRecord | undefined>;
  /**
   * Restores and drills not yet in a final state (planned, sent, running): a Query
   * on the index of active restores, whatever the number of finished ones.
   */
  listActiveRestores(): Promise<ActiveRestore[]>;
  /** Drops a restore from that index (for an entry whose record is final or missing). */
  forgetActiveRestore(id: string): Promise<void>;
  /** Links an SSM command to its restore (the completion event names only the command). */
  linkCommand(commandId: string, restoreId: string): Promise<void>;
  restoreIdForCommand(commandId: string): Promise<string | undefined>;

  /** Takes the (instance, volume) lock for a restore, or throws {@link LockHeldError}. An expired lock is taken over. */
  acquireLock(instanceId: string, volume: string, restoreId: string, ttlSeconds: number, now?: Date): Promise<void>;
  /** Releases the lock if this restore holds it. */
  releaseLock(instanceId: string, volume: string, restoreId: string): Promise<void>;
  /** Records a drill's outcome on the archive and on its volume (never replacing a newer drill's). */
  recordDrill(source: string, volume: string, proof: DrillProof): Promise<void>;

  /** Records a new recovery, or throws {@link RecoveryExistsError}. */
  createRecovery(record: RecoveryRecord): Promise<void>;
  getRecovery(id: string): Promise<RecoveryRecord | undefined>;
  /**
   * Applies a change only while the recovery is in one of `from`; returns the new record, or
   * undefined when the state did not allow it (or it is unknown). Members change only through
   * {@link updateRecoveryMember}.
   */
  updateRecovery(id: string, from: readonly RecoveryState[], change: Partial<Omit<RecoveryRecord, 'id' | 'members'>>): Promise<RecoveryRecord | undefined>;
  /**
   * Sets the given fields of one member's progress (atomically, so parallel members never
   * overwrite each other), only while that member is in one of `options.from` (or already
   * carries `options.orRestoreId`). Returns the new record, or undefined when refused (unknown
   * recovery or member, or another state).
   */
  updateRecoveryMember(
    id: string,
    volume: string,
    progress: Partial<MemberProgress>,
    options?: { readonly from?: readonly MemberState[]; readonly orRestoreId?: string },
  ): Promise<RecoveryRecord | undefined>;
  /** Keeps a finished restore's or drill's timings for the protected volume (the newest {@link RESTORE_RATE_SAMPLES}). */
  recordRestoreRate(source: string, volume: string, sample: RestoreRateSample): Promise<void>;
  /** The kept timings of a protected volume, newest first. */
  restoreRates(source: string, volume: string): Promise<RestoreRateSample[]>;
  /** Records a whole-host recovery drill's outcome for its source (never replacing a newer one). */
  recordRecoveryDrill(source: string, proof: RecoveryDrillProof): Promise<void>;
  lastRecoveryDrill(source: string): Promise<RecoveryDrillProof | undefined>;
}
