/**
 * Whole-host recovery: what the surfaces call (plan, start, startPlan, get), what the state
 * machine's tasks call (prepare, launch, checkHost, startMember, waveEnded, report), and what the
 * completion path calls when a member's restore ends (memberFinished). Knows nothing of Lambda or
 * Step Functions: the engine, the task callback and the launcher are ports.
 */
import { randomBytes } from 'node:crypto';
import * as z from 'zod';
import { TERMINAL_STATES, type Catalog, type RestoreRecord } from '../catalog/model.ts';
import type { ProtectionPolicy } from '../protection.ts';
import { OPEN_STATES } from '../restore/completion.ts';
import { ClientError, ConflictError, NotFoundError } from '../restore/errors.ts';
import type { InstanceDirectory, Notifier } from '../restore/ports.ts';
import type { RestoreService } from '../restore/service.ts';
import {
  MemberResult,
  FINAL_RECOVERY_STATES,
  RECOVERY_ERRORS,
  RECOVERY_STATES,
  RecoveryPlan,
  RecoveryRequest,
  RecoveryTaskError,
  type ExecutionInput,
  type HostCheck,
  type HostCheckResult,
  type HostLauncher,
  type MemberProgress,
  type MemberTask,
  type PreparedRecovery,
  type RecoveryApi,
  type RecoveryDrillConfig,
  type RecoveryEngine,
  type RecoveryMemberPlan,
  type RecoveryMemberSink,
  type RecoveryRecord,
  type RecoveryReport,
  type RecoveryTasks,
  type ReportInput,
  type StartedRecovery,
  type TaskCallback,
  type WaveEnd,
  type WaveVerdict,
} from './model.ts';
import { launchTemplateProblem, memberRequest, planRecovery, type PlannerDeps } from './plan.ts';
import { recoveryOutcome, recoveryReport, reportSubject } from './report.ts';

export interface RecoveryMetrics {
  recoveryFinished(v: { source: string; mode: 'restore' | 'drill'; outcome: string; totalSeconds: number }): void;
}

export interface RecoveryServiceDeps {
  catalog: Catalog;
  /** Plans and starts members (every method but memberFinished needs it; the completion path, which only answers tokens, has none). */
  restores?: RestoreService;
  instances: InstanceDirectory;
  protect: readonly ProtectionPolicy[];
  /** Starts the state machine (start, startPlan). */
  engine?: RecoveryEngine;
  /** Answers members' task tokens (memberFinished). */
  callback?: TaskCallback;
  /** The topic (and Slack) hear each recovery's report. */
  notifier?: Notifier;
  /** Starts a replacement from a launch template (targets with launchTemplate). */
  launcher?: HostLauncher;
  /** The instance carrying a tag (a recovery drill's host given by tag). */
  findHost?: (key: string, value: string) => Promise<string | undefined>;
  recoveryDrills?: readonly RecoveryDrillConfig[];
  metrics?: RecoveryMetrics;
  /** Tags every launched host carries besides Lifeboat's own (e.g. the stack's lifeboat:managed=true). */
  launchTags?: Readonly<Record<string, string>>;
  /**
   * The launch templates a replacement may be launched from (the stack's recoveryLaunchTemplates
   * ids): a plan naming another is refused (a problem naming target.launchTemplate.id). Absent: not checked.
   */
  launchTemplates?: readonly string[];
  /** Told what went wrong but must not fail the task (a notification that failed after the record is final). */
  warn?: (message: string, error: unknown) => void;
  now?: () => Date;
  newId?: () => string;
}

/** Who a scheduled recovery drill is recorded as requested by. */
export const SCHEDULED_RECOVERY_DRILL = 'schedule:lifeboat-recovery-drill';

/** `rc-<yyyymmddhhmmss>-<8 hex>` */
export const newRecoveryId = (now = new Date()): string => `rc-${now.toISOString().replace(/[-:T]/g, '').slice(0, 14)}-${randomBytes(4).toString('hex')}`;

const FINAL_MEMBER_STATES: readonly MemberProgress['state'][] = ['succeeded', 'failed', 'skipped'];

