import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ArchiveStore } from '#core/archive-store.ts';
import { DynamoDbCatalog } from '#core/catalog/dynamodb-catalog.ts';
import type { ArchiveEntry, RestoreRecord } from '#core/catalog/model.ts';
import { startLocalDynamo, type LocalDynamo } from '#core/local/dynamodb.ts';
import { ProtectionPolicy, restorePolicyFor } from '#core/protection.ts';
import { RECOVERY_ERRORS, RecoveryRequest, type MemberResult, type RecoveryRecord, type TaskCallback } from '#core/recovery/model.ts';
import { RecoveryService, newRecoveryId, type RecoveryServiceDeps } from '#core/recovery/service.ts';
import { OPEN_STATES, completeRestore, type CompletionDeps } from '#core/restore/completion.ts';
import type { CommandRunner, InstanceDirectory, InvocationOutput, RestoreNotification, SendRestore } from '#core/restore/ports.ts';
import { RestoreService } from '#core/restore/service.ts';
import { loadDocument } from '#core/runbooks/document.ts';
import { SlackNotifier } from '#core/adapters/slack.ts';
import type { SlackMessage } from '#core/slack/mrkdwn.ts';
import { resultLine } from '../support/restores.ts';

const HOST = 'i-0123456789abcdef0';
const LAUNCHED = 'i-0aaaaaaaaaaaaaaa1';
const SIZE = 50_000_000;

/** SSM as far as the restore service and completion see it: records what is sent, answers the outputs a test sets. */
class FakeRunner implements CommandRunner {
  readonly sent: SendRestore[] = [];
  readonly outputs = new Map<string, InvocationOutput>();
  sendRestore(request: SendRestore): Promise<string> {
    this.sent.push(request);
    return Promise.resolve(`cmd-${this.sent.length.toString()}`);
  }
  invocationOutput(commandId: string): Promise<InvocationOutput> {
    return Promise.resolve(this.outputs.get(commandId) ?? { status: 'InProgress', stdout: '' });
  }
  cancel(): Promise<void> {
    return Promise.resolve();
  }
  commandFor(): Promise<string | undefined> {
    return Promise.resolve(undefined);
  }
}

class FakeInstances implements InstanceDirectory {
  readonly offline = new Set<string>();
  status(instanceId: string) {
    const online = !this.offline.has(instanceId);
    return Promise.resolve({ online, pingStatus: online ? 'Online' : 'ConnectionLost', sources: ['*'] });
  }
}

/** Step Functions' side of the task tokens: every answer, in order. */
class FakeCallback implements TaskCallback {
  readonly answers: { token: string; output?: MemberResult; error?: string; cause?: string }[] = [];
  succeed(token: string, output: MemberResult): Promise<void> {
    this.answers.push({ token, output });
    return Promise.resolve();
  }
  fail(token: string, error: string, cause: string): Promise<void> {
    this.answers.push({ token, error, cause });
    return Promise.resolve();
  }
}

const store: ArchiveStore = {
  head: () => Promise.resolve(undefined),
  getText: () => Promise.resolve(undefined),
  presignGet: (key) => Promise.resolve(`https://bucket.s3.eu-west-1.amazonaws.com/${key}?X-Amz-Signature=x`),
  listKeys: async function* () {},
};

const protect = (volume: string, extra: Record<string, unknown> = {}): ProtectionPolicy =>
  ProtectionPolicy.parse({ source: 'db1', volume, drillHost: { instanceId: HOST }, rpoMinutes: 60, containerImage: 'postgres:16', ...extra });

/** db1: pgdata (wave 1, critical), cache (wave 1, optional), app (after pgdata: wave 2). */
const PROTECT = [
  protect('pgdata', { recovery: { container: 'pg' } }),
  protect('cache', { recovery: { role: 'optional' } }),
  protect('app', { recovery: { after: ['pgdata'], container: 'app' } }),
];

