import { randomBytes } from 'node:crypto';
import type { ArchiveStore } from '../archive-store.ts';
import type { ArchiveEntry, Catalog, RestoreRecord } from '../catalog/model.ts';
import { LockHeldError } from '../catalog/model.ts';
import { ENGINE_PROFILES, type Engine } from '../engines/index.ts';
import { UnsafeSpecError, recordedVolumeDriver, recreatePlan, type ArchiveManifest, type RecreateParameters, type RecreatePlan } from '../manifest.ts';
import { RestorePolicy, driverOptsParameter, imageAllowed, redactDriverOpts, settingsFor } from '../policy.ts';
import type { CommandDocument } from '../runbooks/document.ts';
import { predictRestore, type Prediction } from '../predict.ts';
import { ParameterError, resolveParameters } from '../runbooks/parameters.ts';
import { ClientError, ConflictError, NotFoundError } from './errors.ts';
import type { CommandRunner, InstanceDirectory, InstanceStatus } from './ports.ts';
import { drillName } from './request.ts';
import type { DrillRequest, RestoreRequest } from './schemas.ts';
import { assertMayReplaceOnShared, assertTargetReceives, mayBeAnothersVolume } from './targets.ts';
import { planVerification, type VerificationPlan } from './verification.ts';

export interface RestoreServiceConfig {
  /** The restore-volume document (its patterns are checked before anything is sent). */
  readonly document: CommandDocument;
  readonly helperImage: string;
  /** What the operator allows (image allowlist, per-volume driver settings). @default allows no image, plain local volumes */
  readonly policy?: RestorePolicy;
  /** Lifetime of the archive's presigned URL. @default 900 */
  readonly presignSeconds?: number;
  /** Lock lifetime: a restore that never reports frees its volume after this. @default 7200 + 900 */
  readonly lockSeconds?: number;
  /** The command's own timeout on the host. @default 7200 */
  readonly commandTimeoutSeconds?: number;
  /**
   * Whether a restore on a host shared with other sources may replace a volume or restart a
   * container only when the stack protects that volume for its source alone
   * ({@link assertMayReplaceOnShared}). Off only where no caller is kept from another source's
   * data anyway: local mode, whose user has this machine's Docker engine. @default true
   */
  readonly guardSharedHosts?: boolean;
}

export interface RestoreServiceDeps {
  readonly catalog: Catalog;
  readonly store: ArchiveStore;
  readonly runner: CommandRunner;
  readonly instances: InstanceDirectory;
  readonly now?: () => Date;
  readonly newId?: () => string;
}

/** What a restore would do: the answer to a dry run, and part of every 202. */
export interface RestorePlan {
  readonly archive: {
    readonly key: string;
    readonly takenAt: string;
    readonly ageSeconds: number;
    readonly size: number;
    readonly sha256: string | null;
    readonly compression: string;
    readonly hasManifest: boolean;
    /** The S3 version the host downloads (when the bucket is versioned). */
    readonly versionId?: string;
  };
  readonly target: { readonly instanceId: string } & InstanceStatus;
  readonly volume: string;
  /** The database container; '' for a data-only restore. */
  readonly containerName: string;
  /** Volume only: no container is stopped, started, created or verified. */
  readonly dataOnly: boolean;
  /** Where the container mounts the data ('' : the host uses the detected engine's default). */
  readonly mountPath: { readonly path: string; readonly from: 'request' | 'manifest' | 'engine default' | 'host' };
  /** How the database is proven to answer: the engine and why, what runs, the check and its minimum. */
  readonly verification: VerificationPlan;
  /**
   * What the manifest recorded that a recreated container will not get (labels outside
   * Compose's, networks Lifeboat does not create), and mounts besides the data: never
   * created; the host refuses to recreate the container while there are any.
   */
  readonly recreation: { readonly dropped: RecreatePlan['dropped']; readonly otherMounts: readonly string[] };
  readonly existingVolume: string;
  readonly missingContainer: string;
  /** How a volume this restore creates is made: what the manifest recorded beside what will be used. */
  readonly volumeCreation: {
    readonly manifestRecorded: { readonly driver: string; readonly driverOpts: Readonly<Record<string, string>> } | null;
    readonly used: { readonly driver: string; readonly driverOpts: Readonly<Record<string, string>>; readonly from: 'request' | 'protect config' | 'default' };
  };
  /** How the archive's bytes are proven before the data goes live. */
  readonly integrity: string;
  /** The uncompressed size the host checks free space for and bounds extraction by. */
  readonly expectedSize: { readonly bytes: number; readonly from: 'request' | 'manifest' | 'estimate' | 'archive size' };
  /**
   * How long the restore should take on the host, per phase, from the archive's size and the
   * rates earlier restores and drills of the same protected volume achieved (functions/core/predict.ts,
   * as whole-host recoveries predict their members); `seconds` null and `basis` saying why when
   * there is no history.
   */
  readonly predicted: Prediction;
  /** Document parameters except the presigned URL and the restore id. */
  readonly parameters: Readonly<Record<string, string>>;
}

