import { describe, expect, it } from 'vitest';
import type { ArchiveEntry, RestoreRateSample } from '#core/catalog/model.ts';
import { ProtectionPolicy } from '#core/protection.ts';
import { RecoveryRequest, type RecoveryMemberPlan, type RecoveryPlan } from '#core/recovery/model.ts';
import { planRecovery, recoveryConfigProblems, type PlannerDeps } from '#core/recovery/plan.ts';
import { makespan, predictMember, predictTotal } from '#core/recovery/predict.ts';
import { recoveryOutcome } from '#core/recovery/report.ts';
import type { MemberProgress, RecoveryRecord } from '#core/recovery/model.ts';
import { ClientError, ConflictError } from '#core/restore/errors.ts';
import type { DrillRequest, RestoreRequest } from '#core/restore/schemas.ts';
import type { RestorePlan } from '#core/restore/service.ts';

const HOST = 'i-0123456789abcdef0';
const OTHER = 'i-0fedcba9876543210';
const NOW = new Date('2026-12-01T12:00:00Z');

const protect = (source: string, volume: string, extra: Record<string, unknown> = {}): ProtectionPolicy =>
  ProtectionPolicy.parse({ source, volume, drillHost: { instanceId: HOST }, rpoMinutes: 60, ...extra });

const archive = (source: string, volume: string, takenAt: string, extra: Partial<ArchiveEntry> = {}): ArchiveEntry => ({
  key: `archives/${source}/${volume}/${takenAt.replace(/[-:]/g, '')}.tar.zst`,
  source,
  volume,
  takenAt,
  compression: 'zstd',
  size: 100_000_000,
  sha256: 'a'.repeat(64),
  catalogedAt: takenAt,
  ...extra,
});

const sample = (bytes: number, download: number, extract: number, start = 5, extra: Partial<RestoreRateSample> = {}): RestoreRateSample => ({
  at: '2026-11-30T00:00:00.000Z',
  mode: 'restore',
  bytes,
  totalSeconds: download + extract + start + 1,
  phases: { preflight: 1, download, extract, swap: 0, start, verify: 0, cleanup: 0 },
  ...extra,
});

interface Fakes {
  archives: ArchiveEntry[];
  rates?: Record<string, RestoreRateSample[]>;
  /** Volumes whose dry restore plan is refused, with the error. */
  refuse?: Record<string, Error>;
  offline?: string[];
}

function deps(protectList: ProtectionPolicy[], fakes: Fakes): PlannerDeps & { planned: (RestoreRequest | DrillRequest)[] } {
  const planned: (RestoreRequest | DrillRequest)[] = [];
  const dry = (r: RestoreRequest | DrillRequest): Promise<RestorePlan> => {
    planned.push(r);
    const refused = fakes.refuse?.[r.volume];
    if (refused) return Promise.reject(refused);
    const online = !(fakes.offline ?? []).includes(r.instanceId);
    return Promise.resolve({ target: { instanceId: r.instanceId, online, pingStatus: online ? 'Online' : 'ConnectionLost' } } as RestorePlan);
  };
  return {
    planned,
    protect: protectList,
    catalog: {
      latestArchive: (source, volume, at) =>
        Promise.resolve(
          fakes.archives
            .filter((a) => a.source === source && a.volume === volume && (at === undefined || Date.parse(a.takenAt) <= Date.parse(at)))
            .sort((a, b) => b.takenAt.localeCompare(a.takenAt))[0],
        ),
      restoreRates: (source, volume) => Promise.resolve(fakes.rates?.[`${source}/${volume}`] ?? []),
    },
    restores: { plan: (r) => dry(r), planDrill: (r) => dry(r) },
  };
}

const request = (fields: Record<string, unknown> = {}): RecoveryRequest => RecoveryRequest.parse({ source: 'db1', target: { instanceId: HOST }, ...fields });
const member = (plan: RecoveryPlan, volume: string): RecoveryMemberPlan | undefined => plan.waves.flatMap((w) => w.members).find((m) => m.volume === volume);
const waves = (plan: RecoveryPlan): string[][] => plan.waves.map((w) => w.members.map((m) => m.volume));