describe('RecoveryService over the real catalog (DynamoDB-compatible server) and restore service; SSM, Step Functions faked', () => {
  let dynamo: LocalDynamo;
  let catalog: DynamoDbCatalog;
  let runner: FakeRunner;
  let instances: FakeInstances;
  let callback: FakeCallback;
  let restores: RestoreService;
  let service: RecoveryService;
  let completion: CompletionDeps;
  let clock: Date;
  let started: string[];
  let notified: RestoreNotification[];
  let finished: { source: string; mode: string; outcome: string; totalSeconds: number }[];
  let restoreMetrics: string[];
  let launched: { templateId: string; tags: Readonly<Record<string, string>>; clientToken: string }[];
  let archives: Record<string, ArchiveEntry>;

  const tick = (seconds: number): void => {
    clock = new Date(clock.getTime() + seconds * 1000);
  };

  beforeAll(async () => {
    dynamo = await startLocalDynamo();
  });
  afterAll(async () => {
    await dynamo.close();
  });

  async function build(extra: Partial<RecoveryServiceDeps> = {}, protectList = PROTECT): Promise<void> {
    catalog = new DynamoDbCatalog(dynamo.doc, await dynamo.createCatalogTable());
    runner = new FakeRunner();
    instances = new FakeInstances();
    callback = new FakeCallback();
    clock = new Date('2026-12-01T12:00:00.000Z');
    started = [];
    notified = [];
    finished = [];
    restoreMetrics = [];
    launched = [];
    const now = (): Date => clock;
    restores = new RestoreService(
      { catalog, store, runner, instances, now },
      { document: loadDocument('restore-volume'), helperImage: 'local/lifeboat-helper:1', policy: restorePolicyFor(['postgres'], protectList) },
    );
    const notifier = {
      restoreFinished: (n: RestoreNotification) => {
        notified.push(n);
        return Promise.resolve();
      },
    };
    service = new RecoveryService({
      catalog,
      restores,
      instances,
      protect: protectList,
      engine: {
        start: (id) => {
          started.push(id);
          return Promise.resolve(`arn:aws:states:eu-west-1:123456789012:execution:recovery:${id}`);
        },
      },
      callback,
      notifier,
      metrics: { recoveryFinished: (v) => finished.push(v) },
      launcher: {
        launch: (input) => {
          launched.push(input);
          return Promise.resolve(LAUNCHED);
        },
      },
      launchTags: { 'lifeboat:managed': 'true', 'lifeboat:sources': 'not this' },
      now,
      ...extra,
    });
    completion = { catalog, runner, recovery: service, notifier, metrics: { restoreFinished: (m) => restoreMetrics.push(m.outcome) }, now };
    archives = {};
    for (const v of ['pgdata', 'cache', 'app']) {
      const takenAt = '2026-12-01T11:00:00.000Z';
      const entry: ArchiveEntry = {
        key: `archives/db1/${v}/20261201T110000Z.tar.zst`,
        source: 'db1',
        volume: v,
        takenAt,
        compression: 'zstd',
        size: SIZE,
        sha256: 'a'.repeat(64),
        catalogedAt: takenAt,
      };
      await catalog.putArchive(entry);
      archives[v] = entry;
    }
  }

  /** The host finishing the restore sent for a volume, as the completion event reports it. */
  async function hostFinishes(volume: string, outcome: 'succeeded' | 'failed', seconds = 20): Promise<void> {
    const sent = runner.sent.find((s) => s.parameters.VolumeName === volume || (s.parameters.Mode === 'drill' && s.comment.includes(volume)));
    const index = runner.sent.findIndex((s) => s === sent);
    if (!sent) throw new Error(`nothing was sent for ${volume}`);
    const commandId = `cmd-${(index + 1).toString()}`;
    tick(seconds);
    const mode = sent.parameters.Mode === 'drill' ? 'drill' : 'restore';
    const stdout = resultLine(outcome, {
      bytes: SIZE,
      mode,
      phases: { preflight: 1, download: seconds - 6, extract: 2, swap: 0, start: 2, verify: 1 },
      totalSeconds: seconds,
    });
    runner.outputs.set(commandId, { status: outcome === 'succeeded' ? 'Success' : 'Failed', stdout });
    await completeRestore(completion, { commandId, instanceId: sent.instanceId, status: outcome === 'succeeded' ? 'Success' : 'Failed' });
  }

  /**
   * What the state machine does with a prepared recovery: wave by wave, start every member (its
   * task token `token-<volume>-<n>`), let the host finish each as `outcomes` says, collect the
   * answers (a failure through MemberFailed's {volume, role, error}), WaveEnded, then Report.
   */
  async function run(recoveryId: string, outcomes: Record<string, 'succeeded' | 'failed'> = {}) {
    const prepared = await service.prepare({ recoveryId });
    const verdicts = [];
    for (const wave of prepared.waves) {
      const results: unknown[] = [];
      const sentBefore = callback.answers.length;
      const runningNow: string[] = [];
      for (const m of wave.members) {
        try {
          await service.startMember({ recoveryId, volume: m.volume, taskToken: `token-${m.volume}` });
          runningNow.push(m.volume);
        } catch (e) {
          const err = e as Error;
          results.push({ volume: m.volume, role: m.role, error: { Error: err.name, Cause: err.message } });
        }
      }
      for (const v of runningNow) await hostFinishes(v, outcomes[v] ?? 'succeeded');
      for (const a of callback.answers.slice(sentBefore)) {
        const m = wave.members.find((x) => a.token === `token-${x.volume}`);
        results.push(a.output ?? { volume: m?.volume, role: m?.role, error: { Error: a.error, Cause: a.cause } });
      }
      const verdict = await service.waveEnded({ recoveryId, wave: wave.wave, results });
      verdicts.push(verdict);
      if (verdict.stop) break;
    }
    const report = await service.report({ recoveryId });
    return { prepared, verdicts, report, record: await service.get(recoveryId) };
  }

  const request = (fields: Record<string, unknown> = {}): RecoveryRequest => RecoveryRequest.parse({ source: 'db1', target: { instanceId: HOST }, ...fields });

  beforeEach(async () => {
    await build();
  });

  it('recovers every member in wave order, each restore carrying its recovery and token, and reports once', async () => {
    const start = await service.start(request(), 'arn:aws:iam::123456789012:user/oncall');
    expect(start.recoveryId).toMatch(/^rc-20261201120000-[a-f0-9]{8}$/);
    expect(started).toEqual([start.recoveryId]);
    expect(start.executionArn).toContain(start.recoveryId);
    expect(start.plan.waves.map((w) => w.members.map((m) => m.volume))).toEqual([['cache', 'pgdata'], ['app']]);

    const { report, record, prepared } = await run(start.recoveryId);
    expect(prepared).toEqual({
      recoveryId: start.recoveryId,
      parallel: 4,
      waves: [
        {
          wave: 1,
          members: [
            { volume: 'cache', role: 'optional' },
            { volume: 'pgdata', role: 'critical' },
          ],
        },
        { wave: 2, members: [{ volume: 'app', role: 'critical' }] },
      ],
    });
    // Wave 2 was sent only after wave 1 had ended.
    expect(runner.sent.map((s) => s.parameters.VolumeName)).toEqual(['cache', 'pgdata', 'app']);
    expect(Date.parse(record.members.app?.startedAt ?? '')).toBeGreaterThanOrEqual(Date.parse(record.members.pgdata?.endedAt ?? ''));
    expect(record.state).toBe('succeeded');
    expect(record.members.pgdata).toMatchObject({ state: 'succeeded', totalSeconds: 20, phases: { download: 14 } });
    expect(report.outcome).toBe('succeeded');
    expect(report.members.map((m) => [m.volume, m.outcome, m.rpoSeconds, m.rtoSeconds])).toEqual([
      ['cache', 'succeeded', 3600, 20],
      ['pgdata', 'succeeded', 3600, 40],
      ['app', 'succeeded', 3600, 20],
    ]);
    expect(report.totalSeconds).toBe(60);
    expect(report.text).toContain('Wave 2 app (critical): succeeded; archive archives/db1/app/20261201T110000Z.tar.zst');

    // Each member's restore: requested by the recovery, carrying its token; the token never leaves through get().
    const pg = await catalog.getRestore(record.members.pgdata?.restoreId ?? '');
    expect(pg).toMatchObject({
      requestedBy: `recovery:${start.recoveryId}`,
      containerName: 'pg',
      recovery: { id: start.recoveryId, volume: 'pgdata', taskToken: 'token-pgdata' },
    });
    expect((await restores.get(pg?.id ?? '')).recovery).toEqual({ id: start.recoveryId, volume: 'pgdata', taskToken: '' });
    expect(callback.answers.map((a) => [a.token, a.output?.outcome])).toEqual([
      ['token-cache', 'succeeded'],
      ['token-pgdata', 'succeeded'],
      ['token-app', 'succeeded'],
    ]);
    // One notification (the recovery's report), but every member's metrics and timings count.
    expect(notified.map((n) => [n.restoreId, n.state])).toEqual([[start.recoveryId, 'succeeded']]);
    expect(notified[0]?.subject).toBe(`Lifeboat recovery ${start.recoveryId} succeeded: db1 (3 of 3 volumes back)`);
    expect(restoreMetrics).toEqual(['succeeded', 'succeeded', 'succeeded']);
    expect(finished).toEqual([{ source: 'db1', mode: 'restore', outcome: 'succeeded', totalSeconds: 60 }]);
    expect((await catalog.restoreRates('db1', 'pgdata')).map((s) => [s.bytes, s.totalSeconds, s.mode])).toEqual([[SIZE, 20, 'restore']]);

    // A retried Report reports nothing twice.
    expect(await service.report({ recoveryId: start.recoveryId })).toEqual(report);
    expect(notified).toHaveLength(1);
  });

  it('a critical member of wave 1 that fails stops the recovery: later members are skipped and never sent, the report says stopped', async () => {
    const { recoveryId } = await service.start(request(), 'oncall');
    const { verdicts, report, record } = await run(recoveryId, { pgdata: 'failed' });
    expect(verdicts).toEqual([{ recoveryId, wave: 1, stop: true, reason: 'critical member pgdata of wave 1 failed: later waves do not run' }]);
    expect(runner.sent.map((s) => s.parameters.VolumeName)).toEqual(['cache', 'pgdata']);
    expect(callback.answers.find((a) => a.token === 'token-pgdata')).toEqual({
      token: 'token-pgdata',
      error: RECOVERY_ERRORS.memberFailed,
      cause: 'extract failed: Unexpected EOF',
    });
    expect(record.state).toBe('stopped');
    expect(record.members.pgdata).toMatchObject({ state: 'failed', error: 'extract failed: Unexpected EOF' });
    expect(record.members.app).toEqual({ state: 'skipped', error: 'not run: critical member pgdata of wave 1 failed' });
    expect(record.members.cache?.state).toBe('succeeded');
    expect(report.outcome).toBe('stopped');
    expect(report.text).toContain(
      'Wave 2 app (critical): skipped; archive archives/db1/app/20261201T110000Z.tar.zst, RPO 60.0 min; error: not run: critical member pgdata of wave 1 failed.',
    );
    expect(notified.map((n) => n.state)).toEqual(['stopped']);
    // A failed restore leaves no rate sample; the succeeded one does.
    expect(await catalog.restoreRates('db1', 'pgdata')).toEqual([]);
    expect(await catalog.restoreRates('db1', 'cache')).toHaveLength(1);
  });

  it('an optional member that fails does not stop the recovery: later waves run, the report says partial', async () => {
    const { recoveryId } = await service.start(request(), 'oncall');
    const { verdicts, report } = await run(recoveryId, { cache: 'failed' });
    expect(verdicts.map((v) => v.stop)).toEqual([false, false]);
    expect(runner.sent.map((s) => s.parameters.VolumeName)).toEqual(['cache', 'pgdata', 'app']);
    expect(report.outcome).toBe('partial');
    expect(report.members.find((m) => m.volume === 'cache')).toMatchObject({ outcome: 'failed', error: 'extract failed: Unexpected EOF' });
  });

  it('a member its restore service refuses (host gone offline since planning) fails without reaching the host; critical, it stops the recovery', async () => {
    const { recoveryId } = await service.start(request(), 'oncall');
    await service.prepare({ recoveryId });
    instances.offline.add(HOST);
    const refused = service.startMember({ recoveryId, volume: 'pgdata', taskToken: 't1' });
    await expect(refused).rejects.toMatchObject({
      name: RECOVERY_ERRORS.memberNotStarted,
      message: expect.stringMatching(/^pgdata: instance i-0123456789abcdef0 is not online/) as unknown,
    });
    expect(runner.sent).toEqual([]);
    expect((await service.get(recoveryId)).members.pgdata).toMatchObject({ state: 'failed', error: expect.stringContaining('not online') as unknown });
    const verdict = await service.waveEnded({
      recoveryId,
      wave: 1,
      results: [
        { volume: 'pgdata', role: 'critical', error: { Error: RECOVERY_ERRORS.memberNotStarted, Cause: '{"errorMessage":"pgdata: offline"}' } },
        'garbage',
      ],
    });
    expect(verdict.stop).toBe(true);
    const report = await service.report({ recoveryId });
    expect(report.outcome).toBe('stopped');
    expect(report.members.find((m) => m.volume === 'cache')).toMatchObject({ outcome: 'skipped' });
  });

  it('a retried RestoreMember never starts a second restore: the running restore answers the new token', async () => {
    const { recoveryId } = await service.start(request(), 'oncall');
    await service.prepare({ recoveryId });
    await service.startMember({ recoveryId, volume: 'pgdata', taskToken: 'first' });
    await service.startMember({ recoveryId, volume: 'pgdata', taskToken: 'second' });
    expect(runner.sent).toHaveLength(1);
    await hostFinishes('pgdata', 'succeeded');
    expect(callback.answers.map((a) => a.token)).toEqual(['second']);
    // And once it is over, a third attempt is answered at once the same way.
    await service.startMember({ recoveryId, volume: 'pgdata', taskToken: 'third' });
    expect(runner.sent).toHaveLength(1);
    expect(callback.answers.map((a) => [a.token, a.output?.outcome])).toEqual([
      ['second', 'succeeded'],
      ['third', 'succeeded'],
    ]);
    // A duplicate completion event answers again (harmless) and changes nothing.
    await completeRestore(completion, { commandId: 'cmd-1', instanceId: HOST, status: 'Success' });
    expect((await service.get(recoveryId)).members.pgdata?.state).toBe('succeeded');
    expect(notified).toEqual([]);
  });

  it('a retry after the first attempt sent the restore but could not record it: the lock’s holder is that restore, which answers the new token', async () => {
    const { recoveryId } = await service.start(request(), 'oncall');
    await service.prepare({ recoveryId });
    const original = catalog.updateRecoveryMember.bind(catalog);
    catalog.updateRecoveryMember = (id, volume, progress, options) =>
      progress.restoreId === undefined ? original(id, volume, progress, options) : Promise.reject(new Error('throttled'));
    await expect(service.startMember({ recoveryId, volume: 'pgdata', taskToken: 'first' })).rejects.toThrow('throttled');
    catalog.updateRecoveryMember = original;
    await service.startMember({ recoveryId, volume: 'pgdata', taskToken: 'second' });
    expect(runner.sent).toHaveLength(1);
    await hostFinishes('pgdata', 'succeeded');
    expect(callback.answers.map((a) => [a.token, a.output?.outcome])).toEqual([['second', 'succeeded']]);
    expect((await service.get(recoveryId)).members.pgdata).toMatchObject({ state: 'succeeded', restoreId: expect.stringMatching(/^r-/) as unknown });
  });

  it('start refuses a plan with problems (422 listing them) and records and sends nothing', async () => {
    await catalog.markArchiveDeleted(archives.pgdata?.key ?? '', '2026-12-01T11:30:00.000Z');
    const refused = service.start(request(), 'oncall');
    await expect(refused).rejects.toMatchObject({
      statusCode: 422,
      message: 'the recovery of db1 cannot start: pgdata: no archive of db1/pgdata is in the catalog',
    });
    expect(started).toEqual([]);
    expect(runner.sent).toEqual([]);
  });

  it('startPlan runs exactly the confirmed plan, and refuses (409 naming them) archives gone since', async () => {
    const plan = await service.plan(request());
    await catalog.putArchive({
      ...(archives.pgdata as ArchiveEntry),
      key: 'archives/db1/pgdata/20261201T115900Z.tar.zst',
      takenAt: '2026-12-01T11:59:00.000Z',
    });
    const { recoveryId } = await service.startPlan(plan, 'slack:T1/U1', {
      notifySlack: { responseUrl: 'https://hooks.slack.com/actions/x', channelId: 'C1', userId: 'U1' },
    });
    await run(recoveryId);
    expect(runner.sent.map((s) => s.parameters.ExpectedArchiveBytes)).toHaveLength(3);
    const pg = await catalog.getRestore((await service.get(recoveryId)).members.pgdata?.restoreId ?? '');
    expect(pg?.archiveKey).toBe(archives.pgdata?.key); // the planned archive, not the newer one
    expect((await service.get(recoveryId)).notifySlack).toBeUndefined();
    expect((await catalog.getRecovery(recoveryId))?.notifySlack?.channelId).toBe('C1');

    await catalog.markArchiveDeleted(archives.app?.key ?? '', '2026-12-01T12:00:00.000Z');
    await expect(service.startPlan(plan, 'slack:T1/U1')).rejects.toMatchObject({
      statusCode: 409,
      message: expect.stringContaining(`app: ${archives.app?.key ?? ''} was deleted at 2026-12-01T12:00:00.000Z`) as unknown,
    });
  });

  it('a launch template target launches a tagged host (idempotent), waits for it online, and restores every member there', async () => {
    const { recoveryId } = await service.start(request({ target: { launchTemplate: { id: 'lt-0123456789abcdef0', version: '3' } } }), 'oncall');
    const prepared = await service.prepare({ recoveryId });
    expect(prepared.launch).toEqual({ id: 'lt-0123456789abcdef0', version: '3' });
    expect((await service.get(recoveryId)).state).toBe('launching');
    const check = await service.launch({ recoveryId, launch: { id: 'lt-0123456789abcdef0', version: '3' } });
    expect(check).toEqual({ recoveryId, instanceId: LAUNCHED, attempts: 0 });
    expect(await service.launch({ recoveryId, launch: { id: 'lt-0123456789abcdef0' } })).toEqual(check);
    expect(launched).toEqual([
      {
        templateId: 'lt-0123456789abcdef0',
        version: '3',
        clientToken: recoveryId,
        tags: { 'lifeboat:managed': 'true', Name: 'lifeboat recovery of db1', 'lifeboat:sources': 'db1', 'lifeboat:recovery': recoveryId },
      },
    ]);
    instances.offline.add(LAUNCHED);
    expect(await service.checkHost(check)).toEqual({ ...check, attempts: 1, online: false });
    instances.offline.delete(LAUNCHED);
    expect(await service.checkHost({ ...check, attempts: 1 })).toEqual({ ...check, attempts: 2, online: true });
    expect((await service.get(recoveryId)).state).toBe('running');
    await service.startMember({ recoveryId, volume: 'pgdata', taskToken: 't' });
    expect(runner.sent[0]?.instanceId).toBe(LAUNCHED);
  });

  it('a member whose task timed out is closed from its restore: ended → its outcome; still open → failed naming restore, host and status (final once)', async () => {
    const { recoveryId } = await service.start(request(), 'oncall');
    await service.prepare({ recoveryId });
    await service.startMember({ recoveryId, volume: 'cache', taskToken: 't-cache' });
    await service.startMember({ recoveryId, volume: 'pgdata', taskToken: 't-pgdata' });
    const ids = (await service.get(recoveryId)).members;
    const cacheId = ids.cache?.restoreId ?? '';
    const pgId = ids.pgdata?.restoreId ?? '';
    // cache's restore ended on the host and was recorded, but its member's answer never came back.
    await catalog.updateRestore(cacheId, OPEN_STATES, { state: 'succeeded', totalSeconds: 12, phases: { download: 8 } });
    tick(3600);
    const verdict = await service.waveEnded({
      recoveryId,
      wave: 1,
      results: [
        { volume: 'cache', role: 'optional', error: { Error: 'States.Timeout' } },
        { volume: 'pgdata', role: 'critical', error: { Error: 'States.Timeout' } },
      ],
    });
    expect(verdict.stop).toBe(true);
    let record = await service.get(recoveryId);
    expect(record.members.cache).toMatchObject({ state: 'succeeded', restoreId: cacheId, totalSeconds: 12, phases: { download: 8 }, error: null });
    const stillRunning = `no result from restore ${pgId} within the member timeout; it may still be running on ${HOST}: lifeboat status ${pgId} --source db1`;
    expect(record.members.pgdata).toMatchObject({ state: 'failed', restoreId: pgId, error: stillRunning });
    // The restore ending later answers its (expired) token but never changes a member already closed.
    await hostFinishes('pgdata', 'succeeded');
    record = await service.get(recoveryId);
    expect(record.members.pgdata).toMatchObject({ state: 'failed', error: stillRunning });
    const report = await service.report({ recoveryId });
    expect(report.outcome).toBe('stopped');
    expect(report.text).toContain(`error: ${stillRunning}.`);
  });

  it('Report closes a running member from its restore too: ended → its outcome, open → where it may still run', async () => {
    const { recoveryId } = await service.start(request(), 'oncall');
    await service.prepare({ recoveryId });
    await service.startMember({ recoveryId, volume: 'cache', taskToken: 't-cache' });
    await service.startMember({ recoveryId, volume: 'pgdata', taskToken: 't-pgdata' });
    const ids = (await service.get(recoveryId)).members;
    await catalog.updateRestore(ids.pgdata?.restoreId ?? '', OPEN_STATES, { state: 'cancelled' });
    const report = await service.report({ recoveryId, error: { Error: 'States.Timeout', Cause: 'the execution timed out' } });
    const record = await service.get(recoveryId);
    expect(record.members.pgdata).toMatchObject({ state: 'failed', error: 'the restore ended cancelled' });
    const cacheId = ids.cache?.restoreId ?? '';
    expect(record.members.cache).toMatchObject({
      state: 'failed',
      error: `no result from restore ${cacheId} within the member timeout; it may still be running on ${HOST}: lifeboat status ${cacheId} --source db1`,
    });
    expect(record.members.app?.state).toBe('skipped');
    expect(report.outcome).toBe('stopped');
  });

  it('a report that cannot be sent once the record is final does not fail Report (warned); a retried Report sends it, once', async () => {
    const warned: [string, string][] = [];
    const sent: RestoreNotification[] = [];
    let failures = 1;
    await build({
      notifier: {
        restoreFinished: (n) => {
          if (failures-- > 0) return Promise.reject(new Error('SNS: throttled'));
          sent.push(n);
          return Promise.resolve();
        },
      },
      warn: (message, e) => warned.push([message, (e as Error).message]),
    });
    const { recoveryId } = await service.start(request(), 'oncall');
    const { report, record } = await run(recoveryId);
    expect(report.outcome).toBe('succeeded');
    expect(record.state).toBe('succeeded');
    expect(record.notifiedAt).toBeUndefined();
    expect(warned).toEqual([[`recovery ${recoveryId} ended succeeded, but its report could not be sent (it is on the recovery’s record)`, 'SNS: throttled']]);
    expect(sent).toEqual([]);
    // The Report retried (or re-run): final, never notified → notified now, and recorded.
    tick(5);
    expect(await service.report({ recoveryId })).toEqual(report);
    expect(sent.map((n) => [n.restoreId, n.state, n.subject, n.text])).toEqual([
      [recoveryId, 'succeeded', `Lifeboat recovery ${recoveryId} succeeded: db1 (3 of 3 volumes back)`, report.text],
    ]);
    expect((await service.get(recoveryId)).notifiedAt).toBe(clock.toISOString());
    await service.report({ recoveryId });
    expect(sent).toHaveLength(1);
    expect(finished).toHaveLength(1);
  });

  it('launch templates: one the stack may not launch from is refused at start, at confirm and at Launch; the report names the replacement left running', async () => {
    await build({ launchTemplates: ['lt-0123456789abcdef0'] });
    const problem =
      'target.launchTemplate.id: lt-0fffffffffffffff0 is not a launch template this stack may launch from (recoveryLaunchTemplates: lt-0123456789abcdef0)';
    await expect(service.start(request({ target: { launchTemplate: { id: 'lt-0fffffffffffffff0' } } }), 'oncall')).rejects.toMatchObject({
      statusCode: 422,
      message: `the recovery of db1 cannot start: ${problem}`,
    });
    const plan = await service.plan(request({ target: { launchTemplate: { id: 'lt-0123456789abcdef0' } } }));
    expect(plan.problems).toEqual([]);
    expect(plan.warnings).toContain('members are checked against the replacement only after it is launched and online');
    await expect(service.startPlan({ ...plan, target: { launchTemplate: { id: 'lt-0fffffffffffffff0' } } }, 'slack:T1/U1')).rejects.toMatchObject({
      statusCode: 422,
      message: `the recovery of db1 cannot start: ${problem}`,
    });
    expect(started).toEqual([]);

    const { recoveryId } = await service.startPlan(plan, 'slack:T1/U1');
    await service.prepare({ recoveryId });
    await expect(service.launch({ recoveryId, launch: { id: 'lt-0fffffffffffffff0' } })).rejects.toMatchObject({
      name: RECOVERY_ERRORS.notRunnable,
      message: problem,
    });
    expect(launched).toEqual([]);
    const check = await service.launch({ recoveryId, launch: { id: 'lt-0123456789abcdef0' } });
    await service.checkHost(check);
    const { report } = await run(recoveryId);
    expect(report.outcome).toBe('succeeded');
    expect(report.launchedInstanceId).toBe(LAUNCHED);
    expect(report.text.split('\n')[1]).toBe(`Replacement ${LAUNCHED} launched from lt-0123456789abcdef0; it is left running.`);
  });

  it('Prepare refuses an unknown recovery and one that already ran', async () => {
    await expect(service.prepare({ recoveryId: 'rc-20261201000000-00000000' })).rejects.toMatchObject({ name: RECOVERY_ERRORS.notRunnable });
    const { recoveryId } = await service.start(request(), 'oncall');
    const first = await service.prepare({ recoveryId });
    expect(await service.prepare({ recoveryId })).toEqual(first); // a retried Prepare
    await service.startMember({ recoveryId, volume: 'pgdata', taskToken: 't' });
    await expect(service.prepare({ recoveryId })).rejects.toMatchObject({ name: RECOVERY_ERRORS.notRunnable });
  });

  it('an execution that fails before any member ran is reported as failed, naming the error', async () => {
    const { recoveryId } = await service.start(request({ target: { launchTemplate: { id: 'lt-0123456789abcdef0' } } }), 'oncall');
    await service.prepare({ recoveryId });
    const report = await service.report({ recoveryId, error: { Error: RECOVERY_ERRORS.hostNotOnline, Cause: 'i-0aaaaaaaaaaaaaaa1 never came online' } });
    expect(report.outcome).toBe('failed');
    expect(report.text).toContain('Error: Lifeboat.HostNotOnline: i-0aaaaaaaaaaaaaaa1 never came online');
    expect((await service.get(recoveryId)).members.pgdata).toEqual({
      state: 'skipped',
      error: 'not run: Lifeboat.HostNotOnline: i-0aaaaaaaaaaaaaaa1 never came online',
    });
  });

  it('ids are rc-<yyyymmddhhmmss>-<8 hex>', () => {
    expect(newRecoveryId(new Date('2026-12-01T05:06:07.890Z'))).toMatch(/^rc-20261201050607-[a-f0-9]{8}$/);
  });

  describe('scheduled recovery drills', () => {
    it('a drill host found by tag: every member drilled under throwaway names; recorded as provably recoverable', async () => {
      await build({
        recoveryDrills: [{ source: 'db1', schedule: 'rate(7 days)', drillHost: { tag: { key: 'lifeboat:drill', value: 'yes' } } }],
        findHost: (key, value) => Promise.resolve(key === 'lifeboat:drill' && value === 'yes' ? HOST : undefined),
      });
      const prepared = await service.prepare({ scheduledDrill: { source: 'db1' } });
      const record = (await catalog.getRecovery(prepared.recoveryId)) as RecoveryRecord;
      expect(record).toMatchObject({
        requestedBy: 'schedule:lifeboat-recovery-drill',
        state: 'running',
        plan: { mode: 'drill', target: { instanceId: HOST } },
      });
      for (const wave of prepared.waves) {
        for (const m of wave.members) await service.startMember({ recoveryId: prepared.recoveryId, volume: m.volume, taskToken: `token-${m.volume}` });
        for (const [i, s] of runner.sent.entries()) {
          if (runner.outputs.has(`cmd-${(i + 1).toString()}`)) continue;
          tick(30);
          runner.outputs.set(`cmd-${(i + 1).toString()}`, {
            status: 'Success',
            stdout: resultLine('succeeded', { bytes: SIZE, mode: 'drill', totalSeconds: 30 }),
          });
          await completeRestore(completion, { commandId: `cmd-${(i + 1).toString()}`, instanceId: s.instanceId, status: 'Success' });
        }
        await service.waveEnded({ recoveryId: prepared.recoveryId, wave: wave.wave, results: callback.answers.map((a) => a.output) });
      }
      expect(runner.sent.every((s) => s.parameters.Mode === 'drill' && s.parameters.VolumeName?.startsWith('lifeboat-drill-'))).toBe(true);
      const report = await service.report({ recoveryId: prepared.recoveryId });
      expect(report.outcome).toBe('succeeded');
      expect(notified.map((n) => n.subject)).toEqual(['Lifeboat recovery drill passed: db1 provably recoverable in 2 min']);
      expect(await catalog.lastRecoveryDrill('db1')).toEqual({ recoveryId: prepared.recoveryId, at: report.endedAt, outcome: 'succeeded', totalSeconds: 90 });
      expect(finished).toEqual([{ source: 'db1', mode: 'drill', outcome: 'succeeded', totalSeconds: 90 }]);
      // The drill's timings are the protected volume's rates.
      expect((await catalog.restoreRates('db1', 'pgdata')).map((s) => s.mode)).toEqual(['drill']);
    });

    it('no drill host: recorded as failed with the reason, no waves, then reported and alarmed (never silently skipped)', async () => {
      await build({
        recoveryDrills: [{ source: 'db1', schedule: 'rate(7 days)', drillHost: { tag: { key: 'lifeboat:drill', value: 'yes' } } }],
        findHost: () => Promise.resolve(undefined),
      });
      const prepared = await service.prepare({ scheduledDrill: { source: 'db1' } });
      expect(prepared.waves).toEqual([]);
      const record = await service.get(prepared.recoveryId);
      expect(record.state).toBe('failed');
      expect(record.error).toBe('the recovery drill of db1 cannot run: no drill host: no instance carries the tag lifeboat:drill=yes');
      const report = await service.report({ recoveryId: prepared.recoveryId });
      expect(report.outcome).toBe('failed');
      expect(notified.map((n) => n.subject)).toEqual(['Lifeboat recovery drill FAILED: db1 (failed)']);
      expect((await catalog.lastRecoveryDrill('db1'))?.outcome).toBe('failed');
      expect(finished.map((f) => [f.mode, f.outcome])).toEqual([['drill', 'failed']]);
    });

    it('a source with no recovery drill configured is not runnable', async () => {
      await expect(service.prepare({ scheduledDrill: { source: 'db9' } })).rejects.toMatchObject({ name: RECOVERY_ERRORS.notRunnable });
    });
  });
});