export interface StartedRestore {
  readonly restoreId: string;
  readonly state: RestoreRecord['state'];
  readonly commandId: string;
  readonly plan: RestorePlan;
}

/** A request identity: an IAM principal ARN, or `slack:<team>/<user>`. */
export type Requester = string;

/** Assumed expansion of a compressed archive whose uncompressed size is unknown (database files compress about 5-25x). */
export const UNKNOWN_EXPANSION = 32;

export const newRestoreId = (now = new Date()): string => `r-${now.getTime().toString(36)}-${randomBytes(4).toString('hex')}`;

/** Plans and starts restores. Knows nothing of Lambda: the API and the CLI's local mode both use it. */
export class RestoreService {
  private readonly presignSeconds: number;
  private readonly lockSeconds: number;
  private readonly commandTimeoutSeconds: number;
  private readonly policy: RestorePolicy;
  private readonly guardSharedHosts: boolean;

  constructor(
    private readonly deps: RestoreServiceDeps,
    private readonly config: RestoreServiceConfig,
  ) {
    this.presignSeconds = config.presignSeconds ?? 900;
    this.commandTimeoutSeconds = config.commandTimeoutSeconds ?? 7200;
    this.lockSeconds = config.lockSeconds ?? this.commandTimeoutSeconds + this.presignSeconds;
    this.policy = config.policy ?? RestorePolicy.parse({});
    this.guardSharedHosts = config.guardSharedHosts ?? true;
  }

  private now(): Date {
    return this.deps.now?.() ?? new Date();
  }

  async resolveArchive(request: Pick<RestoreRequest, 'source' | 'volume' | 'archive'>): Promise<ArchiveEntry> {
    const { source, volume, archive } = request;
    if (typeof archive === 'object' && 'key' in archive) {
      const entry = await this.deps.catalog.getArchive(archive.key);
      if (!entry || entry.deletedAt) throw new NotFoundError(`archive ${archive.key} is not in the catalog${entry?.deletedAt ? ' (deleted)' : ''}`);
      if (entry.source !== source || entry.volume !== volume) {
        throw new ClientError(400, `archive ${archive.key} belongs to ${entry.source}/${entry.volume}, not ${source}/${volume}`);
      }
      return entry;
    }
    const before = typeof archive === 'object' ? archive.before : undefined;
    const entry = await this.deps.catalog.latestArchive(source, volume, before);
    if (!entry) throw new NotFoundError(`no archive of volume ${volume} from ${source}${before ? ` taken at or before ${before}` : ''}`);
    return entry;
  }

