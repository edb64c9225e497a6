import { describe, expect, it } from 'vitest';
import { ConflictError } from '#core/restore/errors.ts';
import type { RestoreNotification } from '#core/restore/ports.ts';
import type { DrillRequest } from '#core/restore/schemas.ts';
import type { RestoreService } from '#core/restore/service.ts';
import type { ScheduledDrill } from '#core/protection.ts';
import { startScheduledDrill } from '#root/functions/drill/app.ts';

function harness(drill: (r: DrillRequest) => Promise<unknown>, host?: string) {
  const requests: DrillRequest[] = [];
  const notices: RestoreNotification[] = [];
  const failed: ScheduledDrill[] = [];
  const service = {
    drill: (r: DrillRequest) => {
      requests.push(r);
      return drill(r);
    },
  } as unknown as RestoreService;
  const deps = {
    service,
    findHost: () => Promise.resolve(host),
    notifier: {
      restoreFinished: (n: RestoreNotification) => {
        notices.push(n);
        return Promise.resolve();
      },
    },
    notStarted: (d: ScheduledDrill) => failed.push(d),
  };
  return { deps, requests, notices, failed };
}
const byTag: ScheduledDrill = {
  source: 'db1',
  volume: 'pgdata',
  drillHost: { tag: { key: 'lifeboat:drill-host', value: 'true' } },
};

describe('a scheduled drill', () => {
  it("starts on the online instance carrying the drill-host tag, newest archive, engine left to the protect config's verify", async () => {
    const h = harness(() => Promise.resolve({ restoreId: 'r-1-00000000' }), 'i-0123456789abcdef0');
    const out = await startScheduledDrill(h.deps, byTag);
    expect(out.started).toBe(true);
    expect(h.requests).toEqual([
      {
        source: 'db1',
        volume: 'pgdata',
        archive: 'latest',
        instanceId: 'i-0123456789abcdef0',
        allowUnverified: false,
      },
    ]);
    expect(h.failed).toEqual([]);
  });

  it('with no drill host online is a failed drill: counted for the alarm and published, nothing sent', async () => {
    const h = harness(() => Promise.reject(new Error('must not be called')), undefined);
    const out = await startScheduledDrill(h.deps, byTag);
    expect(out).toEqual({ started: false, reason: 'no online Linux instance carries the tag lifeboat:drill-host=true' });
    expect(h.requests).toEqual([]);
    expect(h.failed).toEqual([byTag]);
    expect(h.notices[0]?.subject).toBe('Lifeboat drill FAILED to start: db1/pgdata');
  });

  it('refused by the service (offline host, no archive, unsafe manifest) is a failed drill too', async () => {
    const h = harness(() => Promise.reject(new ConflictError('instance i-0123456789abcdef0 is not online in SSM (ConnectionLost); nothing was sent')));
    const out = await startScheduledDrill(h.deps, { ...byTag, drillHost: { instanceId: 'i-0123456789abcdef0' } });
    expect(out).toMatchObject({ started: false, reason: expect.stringContaining('ConnectionLost') as unknown });
    expect(h.failed).toHaveLength(1);
    expect(h.notices[0]?.text).toContain('could not start');
  });

  it('a transient error propagates so the scheduler retries', async () => {
    const h = harness(() => Promise.reject(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' })), 'i-0123456789abcdef0');
    await expect(startScheduledDrill(h.deps, byTag)).rejects.toThrow('Rate exceeded');
    expect(h.failed).toEqual([]);
  });
});
