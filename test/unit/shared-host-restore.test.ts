/**
 * Threat: on a host that serves several sources (its lifeboat:sources tag lists them, or `*`
 * on a spare/DR host), a caller granted only source A restores A's archive — which a
 * compromised A host can plant under archives/A/<B's volume name>/ — into B's volume with
 * ifVolumeExists preserve and B's container: B's database is stopped, its data replaced by
 * A's, and restarted. Replacing a volume or restarting a container there is allowed only for
 * a volume the stack protects for A alone.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ArchiveStore } from '#core/archive-store.ts';
import { DynamoDbCatalog } from '#core/catalog/dynamodb-catalog.ts';
import { startLocalDynamo, type LocalDynamo } from '#core/local/dynamodb.ts';
import { RestorePolicy } from '#core/policy.ts';
import { ClientError } from '#core/restore/errors.ts';
import type { CommandRunner, InstanceDirectory, SendRestore } from '#core/restore/ports.ts';
import { RestoreRequest } from '#core/restore/schemas.ts';
import { RestoreService } from '#core/restore/service.ts';
import { assertMayReplaceOnShared } from '#core/restore/targets.ts';
import { loadDocument } from '#core/runbooks/document.ts';
import { localRestore } from '#core/local/restore.ts';

const INSTANCE = 'i-0123456789abcdef0';
const SHA = 'ab'.repeat(32);
// What a compromised host of source a planted: a's archive under b's volume name.
const PLANTED = 'archives/a/billing_pg/20261127T031500Z.tar.zst';
const A_PG = 'archives/a/pgdata/20261127T031500Z.tar.zst';
const A_ORDERS = 'archives/a/orders_pg/20261127T031500Z.tar.zst';

const host = (sources: readonly string[]) => ({ instanceId: INSTANCE, online: true, pingStatus: 'Online', sources });
const refusal = (f: () => void): ClientError => {
  try {
    f();
  } catch (e) {
    if (e instanceof ClientError) return e;
    throw e;
  }
  throw new Error('not refused');
};

describe('a restore on a host shared with other sources replaces only a volume protected for its source alone', () => {
  let dynamo: LocalDynamo;
  let catalog: DynamoDbCatalog;
  let tag: readonly string[] = ['*'];
  // Each test restores on a host of its own: a restore sent holds its volume's lock.
  let target = INSTANCE;
  let k = 0;
  const sent: SendRestore[] = [];
  const presigned: string[] = [];
  const store: ArchiveStore = {
    head: () => Promise.resolve(undefined),
    getText: () => Promise.resolve(undefined),
    presignGet: (key) => {
      presigned.push(key);
      return Promise.resolve(`https://bucket.s3.eu-west-1.amazonaws.com/${key}?X-Amz-Signature=x`);
    },
    listKeys: async function* () {},
  };
  const runner: CommandRunner & InstanceDirectory = {
    sendRestore: (r) => {
      sent.push(r);
      return Promise.resolve(`cmd-${sent.length.toString()}`);
    },
    invocationOutput: () => Promise.reject(new Error('not used')),
    cancel: () => Promise.resolve(),
    commandFor: () => Promise.resolve(undefined),
    status: () => Promise.resolve({ online: true, pingStatus: 'Online', sources: tag }),
  };
  // As deployment builds it from the protect config: a protects pgdata and orders_pg; b protects billing_pg and pgdata.
  const policy = RestorePolicy.parse({
    volumes: [
      { source: 'a', volume: 'pgdata' },
      { source: 'a', volume: 'orders_pg' },
      { source: 'b', volume: 'billing_pg' },
      { source: 'b', volume: 'pgdata' },
    ],
  });
  let n = 0;
  const service = (guardSharedHosts?: boolean): RestoreService =>
    new RestoreService(
      { catalog, store, runner, instances: runner, newId: () => `r-shared-${(++n).toString()}` },
      {
        document: loadDocument('restore-volume'),
        helperImage: 'local/lifeboat-helper:1',
        policy,
        ...(guardSharedHosts === undefined ? {} : { guardSharedHosts }),
      },
    );
  const request = (over: Record<string, unknown>): RestoreRequest => RestoreRequest.parse({ source: 'a', instanceId: target, ...over });
  const refusedStart = async (r: RestoreRequest): Promise<ClientError> => {
    const e: unknown = await service()
      .start(r, 'arn:aws:iam::123456789012:role/a-operator')
      .then(
        () => undefined,
        (err: unknown) => err,
      );
    if (e instanceof ClientError) return e;
    throw new Error(`not refused: ${String(e)}`);
  };

  beforeAll(async () => {
    dynamo = await startLocalDynamo();
    catalog = new DynamoDbCatalog(dynamo.doc, await dynamo.createCatalogTable());
    for (const [key, volume] of [
      [PLANTED, 'billing_pg'],
      [A_PG, 'pgdata'],
      [A_ORDERS, 'orders_pg'],
    ] as const) {
      await catalog.putArchive({
        source: 'a',
        volume,
        key,
        takenAt: '2026-11-27T03:15:00Z',
        compression: 'zstd',
        size: 1000,
        sha256: SHA,
        catalogedAt: '2026-11-27T03:16:00Z',
      });
    }
  });
  afterAll(async () => {
    await dynamo.close();
  });
  beforeEach(() => {
    sent.length = 0;
    presigned.length = 0;
    tag = ['*'];
    target = `i-0123456789abcde${(16 + ++k).toString(16)}`;
  });

  it("the attack: a's planted archive into b's volume with preserve and b's container on a spare (*) host is refused with 403 naming ifVolumeExists; nothing is locked or sent", async () => {
    const attack = request({ volume: 'billing_pg', ifVolumeExists: 'preserve', containerName: 'billing-db' });
    const e = await refusedStart(attack);
    expect(e.statusCode).toBe(403);
    expect(e.details?.fields).toEqual([{ field: 'ifVolumeExists', problem: expect.stringContaining('unless the stack protects billing_pg for a') as unknown }]);
    expect(e.message).toContain(`instance ${target}: it is shared (lifeboat:sources="*")`);
    expect(e.message).toContain('the stack does not protect volume billing_pg for a (protected for a: pgdata, orders_pg)');
    expect(e.message).toContain('nothing was locked or sent');
    expect(e.message).toContain('restore into a new volume with no containerName');
    expect(e.message).toContain('add a protect entry for a/billing_pg');
    expect(e.message).toContain('restore on a host tagged lifeboat:sources=a alone');
    // A dry run says the same, and nothing reached the host or the bucket; b's volume is free (no lock taken).
    await expect(service().plan(attack)).rejects.toThrow(/may not replace volume billing_pg if it exists and stop and restart container billing-db/);
    expect(sent).toEqual([]);
    expect(presigned).toEqual([]);
    await catalog.acquireLock(target, 'billing_pg', 'r-probe', 60, new Date());
    await catalog.releaseLock(target, 'billing_pg', 'r-probe');
  });

  it("the container alone (no preserve) on a host tagged a,b is refused naming containerName: b's database would be stopped", async () => {
    tag = ['a', 'b'];
    const e = await refusedStart(request({ volume: 'billing_pg', containerName: 'billing-db' }));
    expect(e.statusCode).toBe(403);
    expect((e.details?.fields as { field: string }[] | undefined)?.map((f) => f.field)).toEqual(['containerName']);
    expect(e.message).toContain('nothing was locked or sent');
    expect(sent).toEqual([]);
  });

  it('a volume protected for a but also for b, on a host tagged a,b: refused (the pgdata there may be b’s)', async () => {
    tag = ['a', 'b'];
    const e = await refusedStart(request({ volume: 'pgdata', ifVolumeExists: 'preserve', containerName: 'db' }));
    expect(e.statusCode).toBe(403);
    expect(e.details?.fields).toEqual([
      { field: 'ifVolumeExists', problem: expect.stringContaining('b, which also protect a volume named pgdata') as unknown },
    ]);
    expect(e.message).toContain('volume pgdata is also protected for b, which this host serves too');
    expect(e.message).toContain('nothing was locked or sent');
    expect(e.message).not.toContain('add a protect entry');
    expect(sent).toEqual([]);
  });

  it('a volume protected for a alone on a spare (*) host, with a container and preserve: sent; one not protected for a is not', async () => {
    const started = await service().start(
      request({ volume: 'orders_pg', ifVolumeExists: 'preserve', containerName: 'db' }),
      'arn:aws:iam::123456789012:role/a-operator',
    );
    expect(started.state).toBe('sent');
    expect(sent).toHaveLength(1);
    expect(sent[0]?.parameters).toMatchObject({ VolumeName: 'orders_pg', ContainerName: 'db', IfVolumeExists: 'preserve' });
    // What decides is the protect config: b's billing_pg, the same way, is refused.
    expect((await refusedStart(request({ volume: 'billing_pg', ifVolumeExists: 'preserve', containerName: 'db' }))).statusCode).toBe(403);
    expect(sent).toHaveLength(1);
  });

  it("a volume protected for a and for b, on a spare (*) host: refused (a spare may hold b's pgdata, and its container mounts it)", async () => {
    const e = await refusedStart(request({ volume: 'pgdata', ifVolumeExists: 'preserve', containerName: 'b-postgres' }));
    expect(e.statusCode).toBe(403);
    expect(e.message).toContain('volume pgdata is also protected for b, which a host tagged * may hold too');
    expect(e.details?.fields).toEqual([{ field: 'ifVolumeExists', problem: expect.stringContaining('may hold b') as unknown }]);
    expect(sent).toEqual([]);
    // The container alone, the same.
    expect((await refusedStart(request({ volume: 'pgdata', containerName: 'b-postgres' }))).statusCode).toBe(403);
    expect(sent).toEqual([]);
  });

  it('a new volume with no container and ifVolumeExists fail on a shared host: sent, the host told the volume must not exist at all (an empty one may be b’s); naming a container is not', async () => {
    tag = ['a', 'b'];
    expect((await refusedStart(request({ volume: 'billing_pg', containerName: 'billing-db' }))).statusCode).toBe(403);
    expect(sent).toEqual([]);
    const started = await service().start(request({ volume: 'billing_pg' }), 'arn:aws:iam::123456789012:role/a-operator');
    expect(started.state).toBe('sent');
    expect(sent).toHaveLength(1);
    expect(sent[0]?.parameters).toMatchObject({ VolumeName: 'billing_pg', ContainerName: '', IfVolumeExists: 'absent' });
    expect(started.plan.existingVolume).toMatch(/^if volume billing_pg exists on i-\w+ at all \(even empty\), the restore is refused and nothing changes: /);
  });

  it('the host is told absent only where the volume may be another source’s: on a host tagged a alone, or for a volume protected for a alone, fail stays fail', async () => {
    const ifExists = async (volume: string, sources: readonly string[]) => {
      tag = sources;
      target = `i-0123456789abcde${(16 + ++k).toString(16)}`;
      return (await service().plan(request({ volume }))).parameters.IfVolumeExists;
    };
    expect(await ifExists('billing_pg', ['a'])).toBe('fail');
    expect(await ifExists('orders_pg', ['a', 'b'])).toBe('fail');
    expect(await ifExists('orders_pg', ['*'])).toBe('fail');
    expect(await ifExists('pgdata', ['*'])).toBe('absent');
    expect(await ifExists('pgdata', ['a', 'b'])).toBe('absent');
    expect(await ifExists('billing_pg', ['a', 'c'])).toBe('absent');
    // Local mode (guardSharedHosts off) never asks it.
    tag = ['*'];
    expect((await service(false).plan(request({ volume: 'pgdata' }))).parameters.IfVolumeExists).toBe('fail');
  });

  it('a host tagged a alone: unchanged, any volume with a container and preserve is sent; the same on a host tagged a,b is not', async () => {
    const replace = request({ volume: 'billing_pg', ifVolumeExists: 'preserve', containerName: 'billing-db' });
    tag = ['a', 'b'];
    expect((await refusedStart(replace)).statusCode).toBe(403);
    expect(sent).toEqual([]);
    tag = ['a'];
    const started = await service().start(replace, 'arn:aws:iam::123456789012:role/a-operator');
    expect(started.state).toBe('sent');
    expect(sent).toHaveLength(1);
    expect(sent[0]?.parameters).toMatchObject({ VolumeName: 'billing_pg', ContainerName: 'billing-db', IfVolumeExists: 'preserve' });
  });

  it('the rule is on unless turned off: with guardSharedHosts false (local mode) the same planted restore is sent', async () => {
    const attack = request({ volume: 'billing_pg', archive: { key: PLANTED }, ifVolumeExists: 'preserve', containerName: 'billing-db' });
    expect((await refusedStart(attack)).statusCode).toBe(403);
    expect(sent).toEqual([]);
    const started = await service(false).start(attack, 'arn:aws:iam::123456789012:role/a-operator');
    expect(started.state).toBe('sent');
    expect(sent).toHaveLength(1);
  });

  it("local mode: its default (this machine is everyone's spare, its user has the Docker engine) plans the restore; given sources, the rule applies", async () => {
    const replace = RestoreRequest.parse({ source: 'a', instanceId: target, volume: 'billing_pg', ifVolumeExists: 'preserve', containerName: 'billing-db' });
    const local = (sources?: readonly string[]) =>
      localRestore({ catalog, store, instanceId: target, helperImage: 'local/lifeboat-helper:1', ...(sources ? { sources } : {}) }).service;
    const planned = await local().plan(replace);
    expect(planned.target.sources).toEqual(['*']);
    expect(planned.containerName).toBe('billing-db');
    const e: unknown = await local(['a', 'b'])
      .plan(replace)
      .then(
        () => undefined,
        (err: unknown) => err,
      );
    expect(e).toBeInstanceOf(ClientError);
    expect((e as ClientError).statusCode).toBe(403);
    expect((e as ClientError).message).toContain('may not replace volume billing_pg');
  });
});

describe('assertMayReplaceOnShared: what a restore may act on where other sources live', () => {
  const volumes = [
    { source: 'a', volume: 'pgdata' },
    { source: 'b', volume: 'pgdata' },
    { source: 'c', volume: 'orders' },
    { source: 'a', volume: 'a_only' },
  ];
  const check = (sources: readonly string[], over: Partial<Parameters<typeof assertMayReplaceOnShared>[1]>) => () => {
    assertMayReplaceOnShared(host(sources), { source: 'a', volume: 'pgdata', ifVolumeExists: 'fail', ...over }, volumes);
  };

  it.each([
    ['a host tagged a alone', ['a'], { volume: 'anything', ifVolumeExists: 'preserve' as const, containerName: 'db' }],
    ['a new volume, no container, fail', ['a', 'b', '*'], { volume: 'anything' }],
    ['an empty containerName is no container', ['*'], { volume: 'anything', containerName: '' }],
    ['protected for a alone, on a spare (*) host', ['*'], { volume: 'a_only', ifVolumeExists: 'preserve' as const, containerName: 'db' }],
    ['protected for a; c (on the host) protects other names', ['a', 'c'], { ifVolumeExists: 'preserve' as const, containerName: 'db' }],
  ])('allowed: %s', (_name, sources, over) => {
    expect(check(sources, over)).not.toThrow();
  });

  it.each([
    ['not protected for a, *', ['*'], { volume: 'orders', containerName: 'orders-db' }, 'containerName'],
    ['not protected for a, a,c', ['a', 'c'], { volume: 'orders', ifVolumeExists: 'preserve' as const }, 'ifVolumeExists'],
    ['also protected for b (named)', ['a', 'b'], { ifVolumeExists: 'preserve' as const, containerName: 'db' }, 'ifVolumeExists'],
    ['also protected for b (named beside *)', ['*', 'b'], { containerName: 'db' }, 'containerName'],
    ['also protected for b, on a spare (*) host that may hold it', ['*'], { ifVolumeExists: 'preserve' as const, containerName: 'db' }, 'ifVolumeExists'],
    ['also protected for b, on a host tagged a,*', ['a', '*'], { containerName: 'db' }, 'containerName'],
  ])('refused: %s', (_name, sources, over, field) => {
    const e = refusal(check(sources, over));
    expect(e.statusCode).toBe(403);
    expect((e.details?.fields as { field: string }[]).map((f) => f.field)).toEqual([field]);
    expect(e.message).toContain('nothing was locked or sent');
  });
});