  /** The full plan; sends nothing. */
  private recreate(entry: ArchiveEntry): RecreatePlan | undefined {
    try {
      return entry.manifest ? recreatePlan(entry.manifest) : undefined;
    } catch (e) {
      if (e instanceof UnsafeSpecError) throw new ClientError(422, `archive ${entry.key} cannot be restored as described: ${e.message}`);
      throw e;
    }
  }

  /**
   * The predicted time of restoring this archive of source/volume (the protected volume, also
   * for a drill). Best effort: history that cannot be read leaves the plan without a prediction,
   * saying so, and never stops a restore. The samples name no instance, so there is no fallback
   * to the target host's other volumes.
   */
  private async predict(source: string, volume: string, entry: ArchiveEntry): Promise<Prediction> {
    try {
      return predictRestore({ source, volume }, entry.size, await this.deps.catalog.restoreRates(source, volume));
    } catch {
      // The catalog's error stays inside: a plan is shown to whoever asked.
      return { seconds: null, basis: `the restore history of ${source}/${volume} could not be read just now` };
    }
  }

  /** The parameters must pass the document's patterns (a manifest is data from S3). */
  private checkParameters(entry: ArchiveEntry, parameters: Record<string, string>, restoreId: string): void {
    try {
      resolveParameters(this.config.document, { ...parameters, RestoreId: restoreId, ArchiveUrl: 'https://placeholder.invalid/x' });
    } catch (e) {
      if (e instanceof ParameterError) throw new ClientError(422, `archive ${entry.key} cannot be restored: its ${e.message}`);
      throw e;
    }
  }

  private archiveView(entry: ArchiveEntry): RestorePlan['archive'] {
    return {
      key: entry.key,
      takenAt: entry.takenAt,
      ageSeconds: Math.max(0, Math.round((this.now().getTime() - Date.parse(entry.takenAt)) / 1000)),
      size: entry.size,
      sha256: entry.sha256 ?? null,
      compression: entry.compression,
      hasManifest: entry.manifest !== undefined,
      ...(entry.versionId ? { versionId: entry.versionId } : {}),
    };
  }

  /**
   * Driver and options for a volume the restore creates: the request's, else the protect
   * config's, else a plain local volume. The manifest's are shown, never used: they decide
   * what the host mounts (a disk, someone else's NFS server), and anyone who can write to
   * the bucket writes the manifest.
   */
  private volumeCreation(request: RestoreRequest, entry: ArchiveEntry): { parameters: Record<string, string>; view: RestorePlan['volumeCreation'] } {
    const settings = settingsFor(this.policy, request.source, request.volume);
    const chosen =
      request.volumeDriver !== undefined || request.volumeDriverOpts !== undefined
        ? { driver: request.volumeDriver, driverOpts: request.volumeDriverOpts, from: 'request' as const }
        : settings?.volumeDriver !== undefined || settings?.volumeDriverOpts !== undefined
          ? { driver: settings.volumeDriver, driverOpts: settings.volumeDriverOpts, from: 'protect config' as const }
          : { driver: undefined, driverOpts: undefined, from: 'default' as const };
    const driver = chosen.driver ?? 'local';
    if (chosen.from === 'request' && driver !== 'local') {
      // A plugin's options mean whatever the plugin says (a host directory, another disk): the host
      // cannot check them, so only the operator's protect config may name one.
      throw new ClientError(
        400,
        `volumeDriver: a request may only use the local driver; ${driver} can be set for ${request.source}/${request.volume} in the protect config`,
      );
    }
    return {
      parameters: { VolumeDriver: driver === 'local' ? '' : driver, VolumeDriverOpts: driverOptsParameter(chosen.driverOpts) },
      view: {
        manifestRecorded: recordedVolumeDriver(entry.manifest),
        used: { driver, driverOpts: redactDriverOpts(chosen.driverOpts ?? {}), from: chosen.from },
      },
    };
  }