describe('recovery configuration problems (synth-time)', () => {
  it('names an unknown after volume, a volume after itself, one of another source, and cycles, each with source and volume', () => {
    const problems = recoveryConfigProblems([
      protect('db1', 'a', { recovery: { after: ['c'] } }),
      protect('db1', 'b', { recovery: { after: ['a'] } }),
      protect('db1', 'c', { recovery: { after: ['b'] } }),
      protect('db1', 'd', { recovery: { after: ['d', 'nosuch', 'web'] } }),
      protect('db2', 'web'),
    ]);
    expect(problems).toContainEqual('db1/d: recovery.after names the volume itself');
    expect(problems).toContainEqual('db1/d: recovery.after names nosuch, which is not a protected volume of db1 (protected: a, b, c, d)');
    expect(problems.find((p) => p.includes('names web'))).toMatch(/db1\/d: .*web.*it is one of db2: a recovery orders only the volumes of one source/);
    expect(problems.filter((p) => p.includes('cycle'))).toEqual(['db1: recovery.after forms a cycle: a → c → b → a']);
  });

  it('is empty for a well-formed configuration', () => {
    expect(recoveryConfigProblems([protect('db1', 'a'), protect('db1', 'b', { recovery: { after: ['a'], role: 'optional' } })])).toEqual([]);
  });
});