describe('completion and the recovery sink', () => {
  it('a restore without a recovery never calls the sink; a recovery member is answered once its record is final', async () => {
    const dynamo = await startLocalDynamo();
    try {
      const catalog = new DynamoDbCatalog(dynamo.doc, await dynamo.createCatalogTable());
      const runner = new FakeRunner();
      const told: RestoreRecord[] = [];
      const deps: CompletionDeps = {
        catalog,
        runner,
        recovery: {
          memberFinished: async (r) => {
            told.push((await catalog.getRestore(r.id)) ?? r);
          },
        },
      };
      const base: RestoreRecord & { commandId: string } = {
        id: 'r-1',
        requestedBy: 't',
        mode: 'restore',
        state: 'sent',
        archiveKey: 'archives/h/v/x.tar.zst',
        source: 'h',
        volume: 'v',
        instanceId: HOST,
        containerName: '',
        ifVolumeExists: 'fail',
        commandId: 'cmd-1',
        createdAt: '2026-12-01T00:00:00.000Z',
        updatedAt: '2026-12-01T00:00:00.000Z',
      };
      for (const r of [
        base,
        { ...base, id: 'r-2', commandId: 'cmd-2', volume: 'w', recovery: { id: 'rc-20261201000000-00000001', volume: 'w', taskToken: 'tok' } },
      ]) {
        await catalog.createRestore(r);
        await catalog.linkCommand(r.commandId, r.id);
        runner.outputs.set(r.commandId, { status: 'Success', stdout: resultLine('succeeded', { bytes: 10, totalSeconds: 3 }) });
        await completeRestore(deps, { commandId: r.commandId, instanceId: HOST, status: 'Success' });
      }
      expect(told.map((r) => [r.id, r.state])).toEqual([['r-2', 'succeeded']]);
      expect((await catalog.restoreRates('h', 'v')).map((s) => s.totalSeconds)).toEqual([3]);
    } finally {
      await dynamo.close();
    }
  });
});