  /** An archive without a sha256 is restored only when the request says so. */
  private integrity(entry: ArchiveEntry, allowUnverified: boolean): string {
    if (entry.sha256) return `sha256 ${entry.sha256} and ${entry.size.toString()} bytes, checked on the host before the data goes live`;
    if (!allowUnverified) {
      throw new ClientError(
        422,
        `archive ${entry.key} has no sha256 (no manifest: made by hand or by another tool), so nothing can prove its bytes; set allowUnverified to restore it anyway`,
      );
    }
    return `UNVERIFIED: the archive has no sha256; only its size (${entry.size.toString()} bytes) is checked (allowUnverified)`;
  }

  /**
   * The uncompressed size the host must have room for and stops extraction at (plus a
   * margin): the request's, else the manifest's (tar stream plus a block per file), else
   * an estimate from the archive size.
   */
  private expectedSize(entry: ArchiveEntry, override: number | undefined): RestorePlan['expectedSize'] {
    if (override !== undefined) return { bytes: override, from: 'request' };
    const m = entry.manifest;
    if (m && m.uncompressedBytes > 0) return { bytes: m.uncompressedBytes + m.fileCount * 4096, from: 'manifest' };
    if (entry.compression === 'none') return { bytes: entry.size, from: 'archive size' };
    return { bytes: entry.size * UNKNOWN_EXPANSION, from: 'estimate' };
  }

  /**
   * Where the container mounts the data: the request's, else the manifest's when it recorded
   * the container that mounted it (a backup of a volume no container used records only the
   * backup document's default), else the engine's default; '' when the engine is left to
   * the host (it uses the detected one's).
   */
  private mountPath(requested: string | undefined, manifest: ArchiveManifest | undefined, engine: Engine | 'auto'): RestorePlan['mountPath'] {
    if (requested !== undefined) return { path: requested, from: 'request' };
    if (manifest?.container && manifest.mountPath) return { path: manifest.mountPath, from: 'manifest' };
    const known = engine === 'auto' ? null : ENGINE_PROFILES[engine].defaultMountPath;
    return known ? { path: known, from: 'engine default' } : { path: '', from: 'host' };
  }

  /** `--shm-size` of a recreated container: the manifest's, else the engine's default (databases need more than Docker's 64m). */
  private shmSize(recreate: RecreateParameters | undefined, engine: Engine | 'auto'): string {
    return recreate?.ShmSize || (engine === 'auto' ? '' : (ENGINE_PROFILES[engine].defaultShmSize ?? ''));
  }

  private sizeParameters(entry: ArchiveEntry, size: RestorePlan['expectedSize']): Record<string, string> {
    return { ExpectedArchiveBytes: entry.size.toString(), ExpectedUncompressedBytes: size.bytes.toString() };
  }

  /** An image a container may be created from: the allowlist decides, whoever named it. */
  private allowedImage(image: string | undefined): { image: string; refused?: string } {
    if (!image) return { image: '' };
    if (imageAllowed(this.policy, image)) return { image };
    return { image: '', refused: `image ${image} is not in the allowed images (allowedImages in the Lifeboat configuration)` };
  }