/** A member result from the MemberFailed Pass state: the Catch's {Error, Cause} beside the member. */
const CaughtMemberFailure = z.object({
  volume: z.string(),
  error: z.object({ Error: z.string(), Cause: z.string().optional() }),
});

/** A Catch's Cause is the error's message, or (a Lambda's) JSON with errorMessage. */
function causeText(error: { Error: string; Cause?: string | undefined }): string {
  const cause = error.Cause ?? '';
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: unknown };
    if (typeof parsed.errorMessage === 'string') return parsed.errorMessage;
  } catch {
    // not JSON: the message itself
  }
  return cause || error.Error;
}

const errorMessage = (e: unknown): string => (e instanceof Error ? e.message : String(e));

export class RecoveryService implements RecoveryApi, RecoveryTasks, RecoveryMemberSink {
  constructor(private readonly deps: RecoveryServiceDeps) {}

  private restoreService(): RestoreService {
    if (!this.deps.restores) throw new Error('RecoveryService: planning or starting members needs the restore service (deps.restores)');
    return this.deps.restores;
  }

  private now(): Date {
    return this.deps.now?.() ?? new Date();
  }

  private get planner(): PlannerDeps {
    return {
      catalog: this.deps.catalog,
      restores: this.restoreService(),
      protect: this.deps.protect,
      ...(this.deps.launchTemplates === undefined ? {} : { launchTemplates: this.deps.launchTemplates }),
    };
  }

  // ------------------------------------------------------------------ surfaces

  async plan(request: RecoveryRequest): Promise<RecoveryPlan> {
    return planRecovery(this.planner, RecoveryRequest.parse(request), { mode: 'restore', now: this.now() });
  }

  async start(request: RecoveryRequest, requestedBy: string, extra: Pick<RecoveryRecord, 'notifySlack'> = {}): Promise<StartedRecovery> {
    const plan = await this.plan(request);
    refuseProblems(plan);
    return this.record(plan, requestedBy, extra);
  }

  async startPlan(input: RecoveryPlan, requestedBy: string, extra: Pick<RecoveryRecord, 'notifySlack'> = {}): Promise<StartedRecovery> {
    const parsed = RecoveryPlan.parse(input);
    // The templates allowed may have changed since the plan was made.
    const template = launchTemplateProblem(parsed.target, this.deps.launchTemplates);
    const plan = template && !parsed.problems.includes(template) ? { ...parsed, problems: [...parsed.problems, template] } : parsed;
    refuseProblems(plan);
    const protectedVolumes = new Set(this.deps.protect.filter((p) => p.source === plan.source).map((p) => p.volume));
    const strangers = members(plan).filter((m) => !protectedVolumes.has(m.volume));
    if (strangers.length) {
      throw new ClientError(
        422,
        `the plan names volumes that are not protected volumes of ${plan.source}: ${strangers.map((m) => m.volume).join(', ')}; plan again`,
      );
    }
    const changed: string[] = [];
    for (const m of members(plan)) {
      if (!m.archive) continue;
      const entry = await this.deps.catalog.getArchive(m.archive.key);
      if (!entry) changed.push(`${m.volume}: ${m.archive.key} is no longer in the catalog`);
      else if (entry.deletedAt) changed.push(`${m.volume}: ${m.archive.key} was deleted at ${entry.deletedAt}`);
      else if (entry.source !== plan.source || entry.volume !== m.volume)
        changed.push(`${m.volume}: ${m.archive.key} belongs to ${entry.source}/${entry.volume}`);
      else if (m.archive.versionId !== undefined && entry.versionId !== m.archive.versionId) {
        changed.push(`${m.volume}: ${m.archive.key} is now version ${entry.versionId ?? 'none'}, not the planned ${m.archive.versionId}`);
      }
    }
    if (changed.length) {
      throw new ConflictError(`the plan's archives are no longer what was planned: ${changed.join('; ')}; plan again`, { archives: changed });
    }
    return this.record(plan, requestedBy, extra);
  }

