import { RecoveryPlan, RecoveryRecord } from '#core/recovery/model.ts';

export const RECOVERY_ID = 'rc-20261201030000-1a2b3c4d';
export const TARGET = 'i-0123456789abcdef0';

const member = (volume: string, wave: number, role: 'critical' | 'optional', after: string[], container: string, seconds: number | null) => ({
  volume,
  wave,
  role,
  after,
  instanceId: TARGET,
  containerName: container,
  archive: { key: `archives/db1/${volume}/20261201T020000Z.tar.zst`, takenAt: '2026-12-01T02:00:00Z', size: 4_300_000, ageSeconds: 3600 },
  predicted: {
    seconds,
    basis: seconds === null ? `no restore or drill of db1/${volume} recorded yet` : `median rate of 3 earlier restores/drills of db1/${volume} (41.2 MB/s)`,
  },
});

/** A plan of source db1: pgdata and cache in wave 1, files in wave 2 (after pgdata). */
export const PLAN: RecoveryPlan = RecoveryPlan.parse({
  source: 'db1',
  mode: 'restore',
  target: { instanceId: TARGET },
  ifVolumeExists: 'fail',
  parallel: 4,
  plannedAt: '2026-12-01T03:00:00.000Z',
  waves: [
    { wave: 1, members: [member('pgdata', 1, 'critical', [], 'db', 12.5), member('cache', 1, 'optional', [], 'redis', null)] },
    { wave: 2, members: [member('files', 2, 'critical', ['pgdata'], '', 3)] },
  ],
  predicted: { seconds: 15.5, basis: 'the sum over waves of each wave’s slowest member' },
  problems: [],
  warnings: ['no restore or drill of db1/cache recorded yet: its time is not predicted'],
});

/** The recovery of {@link PLAN} at its end: `state` and members as given. */
export function recoveryRecord(state: RecoveryRecord['state'], members: RecoveryRecord['members'] = {}): RecoveryRecord {
  const final = ['succeeded', 'partial', 'failed', 'stopped'].includes(state);
  return RecoveryRecord.parse({
    id: RECOVERY_ID,
    requestedBy: 'arn:aws:sts::123456789012:assumed-role/OnCall/alice',
    state,
    plan: PLAN,
    members,
    executionArn: `arn:aws:states:eu-west-1:123456789012:execution:Recovery:${RECOVERY_ID}`,
    createdAt: '2026-12-01T03:00:00.000Z',
    startedAt: '2026-12-01T03:00:01.000Z',
    ...(final ? { endedAt: '2026-12-01T03:00:31.000Z' } : {}),
    updatedAt: '2026-12-01T03:00:31.000Z',
    ...(final && state !== 'failed'
      ? {
          report: {
            recoveryId: RECOVERY_ID,
            source: 'db1',
            mode: 'restore',
            outcome: state,
            startedAt: '2026-12-01T03:00:01.000Z',
            endedAt: '2026-12-01T03:00:31.000Z',
            totalSeconds: 30,
            predictedSeconds: 15.5,
            members: Object.entries(members).map(([volume, m]) => ({
              volume,
              wave: volume === 'files' ? 2 : 1,
              role: volume === 'cache' ? 'optional' : 'critical',
              outcome: m.state,
              archiveKey: `archives/db1/${volume}/20261201T020000Z.tar.zst`,
              rpoSeconds: 3601,
              rtoSeconds: m.totalSeconds ?? null,
              predictedSeconds: volume === 'cache' ? null : 12.5,
              ...(m.phases ? { phases: m.phases } : {}),
              error: m.error ?? null,
            })),
            text: 'the report',
          },
        }
      : {}),
  });
}