describe('a recovery started from Slack', () => {
  it('hears its report through the response_url kept on its record (escaped like every post); one not from Slack is not posted', async () => {
    const posts: { url: string; message: SlackMessage }[] = [];
    const slack = new SlackNotifier({
      post: (url, message) => {
        posts.push({ url, message });
        return Promise.resolve();
      },
    });
    const record: RecoveryRecord = {
      id: 'rc-20261201000000-00000001',
      requestedBy: 'slack:T1/U1',
      state: 'partial',
      plan: {
        source: 'db1',
        mode: 'restore',
        target: { instanceId: HOST },
        ifVolumeExists: 'fail',
        parallel: 4,
        plannedAt: '2026-12-01T00:00:00.000Z',
        waves: [],
        predicted: { seconds: null, basis: '' },
        problems: [],
        warnings: [],
      },
      members: {},
      createdAt: '2026-12-01T00:00:00.000Z',
      updatedAt: '2026-12-01T00:00:00.000Z',
      notifySlack: { responseUrl: 'https://hooks.slack.com/actions/T1/1/x', channelId: 'C1', userId: 'U1' },
    };
    const text = 'Recovery rc-20261201000000-00000001 of db1: PARTIAL <!channel>';
    await slack.restoreFinished({ restoreId: record.id, state: 'partial', subject: 's', text, record });
    await slack.restoreFinished({ restoreId: record.id, state: 'partial', subject: 's', text, record: { ...record, notifySlack: undefined } });
    expect(posts).toHaveLength(1);
    expect(posts[0]?.url).toBe('https://hooks.slack.com/actions/T1/1/x');
    const posted = JSON.stringify(posts[0]?.message);
    expect(posted).toContain(':warning:');
    expect(posted).toContain('PARTIAL');
    expect(posted).not.toContain('<!channel>');
  });
});