  async plan(request: RestoreRequest, restoreId = 'dry-run'): Promise<RestorePlan> {
    const entry = await this.resolveArchive(request);
    const status = await this.deps.instances.status(request.instanceId);
    // A dry run says at once that an online target would refuse this source (an offline one is
    // refused as offline when sent).
    let newVolumeOnly = false;
    if (status.online) {
      const target = { instanceId: request.instanceId, ...status };
      assertTargetReceives(target, request.source);
      // On a host shared with other sources, replacing a volume or restarting a container may hit theirs,
      // and a volume of that name already there (even empty) may be theirs: the host must find none.
      if (this.guardSharedHosts) {
        assertMayReplaceOnShared(target, request, this.policy.volumes);
        newVolumeOnly = mayBeAnothersVolume(target, request.source, request.volume, this.policy.volumes);
      }
    }
    const container = request.containerName;
    const dataOnly = container === undefined;
    // A data-only restore creates no container, so the manifest's container spec is neither used nor judged.
    // A data-only restore creates no container: only the volume's labels (a Compose project's) are put back.
    const recreation = entry.manifest ? this.recreate(entry) : undefined;
    const recreate = dataOnly ? undefined : recreation?.parameters;
    const integrity = this.integrity(entry, request.allowUnverified);
    const expectedSize = this.expectedSize(entry, request.uncompressedBytes);
    const settings = settingsFor(this.policy, request.source, request.volume);
    const verification = planVerification({
      request,
      configured: settings?.verify,
      manifest: entry.manifest,
      dataOnly,
      where: `${request.source}/${request.volume}`,
    });
    const engine = verification.view.engine;
    const mountPath = this.mountPath(request.mountPath, entry.manifest, engine);
    const creation = this.volumeCreation(request, entry);
    const image = dataOnly ? { image: '' } : this.allowedImage(recreate?.ContainerImage || settings?.containerImage);
    const parameters: Record<string, string> = {
      ...(recreate ?? {}),
      ...(dataOnly && recreation ? { VolumeLabels: recreation.parameters.VolumeLabels } : {}),
      ContainerImage: image.image,
      ShmSize: dataOnly ? '' : this.shmSize(recreate, engine),
      ...creation.parameters,
      ...this.sizeParameters(entry, expectedSize),
      ExpectedSha256: entry.sha256 ?? '',
      VolumeName: request.volume,
      ContainerName: container ?? '',
      MountPath: mountPath.path,
      IfVolumeExists: newVolumeOnly ? 'absent' : request.ifVolumeExists,
      HelperImage: this.config.helperImage,
      ContainerEnvFile: request.containerEnvFile ?? '',
      ...verification.parameters,
    };
    this.checkParameters(entry, parameters, restoreId);
    const predicted = await this.predict(request.source, request.volume, entry);
    const preserved = `${request.volume}.pre-restore.${restoreId}`;
    return {
      archive: this.archiveView(entry),
      target: { instanceId: request.instanceId, ...status },
      volume: request.volume,
      containerName: container ?? '',
      dataOnly,
      mountPath,
      verification: verification.view,
      recreation: { dropped: dataOnly ? [] : (recreation?.dropped ?? []), otherMounts: dataOnly ? [] : (recreation?.otherMounts ?? []) },
      existingVolume: newVolumeOnly
        ? `if volume ${request.volume} exists on ${request.instanceId} at all (even empty), the restore is refused and nothing changes: ` +
          `the host serves other sources too and the stack does not protect ${request.volume} for ${request.source} alone, so it may be theirs`
        : request.ifVolumeExists === 'fail'
          ? `if volume ${request.volume} already holds data on ${request.instanceId}, the restore is refused and nothing changes`
          : `if volume ${request.volume} already holds data, it is kept byte for byte as ${preserved} and the restored data replaces it`,
      missingContainer: dataOnly
        ? `DATA ONLY: no container is stopped, started, created or verified; volume ${request.volume} is filled and left for you to start a database on (name containerName to restart and verify one)`
        : image.image
          ? `if container ${container} does not exist, it is created from ${image.image} as the archive's manifest describes`
          : `container ${container} must exist on the host (${image.refused ?? 'the archive has no container spec'})`,
      volumeCreation: creation.view,
      integrity,
      expectedSize,
      predicted,
      parameters,
    };
  }

  /** Plans, locks, presigns, sends the restore document and records it. */
  async start(request: RestoreRequest, requestedBy: Requester, extra: Pick<RestoreRecord, 'notifySlack' | 'recovery'> = {}): Promise<StartedRestore> {
    const now = this.now();
    const restoreId = this.deps.newId?.() ?? newRestoreId(now);
    const plan = await this.plan(request, restoreId);
    return this.send(plan, {
      id: restoreId,
      requestedBy,
      mode: 'restore',
      source: request.source,
      ifVolumeExists: request.ifVolumeExists,
      createdAt: now.toISOString(),
      ...extra,
    });
  }