  async get(recoveryId: string): Promise<RecoveryRecord> {
    const record = await this.deps.catalog.getRecovery(recoveryId);
    if (!record) throw new NotFoundError(`no recovery ${recoveryId}`);
    // The Slack response_url is a capability to post into a channel: it stays inside Lifeboat.
    return { ...record, notifySlack: undefined };
  }

  /** Records the planned recovery and starts the engine on it. */
  private async record(plan: RecoveryPlan, requestedBy: string, extra: Pick<RecoveryRecord, 'notifySlack'>): Promise<StartedRecovery> {
    const { engine } = this.deps;
    if (!engine) throw new Error('no recovery engine is configured: a recovery can only be planned here');
    const now = this.now();
    const id = this.deps.newId?.() ?? newRecoveryId(now);
    await this.deps.catalog.createRecovery(newRecord(id, plan, requestedBy, now, { state: 'planned', ...extra }));
    let executionArn: string;
    try {
      executionArn = await engine.start(id);
    } catch (e) {
      await this.deps.catalog.updateRecovery(id, ['planned'], {
        state: 'failed',
        endedAt: this.now().toISOString(),
        error: `the recovery's state machine could not be started: ${errorMessage(e)}`,
      });
      throw e;
    }
    // The engine may already have moved it on (Prepare): whatever its state, it has this execution.
    const updated = await this.deps.catalog.updateRecovery(id, RECOVERY_STATES, { executionArn });
    return { recoveryId: id, state: updated?.state ?? 'planned', executionArn, plan };
  }

  // ------------------------------------------------------------------ state machine tasks

  async prepare(input: ExecutionInput): Promise<PreparedRecovery> {
    if ('scheduledDrill' in input) return this.prepareDrill(input.scheduledDrill.source);
    const { recoveryId } = input;
    let record = await this.deps.catalog.getRecovery(recoveryId);
    if (!record) throw new RecoveryTaskError(RECOVERY_ERRORS.notRunnable, `no recovery ${recoveryId}`);
    const launching = 'launchTemplate' in record.plan.target;
    if (record.state === 'planned') {
      record =
        (await this.deps.catalog.updateRecovery(recoveryId, ['planned'], {
          state: launching ? 'launching' : 'running',
          startedAt: this.now().toISOString(),
        })) ??
        (await this.deps.catalog.getRecovery(recoveryId)) ??
        record;
    }
    // A retried Prepare (its first attempt recorded the start, then its answer was lost) goes on;
    // a recovery whose members already ran, or that ended, never runs again.
    const untouched = Object.values(record.members).every((m) => m.startedAt === undefined);
    if (!((record.state === 'launching' || record.state === 'running') && untouched)) {
      throw new RecoveryTaskError(
        RECOVERY_ERRORS.notRunnable,
        `recovery ${recoveryId} is ${record.state}${untouched ? '' : ' and its members have started'}: it cannot run (again)`,
      );
    }
    return prepared(record);
  }

  /** A scheduled recovery drill: planned now, on the configured drill host; recorded as failed (and reported) when it cannot run. */
  private async prepareDrill(source: string): Promise<PreparedRecovery> {
    const config = this.deps.recoveryDrills?.find((d) => d.source === source);
    if (!config)
      throw new RecoveryTaskError(
        RECOVERY_ERRORS.notRunnable,
        `no recovery drill is configured for source ${source} (recoveryDrills[] in the Lifeboat configuration)`,
      );
    const now = this.now();
    const id = this.deps.newId?.() ?? newRecoveryId(now);
    const host = config.drillHost;
    let instanceId: string | undefined;
    let noTarget: string | undefined;
    if ('instanceId' in host) instanceId = host.instanceId;
    else if (!this.deps.findHost) noTarget = `no drill host: finding a host by tag ${host.tag.key}=${host.tag.value} is not configured here`;
    else {
      instanceId = await this.deps.findHost(host.tag.key, host.tag.value);
      if (!instanceId) noTarget = `no drill host: no instance carries the tag ${host.tag.key}=${host.tag.value}`;
    }
    const request = RecoveryRequest.parse({ source, target: instanceId ? { instanceId } : { volumes: {} } });
    let plan: RecoveryPlan;
    try {
      plan = await planRecovery(this.planner, request, { mode: 'drill', now, ...(noTarget === undefined ? {} : { noTarget }) });
    } catch (e) {
      if (!(e instanceof ClientError)) throw e;
      plan = unplanned(request, now, e.message);
    }
    if (plan.problems.length) {
      // Never silently skipped: recorded as failed, then reported and alarmed by Report.
      const error = `the recovery drill of ${source} cannot run: ${plan.problems.join('; ')}`;
      const record = newRecord(id, plan, SCHEDULED_RECOVERY_DRILL, now, { state: 'failed', startedAt: now.toISOString(), error });
      for (const m of members(plan)) record.members[m.volume] = { state: 'skipped', error: `not run: ${error}` };
      await this.deps.catalog.createRecovery(record);
      return { recoveryId: id, waves: [] };
    }
    const record = newRecord(id, plan, SCHEDULED_RECOVERY_DRILL, now, { state: 'running', startedAt: now.toISOString() });
    await this.deps.catalog.createRecovery(record);
    return prepared(record);
  }

