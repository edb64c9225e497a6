import { execFile, spawnSync } from 'node:child_process';
import { mkdir, open, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { LocalCommandRunner } from '#core/adapters/local-runner.ts';
import { S3ArchiveStore } from '#core/archive-store.ts';
import { DynamoDbCatalog } from '#core/catalog/dynamodb-catalog.ts';
import { ingestCreated } from '#core/catalog/ingest.ts';
import * as z from 'zod';
import { SOURCE_PATTERN } from '#core/archive-key.ts';
import { TERMINAL_STATES, type RestoreRecord } from '#core/catalog/model.ts';
import { cancelRestore, type CancelOutcome } from '#core/restore/cancel.ts';
import { startLocalDynamo, type LocalDynamo } from '#core/local/dynamodb.ts';
import { localRecovery, type LocalRecoveryEngine, type RecoveryProgressEvent } from '#core/local/recovery.ts';
import { ProtectionPolicy, restorePolicyFor } from '#core/protection.ts';
import type { RecoveryPlan, RecoveryRecord, RecoveryRequest, StartedRecovery } from '#core/recovery/model.ts';
import type { RecoveryService } from '#core/recovery/service.ts';
import { startLocalS3, type LocalS3 } from '#core/local/s3.ts';
import { RestorePolicy } from '#core/policy.ts';
import type { DrillRequest, RestoreRequest } from '#core/restore/schemas.ts';
import type { RestoreService, RestorePlan, StartedRestore } from '#core/restore/service.ts';
import { loadDocument } from '#core/runbooks/document.ts';
import { runDocument } from '#core/runbooks/local-runner.ts';
import { BackupResult } from '#core/runbooks/results.ts';
import {
  listItem,
  type ArchiveListItem,
  type Backend,
  type BackupOptions,
  type BackupOutcome,
  type ProgressSink,
  type RecoveryProgress,
  type RecoveryRef,
  type RestoreRef,
  type VolumeView,
} from './backend.ts';
import { CliError, EXIT, toCliError, type ExitCode } from './errors.ts';
import { CancelOutcomeSchema } from './schema.ts';
import { LOCAL_INSTANCE_ID } from './targets.ts';

export { LOCAL_INSTANCE_ID };

const run = promisify(execFile);

const BUCKET = 'lifeboat-local';
const TABLE = 'lifeboat-catalog';

export interface LocalOptions {
  /** The state folder: archives under s3/, the catalog under catalog/. */
  readonly home: string;
  readonly helperImage: string;
  /** Images a recreated or drill container may run (`--allow-image`). @default none */
  readonly allowedImages?: readonly string[];
  /**
   * The protected volumes (`protect` of a Lifeboat configuration file, `--config`): the members
   * of a whole-host recovery, their waves and roles, and how they verify.
   * @default every cataloged volume, each in wave 1, critical, its container from the archive's manifest
   */
  readonly protect?: readonly ProtectionPolicy[];
}

/** Local mode's restore policy: the images named on the command line (and the protect config's volume settings); a bad entry is a usage error. */
function localPolicy(options: LocalOptions): RestorePolicy {
  const parsed = RestorePolicy.safeParse({ allowedImages: options.allowedImages ?? [] });
  if (!parsed.success) throw new CliError(EXIT.usage, `--allow-image: ${parsed.error.issues.map((i) => i.message).join('; ')}`, 'nothing was done');
  return options.protect === undefined ? parsed.data : restorePolicyFor(parsed.data.allowedImages, options.protect);
}

/** Without a configuration, each cataloged volume is protected as a recovery member with the defaults (wave 1, critical). */
async function protectFromCatalog(catalog: DynamoDbCatalog): Promise<ProtectionPolicy[]> {
  return (await catalog.listVolumes()).map((v) =>
    ProtectionPolicy.parse({ source: v.source, volume: v.volume, drillHost: { instanceId: LOCAL_INSTANCE_ID }, rpoMinutes: 1440 }),
  );
}

/** Where `lifeboat cancel` leaves a request for the process that holds the state folder. */
const CANCEL_DIR = 'cancel-requests';
const RESTORE_ID = /^r-[a-z0-9]{1,16}-[a-f0-9]{8}$/;
const CancelRequest = z.object({ requestedBy: z.string().max(300), source: z.string().regex(SOURCE_PATTERN).optional() });
const CancelAnswer = z.union([
  CancelOutcomeSchema,
  z.object({ error: z.object({ exitCode: z.number().int(), message: z.string(), hint: z.string().optional() }) }),
]);

/**
 * `lifeboat cancel` in local mode while another lifeboat process runs the restore (and so
 * holds the state folder and the catalog): leaves a request in the folder, signals that
 * process (SIGUSR2), and returns its answer. Undefined when no live process holds the folder.
 */
export async function requestCancel(home: string, ref: RestoreRef, waitSeconds = 15): Promise<CancelOutcome | undefined> {
  const pid = Number((await readFile(join(home, 'lock'), 'utf8').catch(() => '')).trim());
  if (!(pid > 0) || pid === process.pid || !alive(pid)) return undefined;
  const dir = join(home, CANCEL_DIR);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const answerFile = join(dir, `${ref.restoreId}.answer.json`);
  await rm(answerFile, { force: true });
  await writeFile(join(dir, `${ref.restoreId}.request.json`), JSON.stringify({ requestedBy: requester(), source: ref.source }), { mode: 0o600 });
  process.kill(pid, 'SIGUSR2');
  for (let i = 0; i < waitSeconds * 10; i++) {
    const text = await readFile(answerFile, 'utf8').catch(() => undefined);
    if (text !== undefined) {
      await rm(answerFile, { force: true });
      const answer = CancelAnswer.parse(JSON.parse(text));
      if ('error' in answer) throw new CliError(answer.error.exitCode as ExitCode, answer.error.message, answer.error.hint);
      return answer;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new CliError(
    EXIT.unavailable,
    `lifeboat process ${pid.toString()} (which holds ${home}) did not answer the cancel request within ${waitSeconds.toString()} s`,
    `press Ctrl-C where it runs, or \`kill -INT ${pid.toString()}\`: either cancels what it runs`,
  );
}

function alive(pid: number): boolean {
  try {
    return process.kill(pid, 0);
  } catch {
    return false;
  }
}

/** `phase: download` lines on the runbook's stderr. */
const PHASE_LINE = /\] phase: ([a-z]+)$/gm;

async function dockerProblem(): Promise<string | undefined> {
  try {
    await run('docker', ['info', '--format', '{{.ServerVersion}}'], { timeout: 20_000 });
    return undefined;
  } catch (e) {
    const err = e as { code?: string; stderr?: string };
    if (err.code === 'ENOENT') return 'the docker command is not installed';
    return (err.stderr ?? String(e)).trim().split('\n').pop();
  }
}

/**
 * Holds the state folder for this process: one Lifeboat command at a time uses it
 * (the embedded catalog is a LevelDB, which allows one writer).
 */
async function takeFolder(home: string): Promise<() => Promise<void>> {
  await mkdir(home, { recursive: true, mode: 0o700 });
  const lock = join(home, 'lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(lock, 'wx', 0o600);
      await handle.writeFile(`${process.pid}\n`);
      await handle.close();
      return () => rm(lock, { force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const pid = Number((await readFile(lock, 'utf8').catch(() => '')).trim());
      if (pid > 0 && alive(pid)) {
        throw new CliError(
          EXIT.unavailable,
          `another lifeboat command (pid ${pid}) is using ${home}`,
          'wait for it to finish, or point this one elsewhere with --home',
        );
      }
      await rm(lock, { force: true }); // left by a process that died
    }
  }
  throw new CliError(EXIT.unavailable, `cannot take ${home}/lock`);
}

/**
 * Lifeboat on this machine, no AWS account: an embedded S3-compatible store and
 * DynamoDB-compatible catalog (persisted under the state folder), the same
 * restore service and catalog code as the Lambdas, and the local runner
 * executing the same runbook documents against the local Docker engine.
 */
export class LocalBackend implements Backend {
  readonly defaultInstanceId = LOCAL_INSTANCE_ID;
  private progress: ProgressSink | undefined;
  private recoveryProgress: ((event: RecoveryProgressEvent) => void) | undefined;
  /** Aborted on Ctrl-C: the runbooks run in their own process group, so the terminal's signal does not reach them. */
  private readonly interrupted = new AbortController();
  private readonly onCancelRequest = (): void => {
    void this.answerCancelRequests();
  };

  private constructor(
    readonly description: string,
    private readonly options: LocalOptions,
    private readonly s3: LocalS3,
    private readonly dynamo: LocalDynamo,
    private readonly catalog: DynamoDbCatalog,
    private readonly release: () => Promise<void>,
    private readonly runner: LocalCommandRunner,
    private readonly service: RestoreService,
    private readonly recovery: RecoveryService,
    private readonly engine: LocalRecoveryEngine,
  ) {}

  static async open(options: LocalOptions): Promise<LocalBackend> {
    const release = await takeFolder(options.home);
    let s3: LocalS3 | undefined;
    let dynamo: LocalDynamo | undefined;
    try {
      await mkdir(join(options.home, 's3'), { recursive: true });
      s3 = await startLocalS3(BUCKET, { directory: join(options.home, 's3') });
      dynamo = await startLocalDynamo({ path: join(options.home, 'catalog') });
      const catalog = new DynamoDbCatalog(dynamo.doc, await dynamo.createCatalogTable(TABLE));
      const store = new S3ArchiveStore(s3.client, s3.bucket);
      const self: { backend?: LocalBackend } = {};
      const { runner, service, recovery, engine } = localRecovery({
        catalog,
        store,
        instanceId: LOCAL_INSTANCE_ID,
        helperImage: options.helperImage,
        policy: localPolicy(options),
        protect: options.protect ?? (await protectFromCatalog(catalog)),
        onStderr: (chunk) => {
          for (const m of chunk.matchAll(PHASE_LINE)) self.backend?.progress?.phase(m[1] ?? '');
        },
        onProgress: (event) => self.backend?.recoveryProgress?.(event),
      });
      self.backend = new LocalBackend(
        `local mode (state in ${options.home}, this machine's Docker engine as instance ${LOCAL_INSTANCE_ID})`,
        options,
        s3,
        dynamo,
        catalog,
        release,
        runner,
        service,
        recovery,
        engine,
      );
      process.on('SIGUSR2', self.backend.onCancelRequest);
      return self.backend;
    } catch (e) {
      await s3?.close().catch(() => undefined);
      await dynamo?.close().catch(() => undefined);
      await release();
      throw e;
    }
  }

  async volumes(source?: string): Promise<VolumeView[]> {
    const now = Date.now();
    return (await this.catalog.listVolumes())
      .filter((v) => source === undefined || v.source === source)
      .map((v) => ({ ...v, newestAgeSeconds: Math.round((now - Date.parse(v.newestTakenAt)) / 1000) }));
  }

  async archives(source: string, volume: string, options: { before?: string; limit: number }): Promise<ArchiveListItem[]> {
    return (await this.catalog.listArchives(source, volume, { atOrBefore: options.before, limit: options.limit })).map(listItem);
  }

  plan(request: RestoreRequest): Promise<RestorePlan> {
    return this.service.plan(request);
  }

  private async needDocker(images: readonly string[]): Promise<void> {
    const problem = await dockerProblem();
    if (problem !== undefined) {
      throw new CliError(
        EXIT.unavailable,
        `Docker is not reachable: ${problem}`,
        'start the Docker engine (e.g. `sudo systemctl start docker`, or `dockerd &`) and run the command again; nothing was changed',
      );
    }
    for (const image of images) {
      if (spawnSync('docker', ['image', 'inspect', image], { stdio: 'ignore' }).status !== 0) {
        throw new CliError(
          EXIT.unavailable,
          `the image ${image} is not on this Docker engine`,
          'build it with `bash scripts/test-images.sh helper` (no registry needed), or pass --helper-image; nothing was changed',
        );
      }
    }
  }

  start(request: RestoreRequest, progress: ProgressSink): Promise<StartedRestore> {
    return this.launch(request.instanceId, progress, () => this.service.start(request, requester()));
  }

  drill(request: DrillRequest, progress: ProgressSink): Promise<StartedRestore> {
    return this.launch(request.instanceId, progress, () => this.service.drill(request, requester()));
  }

  /** Sends a restore or drill, reporting its phases and the bytes the embedded S3 server sends to the host. */
  private async launch(instanceId: string, progress: ProgressSink, send: () => Promise<StartedRestore>): Promise<StartedRestore> {
    if (instanceId === LOCAL_INSTANCE_ID) await this.needDocker([this.options.helperImage]);
    this.progress = progress;
    const started = await send();
    const archiveBytes = started.plan.archive.size;
    const base = this.s3.bytesSent();
    progress.bytes(() => Math.min(archiveBytes, Math.max(0, this.s3.bytesSent() - base)), archiveBytes);
    return started;
  }

  async wait({ restoreId }: RestoreRef, progress: ProgressSink): Promise<RestoreRecord> {
    this.progress = progress;
    const record = await this.service.get(restoreId);
    if (record.commandId) await this.runner.finished(record.commandId);
    const final = await this.service.get(restoreId);
    if (!['succeeded', 'failed', 'cancelled'].includes(final.state)) {
      throw new CliError(
        EXIT.unavailable,
        `restore ${restoreId} is ${final.state}, but no lifeboat process is running it any more`,
        `the volume lock frees itself; check the host with \`docker ps -a --filter label=lifeboat.restore-id=${restoreId}\``,
      );
    }
    return final;
  }

  status({ restoreId }: RestoreRef): Promise<RestoreRecord> {
    return this.service.get(restoreId);
  }

  /**
   * Cancels a restore this process runs (its own, or one another `lifeboat cancel` asked
   * for through {@link requestCancel}): the same core as the API, with the local runner
   * sending TERM to the runbook's process group.
   */
  async cancel({ restoreId, source }: RestoreRef, requestedBy = requester()): Promise<CancelOutcome> {
    const record = await this.service.get(restoreId);
    if (record.commandId !== undefined && !TERMINAL_STATES.includes(record.state) && !this.runner.runs(record.commandId)) {
      throw new CliError(
        EXIT.unavailable,
        `restore ${restoreId} is ${record.state}, but no lifeboat process is running it any more`,
        `nothing to cancel here; check the host with \`docker ps -a --filter label=lifeboat.restore-id=${restoreId}\``,
      );
    }
    return cancelRestore({ catalog: this.catalog, runner: this.runner }, restoreId, requestedBy, source === undefined ? {} : { sources: [source] });
  }

  /** Answers the cancel requests another `lifeboat cancel` left for this process (it holds the catalog). */
  private async answerCancelRequests(): Promise<void> {
    const dir = join(this.options.home, CANCEL_DIR);
    const names = await readdir(dir).catch(() => [] as string[]);
    for (const name of names.filter((n) => n.endsWith('.request.json'))) {
      const id = name.slice(0, -'.request.json'.length);
      const request = CancelRequest.safeParse(JSON.parse(await readFile(join(dir, name), 'utf8').catch(() => 'null')));
      await rm(join(dir, name), { force: true });
      if (!request.success || !RESTORE_ID.test(id)) continue;
      let answer: unknown;
      try {
        answer = await this.cancel({ restoreId: id, source: request.data.source }, request.data.requestedBy);
      } catch (e) {
        const error = toCliError(e);
        answer = { error: { exitCode: error.exitCode, message: error.message, hint: error.hint } };
      }
      await writeFile(join(dir, `${id}.answer.json`), JSON.stringify(answer), { mode: 0o600 });
    }
  }

  async backup(options: BackupOptions, progress: ProgressSink): Promise<BackupOutcome> {
    await this.needDocker([this.options.helperImage]);
    if (spawnSync('aws', ['--version'], { stdio: 'ignore' }).status !== 0) {
      throw new CliError(
        EXIT.unavailable,
        'the AWS CLI is not installed; the backup runbook uploads with it',
        'install it (e.g. `apt-get install awscli`); nothing was changed',
      );
    }
    if (spawnSync('docker', ['volume', 'inspect', options.volume], { stdio: 'ignore' }).status !== 0) {
      throw new CliError(
        EXIT.notFound,
        `there is no Docker volume ${options.volume} on this engine`,
        '`docker volume ls` lists the volumes; nothing was changed',
      );
    }
    const container = options.container ?? (await containerUsing(options.volume));
    const backupId = `b-${Date.now().toString(36)}`;
    const base = this.s3.bytesReceived();
    progress.bytes(() => Math.max(0, this.s3.bytesReceived() - base));
    const outcome = await runDocument(
      loadDocument('backup-volume'),
      {
        BackupId: backupId,
        VolumeName: options.volume,
        ContainerName: container ?? '',
        Consistency: container ? options.consistency : 'none',
        Bucket: this.s3.bucket,
        Source: options.source,
        S3EndpointUrl: this.s3.endpoint,
        HelperImage: this.options.helperImage,
      },
      BackupResult,
      {
        env: this.s3.hostEnv,
        signal: this.interrupted.signal,
        onStderr: (chunk) => {
          for (const m of chunk.matchAll(PHASE_LINE)) progress.phase(m[1] ?? '');
        },
      },
    );
    const result = outcome.result;
    if (!result)
      throw new CliError(
        EXIT.failed,
        `the backup runbook printed no result (exit ${String(outcome.exitCode)}): ${outcome.stderr.trim().split('\n').slice(-3).join(' | ')}`,
      );
    if (result.outcome !== 'succeeded' || !result.archiveKey || !result.manifestKey) {
      throw new CliError(
        EXIT.failed,
        `backup ${result.outcome}${result.failedPhase ? ` in ${result.failedPhase}` : ''}: ${result.error ?? 'no error given'}`,
        'no archive was kept; the container was resumed',
        { result },
      );
    }
    // What the catalog Lambda does for the two "Object Created" events.
    const deps = { store: new S3ArchiveStore(this.s3.client, this.s3.bucket), catalog: this.catalog };
    await ingestCreated(deps, result.archiveKey, { decoded: true });
    await ingestCreated(deps, result.manifestKey, { decoded: true });
    const archive = await this.catalog.getArchive(result.archiveKey);
    if (!archive) throw new CliError(EXIT.failed, `archive ${result.archiveKey} was uploaded but not cataloged`);
    return { kind: 'local', result, archive, container: container ?? null };
  }

  /** Local backups run in the foreground and are cataloged at once: there is no command to ask about. */
  backupStatus(): Promise<never> {
    return Promise.reject(
      new CliError(
        EXIT.usage,
        'local mode has no backup commands to ask about: `lifeboat backup` here runs in the foreground and prints its result',
        'a backup command id (a UUID) comes from a deployed Lifeboat: pass --api (or LIFEBOAT_API_URL, or cdk-outputs.json)',
      ),
    );
  }

  recoveryPlan(request: RecoveryRequest): Promise<RecoveryPlan> {
    return this.recovery.plan(request);
  }

  async recover(request: RecoveryRequest): Promise<StartedRecovery> {
    const target = request.target;
    const instances = 'instanceId' in target ? [target.instanceId] : 'volumes' in target ? Object.values(target.volumes) : [];
    if (instances.includes(LOCAL_INSTANCE_ID)) await this.needDocker([this.options.helperImage]);
    return this.recovery.start(request, requester());
  }

  async recoveryStatus({ recoveryId, source }: RecoveryRef): Promise<RecoveryRecord> {
    const record = await this.recovery.get(recoveryId);
    if (record.plan.source !== source) throw new CliError(EXIT.notFound, `no recovery ${recoveryId} of source ${source}`);
    return record;
  }

  /**
   * Waits for the recovery's local execution (it runs in this process, on the definition that
   * deploys) and tells members' starts and ends as the engine reports them. Ctrl-C stops the
   * execution and cancels the members in flight (their hosts put back); the recovery is then
   * reported as ended by the interruption.
   */
  async waitRecovery(ref: RecoveryRef, progress: (event: RecoveryProgress) => void): Promise<RecoveryRecord> {
    this.recoveryProgress = (event) => {
      if (event.recoveryId !== ref.recoveryId) return;
      if (event.type === 'memberStarted') progress({ type: 'memberStarted', volume: event.volume });
      else if (event.type === 'memberEnded')
        progress({ type: 'memberEnded', volume: event.volume, outcome: event.outcome, started: event.started, error: event.error ?? null });
      else progress({ type: 'waveEnded', wave: event.wave, stop: event.stop, ...(event.reason === undefined ? {} : { reason: event.reason }) });
    };
    try {
      const end = await this.engine.finished(ref.recoveryId);
      if (end.status === 'ABORTED') {
        await this.runner.settled();
        await this.recovery
          .report({ recoveryId: ref.recoveryId, error: { Error: 'Lifeboat.Interrupted', Cause: 'interrupted (Ctrl-C): the local execution was stopped' } })
          .catch(() => undefined);
      }
      return await this.recovery.get(ref.recoveryId);
    } finally {
      this.recoveryProgress = undefined;
    }
  }

  /** Cancels the restore or backup in flight, as SSM CancelCommand would: the runbook's trap puts the host back. A recovery's execution stops first, so that no later member starts. */
  cancelInFlight(): void {
    this.engine.abortAll();
    this.interrupted.abort();
    this.runner.cancelAll();
  }

  async close(): Promise<void> {
    process.removeListener('SIGUSR2', this.onCancelRequest);
    this.cancelInFlight();
    await this.runner.settled();
    await this.engine.settled();
    await this.s3.close();
    await this.dynamo.close();
    await this.release();
  }
}

/** The one container (running or not) that mounts the volume, if exactly one does. */
async function containerUsing(volume: string): Promise<string | undefined> {
  const { stdout } = await run('docker', ['ps', '-a', '--filter', `volume=${volume}`, '--format', '{{.Names}}']);
  const names = stdout.split('\n').filter(Boolean);
  if (names.length > 1) {
    throw new CliError(EXIT.usage, `volume ${volume} is used by several containers (${names.join(', ')})`, 'say which one is the database with --container');
  }
  return names[0];
}

function requester(): string {
  let user = 'unknown';
  try {
    user = userInfo().username;
  } catch {
    /* no passwd entry */
  }
  return `local:${user}@${hostname()}`;
}