  /**
   * The plan of a drill: the archive restored into a throwaway volume and container
   * (`lifeboat-drill-<id>`), the container with no network, no ports and no restart
   * policy, verified, then removed. Never names the protected volume or container.
   */
  async planDrill(request: DrillRequest, restoreId: string): Promise<RestorePlan> {
    const entry = await this.resolveArchive(request);
    const status = await this.deps.instances.status(request.instanceId);
    const recreate = this.recreate(entry)?.parameters;
    const integrity = this.integrity(entry, request.allowUnverified);
    const expectedSize = this.expectedSize(entry, request.uncompressedBytes);
    const settings = settingsFor(this.policy, request.source, request.volume);
    const named = recreate?.ContainerImage || settings?.containerImage;
    if (!named) {
      throw new ClientError(
        422,
        `archive ${entry.key} has no container spec (made by hand?): a drill of it needs containerImage for ${request.source}/${request.volume} in the protect config`,
      );
    }
    const { image, refused } = this.allowedImage(named);
    if (refused) throw new ClientError(422, `a drill of ${entry.key} cannot start its database: ${refused}`);
    const name = drillName(restoreId);
    const verification = planVerification({ request, configured: settings?.verify, manifest: entry.manifest, where: `${request.source}/${request.volume}` });
    const mountPath = this.mountPath(undefined, entry.manifest, verification.view.engine);
    const env: Record<string, string> = request.containerEnvFile
      ? { ContainerEnvNames: recreate?.ContainerEnvNames ?? '', ContainerEnvFile: request.containerEnvFile }
      : {};
    const parameters: Record<string, string> = {
      Mode: 'drill',
      ...this.sizeParameters(entry, expectedSize),
      ExpectedSha256: entry.sha256 ?? '',
      VolumeName: name,
      ContainerName: name,
      IfVolumeExists: 'fail',
      MountPath: mountPath.path,
      HelperImage: this.config.helperImage,
      ContainerImage: image,
      ContainerCommand: recreate?.ContainerCommand ?? '',
      ShmSize: this.shmSize(recreate, verification.view.engine),
      ...verification.parameters,
      ...env,
    };
    this.checkParameters(entry, parameters, restoreId);
    const predicted = await this.predict(request.source, request.volume, entry);
    return {
      archive: this.archiveView(entry),
      target: { instanceId: request.instanceId, ...status },
      volume: name,
      containerName: name,
      dataOnly: false,
      mountPath,
      verification: verification.view,
      recreation: { dropped: [], otherMounts: [] },
      existingVolume: `the drill restores into a new throwaway volume ${name}; volume ${request.volume} and its container are never touched`,
      missingContainer: `a throwaway container ${name} is created from ${image} with no network and no published ports, verified, and removed with its volume whatever the outcome`,
      volumeCreation: { manifestRecorded: recordedVolumeDriver(entry.manifest), used: { driver: 'local', driverOpts: {}, from: 'default' } },
      integrity,
      expectedSize,
      predicted,
      parameters,
    };
  }

  /** Starts a drill of a protected volume's archive (scheduled, or on demand). */
  async drill(request: DrillRequest, requestedBy: Requester, extra: Pick<RestoreRecord, 'notifySlack' | 'recovery'> = {}): Promise<StartedRestore> {
    const now = this.now();
    const restoreId = this.deps.newId?.() ?? newRestoreId(now);
    const plan = await this.planDrill(request, restoreId);
    const minimum = plan.verification.expectMinimum?.value;
    return this.send(plan, {
      id: restoreId,
      requestedBy,
      mode: 'drill',
      source: request.source,
      ifVolumeExists: 'fail',
      createdAt: now.toISOString(),
      drill: { volume: request.volume, ...(minimum === undefined ? {} : { expectMinimum: minimum }) },
      ...extra,
    });
  }