  async launch(input: { recoveryId: string; launch: NonNullable<PreparedRecovery['launch']> }): Promise<HostCheck> {
    const { recoveryId } = input;
    const record = await this.deps.catalog.getRecovery(recoveryId);
    if (!record) throw new RecoveryTaskError(RECOVERY_ERRORS.notRunnable, `no recovery ${recoveryId}`);
    if (record.launchedInstanceId) return { recoveryId, instanceId: record.launchedInstanceId, attempts: 0 };
    const { launcher } = this.deps;
    if (!launcher) throw new RecoveryTaskError(RECOVERY_ERRORS.notRunnable, 'no host launcher is configured here: a launch template target cannot be used');
    const template = launchTemplateProblem({ launchTemplate: input.launch }, this.deps.launchTemplates);
    if (template) throw new RecoveryTaskError(RECOVERY_ERRORS.notRunnable, template);
    const source = record.plan.source;
    const instanceId = await launcher.launch({
      templateId: input.launch.id,
      ...(input.launch.version === undefined ? {} : { version: input.launch.version }),
      // Lifeboat's own tags last: the host must receive exactly this source and name its recovery.
      tags: { ...this.deps.launchTags, Name: `lifeboat recovery of ${source}`, 'lifeboat:sources': source, 'lifeboat:recovery': recoveryId },
      clientToken: recoveryId,
    });
    await this.deps.catalog.updateRecovery(recoveryId, ['planned', 'launching', 'running'], { launchedInstanceId: instanceId });
    return { recoveryId, instanceId, attempts: 0 };
  }

  async checkHost(input: HostCheck): Promise<HostCheckResult> {
    const status = await this.deps.instances.status(input.instanceId);
    if (status.online) await this.deps.catalog.updateRecovery(input.recoveryId, ['launching'], { state: 'running' });
    return { recoveryId: input.recoveryId, instanceId: input.instanceId, attempts: input.attempts + 1, online: status.online };
  }