describe('planning a recovery', () => {
  const at = '2026-12-01T11:00:00Z';
  const all = (source: string, volumes: string[]): ArchiveEntry[] => volumes.map((v) => archive(source, v, at));

  it('puts volumes in waves from wave and after (after raises a volume past what it names), sorted, role critical by default', async () => {
    const list = [
      protect('db1', 'pgdata'),
      protect('db1', 'redis', { recovery: { wave: 2, role: 'optional' } }),
      protect('db1', 'app', { recovery: { after: ['pgdata', 'redis'] } }),
      protect('db1', 'search', { recovery: { wave: 5 } }),
      protect('db2', 'elsewhere'),
    ];
    const plan = await planRecovery(deps(list, { archives: all('db1', ['pgdata', 'redis', 'app', 'search']) }), request(), { mode: 'restore', now: NOW });
    expect(plan.waves.map((w) => w.wave)).toEqual([1, 2, 3, 5]);
    expect(waves(plan)).toEqual([['pgdata'], ['redis'], ['app'], ['search']]);
    expect(member(plan, 'app')).toMatchObject({ wave: 3, role: 'critical', after: ['pgdata', 'redis'], instanceId: HOST });
    expect(member(plan, 'redis')?.role).toBe('optional');
    expect(plan.problems).toEqual([]);
  });

  it('refuses a source with no protected volumes (404 naming it)', async () => {
    const planning = planRecovery(deps([protect('db1', 'a')], { archives: [] }), request({ source: 'nosuch' }), { mode: 'restore', now: NOW });
    await expect(planning).rejects.toMatchObject({ statusCode: 404, message: expect.stringContaining('source nosuch has no protected volumes') as unknown });
  });

  it('reports a cycle as a problem (and still plans every member)', async () => {
    const list = [protect('db1', 'a', { recovery: { after: ['b'] } }), protect('db1', 'b', { recovery: { after: ['a'] } })];
    const plan = await planRecovery(deps(list, { archives: all('db1', ['a', 'b']) }), request(), { mode: 'restore', now: NOW });
    expect(plan.problems).toEqual(['db1: recovery.after forms a cycle: a → b → a']);
    expect(waves(plan).flat().sort()).toEqual(['a', 'b']);
  });

  it('chooses each volume’s newest archive at or before T, pinned by key and version, with its age at plan time', async () => {
    const list = [protect('db1', 'pgdata'), protect('db1', 'redis')];
    const archives = [
      archive('db1', 'pgdata', '2026-12-01T02:00:00Z', { versionId: 'v-old' }),
      archive('db1', 'pgdata', '2026-12-01T04:00:00Z', { versionId: 'v-new' }),
      archive('db1', 'redis', '2026-12-01T02:59:00Z'),
      archive('db1', 'redis', '2026-12-01T03:01:00Z'),
    ];
    const d = deps(list, { archives });
    const plan = await planRecovery(d, request({ at: '2026-12-01T03:00:00Z' }), { mode: 'restore', now: NOW });
    expect(member(plan, 'pgdata')?.archive).toEqual({
      key: archives[0]?.key,
      versionId: 'v-old',
      takenAt: '2026-12-01T02:00:00Z',
      size: 100_000_000,
      ageSeconds: 10 * 3600,
    });
    expect(member(plan, 'redis')?.archive?.key).toBe(archives[2]?.key);
    expect(plan.at).toBe('2026-12-01T03:00:00Z');
    // Each member is dry-planned as exactly that archive (ArchiveChoice {key}).
    expect(d.planned.map((r) => r.archive)).toEqual([{ key: archives[0]?.key }, { key: archives[2]?.key }]);
    const newest = await planRecovery(deps(list, { archives }), request(), { mode: 'restore', now: NOW });
    expect(member(newest, 'pgdata')?.archive?.versionId).toBe('v-new');
  });

  it('a critical member without an archive is a problem; an optional one is a warning and is planned with archive null', async () => {
    const list = [protect('db1', 'pgdata'), protect('db1', 'cache', { recovery: { role: 'optional' } })];
    const plan = await planRecovery(deps(list, { archives: [] }), request({ at: '2026-01-01T00:00:00Z' }), { mode: 'restore', now: NOW });
    expect(plan.problems).toEqual(['pgdata: no archive of db1/pgdata taken at or before 2026-01-01T00:00:00Z is in the catalog']);
    expect(plan.warnings).toContainEqual(
      'cache: no archive of db1/cache taken at or before 2026-01-01T00:00:00Z is in the catalog; it is optional, so the recovery skips it',
    );
    expect(member(plan, 'cache')?.archive).toBeNull();
  });

  it('the container is recovery.container, else backup.container, else data only — never the manifest’s (untrusted) name, which is a warning', async () => {
    const backup = { schedule: 'rate(1 hour)', host: { instanceId: HOST } };
    const list = [
      protect('db1', 'a', { recovery: { container: 'from-recovery' }, backup: { ...backup, container: 'from-backup' } }),
      protect('db1', 'b', { backup: { ...backup, container: 'from-backup' } }),
      protect('db1', 'c'),
      protect('db1', 'd'),
    ];
    // A manifest is written by the backed-up host: a compromised source A could name source B's container on a shared host.
    const manifest = { container: { name: 'other-source-db' } } as unknown as ArchiveEntry['manifest'];
    const odd = { container: { name: 'x; rm -rf /' } } as unknown as ArchiveEntry['manifest'];
    const archives = [
      archive('db1', 'a', at, { manifest }),
      archive('db1', 'b', at),
      archive('db1', 'c', at, { manifest }),
      archive('db1', 'd', at, { manifest: odd }),
    ];
    const d = deps(list, { archives });
    const plan = await planRecovery(d, request({ ifVolumeExists: 'preserve' }), { mode: 'restore', now: NOW });
    expect(['a', 'b', 'c', 'd'].map((v) => member(plan, v)?.containerName)).toEqual(['from-recovery', 'from-backup', '', '']);
    expect(plan.warnings.filter((w) => w.includes('data only'))).toEqual([
      'c: data only — the archive’s manifest names container other-source-db, but a recovery only stops or recreates a container named in the configuration (protect[].recovery.container)',
      'd: data only — the archive’s manifest names container "x; rm -rf /", but a recovery only stops or recreates a container named in the configuration (protect[].recovery.container)',
    ]);
    expect(plan.problems).toEqual([]);
    // A data-only member is dry-planned (and so started) without a container.
    expect(d.planned.find((r) => r.volume === 'c')).not.toHaveProperty('containerName');
    expect(d.planned.find((r) => r.volume === 'd')).not.toHaveProperty('containerName');
    expect(d.planned.find((r) => r.volume === 'a')).toMatchObject({ containerName: 'from-recovery', ifVolumeExists: 'preserve' });
  });

  it('a member whose restore request would not parse is a plan problem naming the volume, never an uncaught validation error', async () => {
    const list = [protect('db1', 'pgdata'), protect('db1', 'redis')];
    const archives = [archive('db1', 'pgdata', at), archive('db1', 'redis', at, { key: `archives/db1/redis/${'x'.repeat(1100)}.tar.zst` })];
    const plan = await planRecovery(deps(list, { archives }), request(), { mode: 'restore', now: NOW });
    const problem = 'redis: its restore request is not valid: archive.key: Too big: expected string to have <=1024 characters';
    expect(plan.problems).toEqual([problem]);
    const drill = await planRecovery(deps(list, { archives }), request(), { mode: 'drill', now: NOW });
    expect(drill.problems).toEqual([problem]);
  });

  it('a volume → instance map must name every protected volume and nothing else (errors name target.volumes.<v>)', async () => {
    const list = [protect('db1', 'pgdata'), protect('db1', 'redis')];
    const d = deps(list, { archives: all('db1', ['pgdata', 'redis']) });
    const plan = await planRecovery(d, request({ target: { volumes: { pgdata: HOST, typo: OTHER } } }), { mode: 'restore', now: NOW });
    expect(plan.problems).toEqual([
      'target.volumes.typo: typo is not a protected volume of db1 (protected: pgdata, redis)',
      'target.volumes.redis: no instance named for db1/redis (every protected volume of the source needs one)',
    ]);
    const ok = await planRecovery(d, request({ target: { volumes: { pgdata: HOST, redis: OTHER } } }), { mode: 'restore', now: NOW });
    expect([member(ok, 'pgdata')?.instanceId, member(ok, 'redis')?.instanceId]).toEqual([HOST, OTHER]);
    expect(ok.problems).toEqual([]);
  });

  it('a launch template target leaves the instance empty until launched, and dry-plans nothing on a host', async () => {
    const d = deps([protect('db1', 'pgdata')], { archives: all('db1', ['pgdata']) });
    const plan = await planRecovery(d, request({ target: { launchTemplate: { id: 'lt-0123456789abcdef0' } } }), { mode: 'restore', now: NOW });
    expect(member(plan, 'pgdata')?.instanceId).toBe('');
    expect(d.planned).toEqual([]);
    expect(plan.problems).toEqual([]);
    // Not silently: the dry run says what it could not check.
    expect(plan.warnings).toContainEqual('members are checked against the replacement only after it is launched and online');
  });

  it('a launch template the stack may not launch from is a problem naming target.launchTemplate.id and the configured ones', async () => {
    const d = { ...deps([protect('db1', 'pgdata')], { archives: all('db1', ['pgdata']) }), launchTemplates: ['lt-0123456789abcdef0', 'lt-0aaaaaaaaaaaaaaa0'] };
    const other = await planRecovery(d, request({ target: { launchTemplate: { id: 'lt-0fffffffffffffff0' } } }), { mode: 'restore', now: NOW });
    expect(other.problems).toEqual([
      'target.launchTemplate.id: lt-0fffffffffffffff0 is not a launch template this stack may launch from (recoveryLaunchTemplates: lt-0123456789abcdef0, lt-0aaaaaaaaaaaaaaa0)',
    ]);
    const listed = await planRecovery(d, request({ target: { launchTemplate: { id: 'lt-0aaaaaaaaaaaaaaa0' } } }), { mode: 'restore', now: NOW });
    expect(listed.problems).toEqual([]);
    const none = await planRecovery({ ...d, launchTemplates: [] }, request({ target: { launchTemplate: { id: 'lt-0aaaaaaaaaaaaaaa0' } } }), {
      mode: 'restore',
      now: NOW,
    });
    expect(none.problems).toEqual([
      'target.launchTemplate.id: lt-0aaaaaaaaaaaaaaa0 is not a launch template this stack may launch from (recoveryLaunchTemplates: none configured)',
    ]);
  });

  it('shows what a start would refuse: an offline host, a refused restore (each named by its volume)', async () => {
    const list = [protect('db1', 'pgdata'), protect('db1', 'redis')];
    const refuse = { redis: new ClientError(422, 'archive x has no sha256') };
    const plan = await planRecovery(deps(list, { archives: all('db1', ['pgdata', 'redis']), refuse, offline: [HOST] }), request(), {
      mode: 'restore',
      now: NOW,
    });
    expect(plan.problems).toEqual(['pgdata: instance i-0123456789abcdef0 is not online in SSM (ConnectionLost)', 'redis: archive x has no sha256']);
    const conflict = await planRecovery(
      deps(list, { archives: all('db1', ['pgdata', 'redis']), refuse: { pgdata: new ConflictError('lock held') } }),
      request(),
      {
        mode: 'restore',
        now: NOW,
      },
    );
    expect(conflict.problems).toEqual(['pgdata: lock held']);
    await expect(
      planRecovery(deps(list, { archives: all('db1', ['pgdata']), refuse: { pgdata: new Error('boom') } }), request(), { mode: 'restore', now: NOW }),
    ).rejects.toThrow('boom');
  });

  it('in drill mode each member is dry-planned as a drill of its pinned archive', async () => {
    const d = deps([protect('db1', 'pgdata', { recovery: { container: 'pg' } })], { archives: all('db1', ['pgdata']) });
    const plan = await planRecovery(d, request(), { mode: 'drill', now: NOW });
    expect(plan.mode).toBe('drill');
    expect(d.planned[0]).toMatchObject({ source: 'db1', volume: 'pgdata', instanceId: HOST, archive: { key: member(plan, 'pgdata')?.archive?.key } });
    expect(d.planned[0]).not.toHaveProperty('containerName');
  });
});