  /**
   * Locks (instance, volume), records, presigns and sends; frees the lock if nothing
   * reached the host. What the plan says (archive, target, names) goes into the record.
   */
  private async send(
    plan: RestorePlan,
    fields: Pick<RestoreRecord, 'id' | 'requestedBy' | 'mode' | 'source' | 'ifVolumeExists' | 'createdAt' | 'drill' | 'notifySlack' | 'recovery'>,
  ): Promise<StartedRestore> {
    const record: RestoreRecord = {
      ...fields,
      state: 'planned',
      archiveKey: plan.archive.key,
      volume: plan.volume,
      instanceId: plan.target.instanceId,
      containerName: plan.containerName,
      updatedAt: fields.createdAt,
      // The sweeper treats a restore as lost only after its own command's timeout (plus a margin).
      commandTimeoutSeconds: this.commandTimeoutSeconds,
      // Kept beside what the host will measure: the result says how close the prediction was.
      predictedSeconds: plan.predicted.seconds,
    };
    const { id: restoreId, instanceId, volume } = record;
    if (!plan.target.online) {
      throw new ConflictError(`instance ${instanceId} is not online in SSM (${plan.target.pingStatus}); nothing was sent`, { target: plan.target });
    }
    assertTargetReceives(plan.target, record.source);
    // Checked again on what is sent, as assertTargetReceives is (every restore passes here, whatever
    // planned it). A drill restores into its own throwaway names, never an existing volume or container.
    if (record.mode === 'restore' && this.guardSharedHosts) {
      assertMayReplaceOnShared(
        plan.target,
        { source: record.source, volume: plan.volume, containerName: plan.containerName, ifVolumeExists: record.ifVolumeExists },
        this.policy.volumes,
      );
    }
    const { catalog } = this.deps;
    try {
      await catalog.acquireLock(instanceId, volume, restoreId, this.lockSeconds, new Date(record.createdAt));
    } catch (e) {
      if (e instanceof LockHeldError) {
        throw new ConflictError(e.message, { holdingRestore: e.holder, lockExpiresAt: e.expiresAt });
      }
      throw e;
    }
    let commandId: string | undefined;
    try {
      await catalog.createRestore(record);
      const url = await this.deps.store.presignGet(plan.archive.key, this.presignSeconds, plan.archive.versionId);
      const parameters = resolveParameters(this.config.document, { ...plan.parameters, RestoreId: restoreId, ArchiveUrl: url });
      commandId = await this.deps.runner.sendRestore({
        instanceId,
        restoreId,
        parameters,
        comment: `lifeboat ${record.mode} ${restoreId}`,
        timeoutSeconds: this.commandTimeoutSeconds,
      });
      await catalog.linkCommand(commandId, restoreId);
      const sent = await catalog.updateRestore(restoreId, ['planned'], { state: 'sent', commandId });
      return { restoreId, state: sent?.state ?? 'sent', commandId, plan };
    } catch (e) {
      if (commandId === undefined) {
        // Nothing reached the host: say so and free the volume.
        await catalog.updateRestore(restoreId, ['planned'], { state: 'failed', error: `the ${record.mode} command could not be sent` }).catch(() => undefined);
        await catalog.releaseLock(instanceId, volume, restoreId);
      }
      // Otherwise the command is running: the lock stays (until completion or expiry) and the
      // completion handler finds the restore through the command's comment.
      throw e;
    }
  }

  async get(id: string): Promise<RestoreRecord> {
    const record = await this.deps.catalog.getRestore(id);
    if (!record) throw new NotFoundError(`no restore ${id}`);
    // The Slack response_url is a capability to post into a channel, and a recovery member's task
    // token one to steer the recovery: both stay inside Lifeboat (the token is shown as '').
    return { ...record, notifySlack: undefined, recovery: record.recovery ? { ...record.recovery, taskToken: '' } : undefined };
  }
}