  async startMember(task: MemberTask): Promise<void> {
    const { recoveryId: id, volume, taskToken } = task;
    const record = await this.deps.catalog.getRecovery(id);
    if (!record) throw new RecoveryTaskError(RECOVERY_ERRORS.memberNotStarted, `no recovery ${id}`);
    const member = members(record.plan).find((m) => m.volume === volume);
    if (!member) throw new RecoveryTaskError(RECOVERY_ERRORS.memberNotStarted, `${volume} is not a member of recovery ${id}`);
    const progress = record.members[volume] ?? { state: 'pending' };
    if (FINAL_MEMBER_STATES.includes(progress.state)) {
      // Already over (a retried task after its answer was lost): answer this token the same way.
      await this.answer(taskToken, member, progress);
      return;
    }
    if (progress.state === 'running' && progress.restoreId) {
      // A retried task whose first attempt started the restore: never a second one; the running
      // restore answers this attempt's token instead.
      await this.handOver(progress.restoreId, { id, volume, taskToken });
      return;
    }
    const marked = await this.deps.catalog.updateRecoveryMember(
      id,
      volume,
      { state: 'running', startedAt: this.now().toISOString() },
      { from: ['pending', 'running'] },
    );
    if (!marked) throw new RecoveryTaskError(RECOVERY_ERRORS.memberNotStarted, `${volume}: recovery ${id} is ${record.state}; the member was not started`);
    const instanceId = member.instanceId || record.launchedInstanceId || '';
    try {
      if (!instanceId) throw new ClientError(409, 'no instance to restore on: the replacement host was not launched');
      const m = memberRequest(record.plan, member, instanceId);
      const requestedBy = `recovery:${id}`;
      const extra = { recovery: { id, volume, taskToken } };
      const started =
        m.mode === 'drill'
          ? await this.restoreService().drill(m.request, requestedBy, extra)
          : await this.restoreService().start(m.request, requestedBy, extra);
      await this.deps.catalog.updateRecoveryMember(id, volume, { restoreId: started.restoreId }, { from: ['running'] });
    } catch (e) {
      // A retry whose first attempt sent the restore but could not record it: the (instance,
      // volume) lock names that restore, which answers this attempt's token instead.
      const holder = e instanceof ConflictError ? await this.ownRestore(e, id, volume) : undefined;
      if (holder) {
        await this.deps.catalog.updateRecoveryMember(id, volume, { restoreId: holder }, { from: ['running'] });
        await this.handOver(holder, { id, volume, taskToken });
        return;
      }
      // Refused before anything reached the host (offline, lock held, archive gone): the member
      // failed. Anything else is retried by the definition.
      if (!(e instanceof ClientError || e instanceof z.ZodError)) throw e;
      const error = e instanceof z.ZodError ? z.prettifyError(e) : e.message;
      await this.deps.catalog.updateRecoveryMember(id, volume, { state: 'failed', endedAt: this.now().toISOString(), error }, { from: ['running'] });
      throw new RecoveryTaskError(RECOVERY_ERRORS.memberNotStarted, `${volume}: ${error}`);
    }
  }

  /** The restore holding the lock that refused a member, when it is this very member's (sent by an earlier attempt). */
  private async ownRestore(e: ConflictError, recoveryId: string, volume: string): Promise<string | undefined> {
    const holder = e.details?.holdingRestore;
    if (typeof holder !== 'string') return undefined;
    const restore = await this.deps.catalog.getRestore(holder);
    return restore?.recovery?.id === recoveryId && restore.recovery.volume === volume ? holder : undefined;
  }

  /** Gives a running member restore this task's token; a restore that ended meanwhile answers it at once. */
  private async handOver(restoreId: string, recovery: NonNullable<RestoreRecord['recovery']>): Promise<void> {
    const updated = await this.deps.catalog.updateRestore(restoreId, OPEN_STATES, { recovery });
    if (updated) return;
    const restore = await this.deps.catalog.getRestore(restoreId);
    if (!restore) throw new RecoveryTaskError(RECOVERY_ERRORS.memberNotStarted, `${recovery.volume}: its restore ${restoreId} has no record`);
    await this.memberFinished({ ...restore, recovery });
  }

  private async answer(taskToken: string, member: Pick<RecoveryMemberPlan, 'volume' | 'role'>, progress: MemberProgress): Promise<void> {
    const callback = this.callback();
    const result: MemberResult = {
      volume: member.volume,
      role: member.role,
      outcome: progress.state === 'succeeded' ? 'succeeded' : progress.state === 'skipped' ? 'skipped' : 'failed',
      ...(progress.restoreId ? { restoreId: progress.restoreId } : {}),
      error: progress.error ?? null,
    };
    if (progress.state === 'succeeded') await callback.succeed(taskToken, result);
    else await callback.fail(taskToken, RECOVERY_ERRORS.memberFailed, progress.error ?? `${member.volume} ${progress.state}`);
  }

  private callback(): TaskCallback {
    if (!this.deps.callback) throw new Error('no task callback is configured: a recovery member cannot be answered');
    return this.deps.callback;
  }