describe('predictions', () => {
  it('fits download and extract as a fixed part plus a rate over samples of different sizes (medians: an outlier does not move it), takes the median of the other phases, and says its basis', () => {
    const samples = [sample(50_000_000, 5, 5, 4), sample(100_000_000, 20, 10, 6), sample(200_000_000, 20, 20, 100)];
    const p = predictMember({ source: 'db1', volume: 'pgdata' }, 100_000_000, samples);
    // download: slopes 0.3, 0.1, 0 s/MB → 0.1, fixed median(0, 10, 0) = 0 → 10; extract 0.1 s/MB → 10; start: median(4, 6, 100) = 6; preflight 1.
    expect(p.phases).toEqual({ preflight: 1, download: 10, extract: 10, swap: 0, start: 6, verify: 0, cleanup: 0 });
    expect(p.seconds).toBe(27);
    expect(p.basis).toBe('fixed part and rate of 3 earlier restores/drills of db1/pgdata (3.3 MB/s) scaled to 100000000 bytes');
  });

  it('a small restore and a large one: the fixed part is not scaled up with the bytes (a quarter-size drill does not predict a full restore at 4× its time)', () => {
    // 2 s fixed + 0.1 s/MB of download, 1 s fixed + 0.02 s/MB of extract.
    const samples = [sample(25_000_000, 4.5, 1.5), sample(100_000_000, 12, 3)];
    const p = predictMember({ source: 'db1', volume: 'pgdata' }, 200_000_000, samples);
    expect(p.phases).toMatchObject({ download: 22, extract: 5 });
    // Scaling each sample alone would say download median(36, 24) = 30 and extract median(12, 6) = 9.
  });

  it('samples of one size (or within 1.5× of each other) are scaled by bytes; a rate that falls with size counts as none', () => {
    expect(predictMember({ source: 'db1', volume: 'pgdata' }, 200_000_000, [sample(100_000_000, 10, 2), sample(120_000_000, 12, 2)]).phases).toMatchObject({
      download: 20,
      extract: 3.7,
    });
    const p = predictMember({ source: 'db1', volume: 'pgdata' }, 400_000_000, [sample(50_000_000, 10, 2), sample(100_000_000, 8, 2)]);
    expect(p.phases).toMatchObject({ download: 9, extract: 2 });
    expect(p.basis).toMatch(/^fixed part and rate of 2 earlier restores\/drills/);
  });

  it('says when there is no history (seconds null)', () => {
    expect(predictMember({ source: 'db1', volume: 'pgdata' }, 1000, [])).toEqual({ seconds: null, basis: 'no restore or drill of db1/pgdata recorded yet' });
  });

  it('a planned member without history has no time, with a warning; with history it is predicted', async () => {
    const list = [protect('db1', 'pgdata'), protect('db1', 'redis')];
    const rates = { 'db1/pgdata': [sample(100_000_000, 8, 2, 5)] };
    const plan = await planRecovery(deps(list, { archives: ['pgdata', 'redis'].map((v) => archive('db1', v, '2026-12-01T11:00:00Z')), rates }), request(), {
      mode: 'restore',
      now: NOW,
    });
    expect(member(plan, 'pgdata')?.predicted.seconds).toBe(16);
    expect(member(plan, 'redis')?.predicted).toEqual({ seconds: null, basis: 'no restore or drill of db1/redis recorded yet' });
    expect(plan.warnings).toContainEqual('redis: no restore or drill of db1/redis recorded yet, so no time is predicted for it');
    expect(plan.predicted).toEqual({
      seconds: 16,
      basis: '1 wave one after another, each on 4 parallel slots; 1 of 2 members have no history and count as 0 (the total is a lower bound)',
    });
  });

  it('the total is the sum over waves of each wave’s makespan on `parallel` slots (longest first)', () => {
    expect(makespan([10, 10, 10], 2)).toBe(20);
    expect(makespan([7, 5, 4, 3, 1], 2)).toBe(10);
    expect(makespan([], 3)).toBe(0);
    const m = (seconds: number | null) => ({ predicted: { seconds, basis: '' } });
    const total = predictTotal([{ members: [m(30), m(20), m(10)] }, { members: [m(5), m(null)] }], 2);
    expect(total.seconds).toBe(35); // wave 1: 30 | 20+10 → 30; wave 2: 5
    expect(predictTotal([{ members: [m(30), m(20), m(10)] }], 1).seconds).toBe(60);
    expect(predictTotal([{ members: [m(null)] }], 2)).toEqual({ seconds: null, basis: 'no member of this recovery has a restore or drill recorded yet' });
    expect(predictTotal([{ members: [m(1)] }], 2, { launch: true }).basis).toMatch(/launching the replacement host is not included$/);
  });
});

