import { describe, expect, it } from 'vitest';
import { checkFreshness, judgeFreshness } from '#core/protection.ts';

const NOW = new Date('2026-11-27T12:00:00Z');
const RPO = 3600;
const at = (secondsAgo: number): string => new Date(NOW.getTime() - secondsAgo * 1000).toISOString();
const judge = (newestTakenAt?: string) =>
  judgeFreshness({ source: 'db1', volume: 'pgdata', rpoSeconds: RPO, newestTakenAt, newestKey: newestTakenAt && 'k' }, NOW);

describe('backup freshness against the RPO', () => {
  it('exactly at the RPO is still fresh', () => {
    expect(judge(at(RPO))).toMatchObject({ ageSeconds: RPO, overdue: false, clockSkewSeconds: 0 });
  });
  it('one second over the RPO is overdue, and says by how much', () => {
    const f = judge(at(RPO + 1));
    expect(f).toMatchObject({ ageSeconds: RPO + 1, overdue: true });
    expect(f.reason).toBe('the newest archive of db1/pgdata is 3601 s old, over the RPO of 3600 s');
  });
  it('a fresh backup is fresh', () => {
    expect(judge(at(5))).toMatchObject({ ageSeconds: 5, overdue: false });
  });
  it('no archive ever is overdue', () => {
    expect(judge(undefined)).toMatchObject({ ageSeconds: null, overdue: true, newestKey: null, reason: 'no archive of db1/pgdata has ever been cataloged' });
  });
  it('an archive time in the future (clock skew) counts as age 0, is reported, and is not overdue', () => {
    const f = judge(at(-300));
    expect(f).toMatchObject({ ageSeconds: 0, overdue: false, clockSkewSeconds: 300 });
    expect(f.reason).toContain('300 s in the future (clock skew)');
  });
  it('a newest archive dated far in the future (a key written to pin "latest") proves nothing: overdue, no age, and says why', () => {
    const f = judgeFreshness(
      { source: 'db1', volume: 'pgdata', rpoSeconds: RPO, newestTakenAt: '2099-12-31T23:59:59Z', newestKey: 'archives/db1/pgdata/20991231T235959Z.tar.zst' },
      NOW,
    );
    expect(f).toMatchObject({ ageSeconds: null, overdue: true, newestKey: 'archives/db1/pgdata/20991231T235959Z.tar.zst' });
    expect(f.clockSkewSeconds).toBeGreaterThan(70 * 365 * 86_400);
    expect(f.reason).toMatch(/claims a time \d+ s in the future, more than the 300 s allowed for clock skew: it does not prove a backup within the RPO/);
  });
  it('clock skew ends at 5 minutes: an archive time 301 s in the future is overdue, 300 s is not', () => {
    expect(judge(at(-301))).toMatchObject({ ageSeconds: null, overdue: true, clockSkewSeconds: 301 });
    expect(judge(at(-300))).toMatchObject({ ageSeconds: 0, overdue: false, clockSkewSeconds: 300 });
  });
  it('sub-second ages round down: 3600.9 s is still within an RPO of 3600 s', () => {
    expect(judgeFreshness({ source: 's', volume: 'v', rpoSeconds: RPO, newestTakenAt: new Date(NOW.getTime() - 3_600_900).toISOString() }, NOW).overdue).toBe(
      false,
    );
  });
  it('says how long the newest archive took to arrive here (cataloged − taken; in the DR region, the replication lag)', () => {
    const f = judgeFreshness({ source: 'db1', volume: 'pgdata', rpoSeconds: RPO, newestTakenAt: at(900), newestKey: 'k', newestCatalogedAt: at(450) }, NOW);
    expect(f).toMatchObject({ ageSeconds: 900, overdue: false, arrivalLagSeconds: 450 });
    // Cataloged "before" it was taken (clock skew between the host and the catalog): no negative lag.
    expect(judgeFreshness({ source: 's', volume: 'v', rpoSeconds: RPO, newestTakenAt: at(60), newestCatalogedAt: at(120) }, NOW).arrivalLagSeconds).toBe(0);
    expect(judge(at(60)).arrivalLagSeconds).toBeNull();
    expect(judge(undefined).arrivalLagSeconds).toBeNull();
  });
  it('checks each volume with one "latest" lookup', async () => {
    const asked: string[] = [];
    const catalog = {
      latestArchive: (source: string, volume: string) => {
        asked.push(`${source}/${volume}`);
        return Promise.resolve(volume === 'fresh' ? ({ key: 'archives/a/fresh/x.tar.zst', takenAt: at(60), catalogedAt: at(30) } as never) : undefined);
      },
    };
    const out = await checkFreshness(
      catalog,
      {
        volumes: [
          { source: 'a', volume: 'fresh', rpoSeconds: RPO },
          { source: 'a', volume: 'never', rpoSeconds: RPO },
        ],
      },
      NOW,
    );
    expect(asked).toEqual(['a/fresh', 'a/never']);
    expect(out.map((f) => [f.volume, f.overdue, f.newestKey, f.arrivalLagSeconds])).toEqual([
      ['fresh', false, 'archives/a/fresh/x.tar.zst', 30],
      ['never', true, null, null],
    ]);
  });
});