  async memberFinished(restore: RestoreRecord): Promise<void> {
    const link = restore.recovery;
    if (!link) return;
    const record = await this.deps.catalog.getRecovery(link.id);
    const member = record ? members(record.plan).find((m) => m.volume === link.volume) : undefined;
    const progress = memberProgress(restore);
    // Recorded before the token is answered: the states after it (WaveEnded, Report) read it. Final
    // once: a member WaveEnded or Report already closed (its task timed out) keeps what the report says.
    if (record) await this.deps.catalog.updateRecoveryMember(link.id, link.volume, progress, { from: ['pending', 'running'] });
    // A member the recovery does not know (its record gone) still gets an answer: nothing may wait forever.
    await this.answer(link.taskToken, member ?? { volume: link.volume, role: 'critical' }, progress);
  }

  async waveEnded(input: WaveEnd): Promise<WaveVerdict> {
    const { recoveryId, wave } = input;
    let record = await this.deps.catalog.getRecovery(recoveryId);
    if (!record) return { recoveryId, wave, stop: true, reason: `no recovery ${recoveryId}` };
    const waveMembers = record.plan.waves.find((w) => w.wave === wave)?.members ?? [];
    const failed = new Set<string>();
    let closed = false;
    for (const raw of input.results) {
      const result = MemberResult.safeParse(raw);
      if (result.success) {
        if (result.data.outcome === 'failed') failed.add(result.data.volume);
        continue;
      }
      const caught = CaughtMemberFailure.safeParse(raw);
      if (!caught.success) continue; // an unknown shape: the member's own record decides below
      const { volume } = caught.data;
      const progress = record.members[volume];
      // Its restore reported (the answer is what failed): the record already says how it went.
      if (!progress || FINAL_MEMBER_STATES.includes(progress.state)) continue;
      // A member the restore never answered for (not started, timed out): its restore's own
      // record decides when it has ended; otherwise failed, saying where it may still run.
      const timedOut = caught.data.error.Error === 'States.Timeout' || caught.data.error.Error === 'States.HeartbeatTimeout';
      const change = await this.closing(record, volume, causeText(caught.data.error), timedOut);
      await this.deps.catalog.updateRecoveryMember(recoveryId, volume, change, { from: ['pending', 'running'] });
      closed = true;
    }
    if (closed) record = (await this.deps.catalog.getRecovery(recoveryId)) ?? record;
    const settled = record.members;
    const criticalFailed = waveMembers.filter((m) => m.role === 'critical' && (failed.has(m.volume) || settled[m.volume]?.state === 'failed'));
    if (criticalFailed.length === 0) return { recoveryId, wave, stop: false };
    const names = criticalFailed.map((m) => m.volume).join(', ');
    const reason = `not run: critical member ${names} of wave ${wave.toString()} failed`;
    for (const m of members(record.plan).filter((x) => x.wave > wave)) {
      await this.deps.catalog.updateRecoveryMember(recoveryId, m.volume, { state: 'skipped', error: reason }, { from: ['pending'] });
    }
    return { recoveryId, wave, stop: true, reason: `critical member ${names} of wave ${wave.toString()} failed: later waves do not run` };
  }

  async report(input: ReportInput): Promise<RecoveryReport> {
    const { recoveryId } = input;
    let record = await this.deps.catalog.getRecovery(recoveryId);
    if (!record) throw new RecoveryTaskError(RECOVERY_ERRORS.notRunnable, `no recovery ${recoveryId}`);
    // A retried Report: reported once; notified until the notification went out.
    if (record.report) return this.reportAgain(record, record.report);
    const error = input.error ? `${input.error.Error}: ${causeText(input.error)}` : undefined;
    record = await this.closeMembers(record, error ?? record.error ?? undefined);
    const outcome = recoveryOutcome(record, record.members, error);
    const endedAt = this.now();
    const report = recoveryReport(record, record.members, outcome, endedAt, error ?? record.error ?? undefined);
    const updated = await this.deps.catalog.updateRecovery(recoveryId, ['planned', 'launching', 'running', 'failed'], {
      state: outcome,
      endedAt: endedAt.toISOString(),
      report,
      error: error ?? record.error ?? null,
    });
    if (!updated) {
      const current = await this.deps.catalog.getRecovery(recoveryId);
      if (current?.report) return this.reportAgain(current, current.report);
      throw new Error(`recovery ${recoveryId} could not be recorded as ${outcome}`);
    }
    const { source, mode } = record.plan;
    if (mode === 'drill') await this.deps.catalog.recordRecoveryDrill(source, { recoveryId, at: report.endedAt, outcome, totalSeconds: report.totalSeconds });
    this.deps.metrics?.recoveryFinished({ source, mode, outcome, totalSeconds: report.totalSeconds });
    await this.notify(updated, report);
    return report;
  }