describe('a recovery’s outcome', () => {
  const plan = async (list: ProtectionPolicy[]): Promise<RecoveryPlan> =>
    planRecovery(deps(list, { archives: list.map((p) => archive('db1', p.volume, '2026-12-01T11:00:00Z')) }), request(), { mode: 'restore', now: NOW });
  const outcome = async (list: ProtectionPolicy[], members: Record<string, MemberProgress>, error?: string, state: RecoveryRecord['state'] = 'running') => {
    const record = { id: 'rc-20261201000000-00000001', state, plan: await plan(list), members } as RecoveryRecord;
    return recoveryOutcome(record, members, error);
  };
  const ran = (state: MemberProgress['state']): MemberProgress => ({ state, startedAt: '2026-12-01T12:00:00Z' });
  const twoWaves = [protect('db1', 'a'), protect('db1', 'b', { recovery: { after: ['a'] } }), protect('db1', 'c', { recovery: { role: 'optional' } })];

  it('succeeded, partial (only optional failures), stopped (critical failed, later waves not run), failed', async () => {
    expect(await outcome(twoWaves, { a: ran('succeeded'), b: ran('succeeded'), c: ran('succeeded') })).toBe('succeeded');
    expect(await outcome(twoWaves, { a: ran('succeeded'), b: ran('succeeded'), c: ran('failed') })).toBe('partial');
    expect(await outcome(twoWaves, { a: ran('succeeded'), b: ran('succeeded'), c: { state: 'skipped' } })).toBe('partial');
    // Partial only when EVERY critical member succeeded: a critical member skipped (or never closed) without one failing is a failure.
    expect(await outcome(twoWaves, { a: ran('succeeded'), b: { state: 'skipped' }, c: ran('succeeded') })).toBe('failed');
    expect(await outcome(twoWaves, { a: ran('succeeded'), b: { state: 'pending' }, c: ran('failed') })).toBe('failed');
    // Nothing back at all is no partial success.
    const allOptional = [protect('db1', 'a', { recovery: { role: 'optional' } }), protect('db1', 'b', { recovery: { role: 'optional' } })];
    expect(await outcome(allOptional, { a: ran('failed'), b: ran('failed') })).toBe('failed');
    expect(await outcome(allOptional, { a: ran('succeeded'), b: ran('failed') })).toBe('partial');
    expect(await outcome(twoWaves, { a: ran('failed'), b: { state: 'skipped' }, c: ran('succeeded') })).toBe('stopped');
    // A critical member of the last wave failing leaves nothing to stop: the host is not back.
    expect(await outcome(twoWaves, { a: ran('succeeded'), b: ran('failed'), c: ran('succeeded') })).toBe('failed');
    // Ended before any member ran (Prepare, Launch), or recorded failed at Prepare.
    expect(await outcome(twoWaves, { a: { state: 'skipped' }, b: { state: 'skipped' }, c: { state: 'skipped' } }, 'Lifeboat.HostNotOnline: x')).toBe('failed');
    expect(await outcome(twoWaves, { a: { state: 'skipped' }, b: { state: 'skipped' }, c: { state: 'skipped' } }, undefined, 'failed')).toBe('failed');
  });
});