  /** A Report retried after its record became final: the drill's proof and the notification again, unless it was notified. */
  private async reportAgain(record: RecoveryRecord, report: RecoveryReport): Promise<RecoveryReport> {
    if (record.notifiedAt !== undefined) return report;
    const { source, mode } = record.plan;
    // Idempotent (the same recovery and time): the first attempt may have failed before recording it.
    if (mode === 'drill') {
      await this.deps.catalog.recordRecoveryDrill(source, {
        recoveryId: record.id,
        at: report.endedAt,
        outcome: report.outcome,
        totalSeconds: report.totalSeconds,
      });
    }
    await this.notify(record, report);
    return report;
  }

  /**
   * Sends a final record's report (topic, Slack) and records when. Never throws: the report is on
   * the record, and a failed execution (its alarm) would say a good recovery failed.
   */
  private async notify(record: RecoveryRecord, report: RecoveryReport): Promise<void> {
    const { notifier } = this.deps;
    if (!notifier) return;
    try {
      await notifier.restoreFinished({ restoreId: record.id, state: report.outcome, subject: reportSubject(report), text: report.text, record });
    } catch (e) {
      this.deps.warn?.(`recovery ${record.id} ended ${report.outcome}, but its report could not be sent (it is on the recovery’s record)`, e);
      return;
    }
    try {
      await this.deps.catalog.updateRecovery(record.id, FINAL_RECOVERY_STATES, { notifiedAt: this.now().toISOString() });
    } catch (e) {
      this.deps.warn?.(`recovery ${record.id}: its report was sent, but that could not be recorded (a retried Report sends it again)`, e);
    }
  }

  /**
   * What closes a member whose task ended without an answer (timed out, or the recovery ended
   * first): its restore's final state when the restore has ended; otherwise failed, saying which
   * restore may still be running and where.
   */
  private async closing(record: RecoveryRecord, volume: string, why: string, timedOut: boolean): Promise<Partial<MemberProgress>> {
    const endedAt = this.now().toISOString();
    const restoreId = record.members[volume]?.restoreId;
    if (!restoreId) return { state: 'failed', endedAt, error: timedOut && why.startsWith('States.') ? `no result within the member timeout (${why})` : why };
    const restore = await this.deps.catalog.getRestore(restoreId);
    if (restore && TERMINAL_STATES.includes(restore.state)) return memberProgress(restore);
    const member = members(record.plan).find((m) => m.volume === volume);
    const instance = restore?.instanceId || member?.instanceId || record.launchedInstanceId || 'its host';
    const still = `it may still be running on ${instance}: lifeboat status ${restoreId} --source ${record.plan.source}`;
    return {
      state: 'failed',
      endedAt,
      error: timedOut ? `no result from restore ${restoreId} within the member timeout; ${still}` : `${why}; no result from restore ${restoreId}; ${still}`,
    };
  }

  /** Every member final before the report: not run → skipped (saying why), still running → failed. */
  private async closeMembers(record: RecoveryRecord, error: string | undefined): Promise<RecoveryRecord> {
    const all = members(record.plan);
    const critical = all.find((m) => m.role === 'critical' && record.members[m.volume]?.state === 'failed');
    let current = record;
    for (const m of all) {
      const p = record.members[m.volume];
      if (p && FINAL_MEMBER_STATES.includes(p.state)) continue;
      const change: Partial<MemberProgress> =
        p?.state === 'running'
          ? await this.closing(record, m.volume, `the recovery ended before this member's restore reported${error ? ` (${error})` : ''}`, true)
          : {
              state: 'skipped',
              error: critical
                ? `not run: critical member ${critical.volume} of wave ${critical.wave.toString()} failed`
                : `not run: ${error ?? 'the recovery ended first'}`,
            };
      const updated = await this.deps.catalog.updateRecoveryMember(record.id, m.volume, change, { from: ['pending', 'running'] });
      // A recovery already final (a drill that could not run) keeps its record: the report still says it.
      current = updated ?? { ...current, members: { ...current.members, [m.volume]: { ...p, ...change } as MemberProgress } };
    }
    return current;
  }
}

const members = (plan: RecoveryPlan): RecoveryMemberPlan[] => plan.waves.flatMap((w) => w.members);

/** A member's progress from its restore's final record (cancelled counts as failed). */
function memberProgress(restore: RestoreRecord): MemberProgress {
  const succeeded = restore.state === 'succeeded';
  return {
    state: succeeded ? 'succeeded' : 'failed',
    restoreId: restore.id,
    endedAt: restore.updatedAt,
    ...(restore.phases ? { phases: restore.phases } : {}),
    ...(restore.totalSeconds === undefined ? {} : { totalSeconds: restore.totalSeconds }),
    error: succeeded ? null : (restore.error ?? `the ${restore.mode} ended ${restore.state}`),
    ...(restore.preservedVolume === undefined ? {} : { preservedVolume: restore.preservedVolume }),
    ...(restore.verifyOutput === undefined ? {} : { verifyOutput: restore.verifyOutput }),
  };
}

function refuseProblems(plan: RecoveryPlan): void {
  if (plan.problems.length) {
    throw new ClientError(422, `the recovery of ${plan.source} cannot start: ${plan.problems.join('; ')}`, { problems: plan.problems });
  }
}

/** A new record: every member pending, except an optional one without an archive (skipped). */
function newRecord(
  id: string,
  plan: RecoveryPlan,
  requestedBy: string,
  now: Date,
  fields: Pick<RecoveryRecord, 'state'> & Partial<Pick<RecoveryRecord, 'startedAt' | 'error' | 'notifySlack'>>,
): RecoveryRecord {
  const progress: Record<string, MemberProgress> = {};
  for (const m of members(plan)) {
    progress[m.volume] = m.archive ? { state: 'pending' } : { state: 'skipped', error: `skipped: no archive of ${plan.source}/${m.volume} to restore` };
  }
  return {
    id,
    requestedBy,
    plan,
    members: progress,
    createdAt: now.toISOString(),
    updatedAt: now.toISOString(),
    ...fields,
  };
}

/** The execution's state from a record: the waves of members still to run, and the launch when the target is a template. */
function prepared(record: RecoveryRecord): PreparedRecovery {
  const target = record.plan.target;
  return {
    recoveryId: record.id,
    ...('launchTemplate' in target
      ? { launch: { id: target.launchTemplate.id, ...(target.launchTemplate.version ? { version: target.launchTemplate.version } : {}) } }
      : {}),
    waves: record.plan.waves
      .map((w) => ({
        wave: w.wave,
        members: w.members.filter((m) => record.members[m.volume]?.state !== 'skipped').map((m) => ({ volume: m.volume, role: m.role })),
      }))
      .filter((w) => w.members.length > 0),
    parallel: record.plan.parallel,
  };
}

/** The plan of a drill that could not even be planned (no protected volumes): no members, one problem. */
function unplanned(request: RecoveryRequest, now: Date, problem: string): RecoveryPlan {
  return {
    source: request.source,
    mode: 'drill',
    target: request.target,
    ifVolumeExists: request.ifVolumeExists,
    parallel: request.parallel,
    plannedAt: now.toISOString(),
    waves: [],
    predicted: { seconds: null, basis: 'not planned' },
    problems: [problem],
    warnings: [],
  };
}
