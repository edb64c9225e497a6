import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { GetCommandInvocationCommand, InvocationDoesNotExist, ListCommandInvocationsCommand, SSMClient } from '@aws-sdk/client-ssm';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { SsmCommandRunner } from '#core/adapters/ssm.ts';
import { SsmCommandStatus } from '#core/adapters/ssm-status.ts';
import { DynamoDbCatalog } from '#core/catalog/dynamodb-catalog.ts';
import type { RestoreNotification } from '#core/restore/ports.ts';
import { sweep, type SweeperConfig, type SweeperDeps } from '#core/restore/sweeper.ts';
import { startLocalDynamo, type LocalDynamo } from '#core/local/dynamodb.ts';
import { lockIsFree, resultLine, startedRestore } from '../support/restores.ts';

// SSM has no local server: it is mocked; DynamoDB is a real server (dynalite) on 127.0.0.1.
const ssmMock = mockClient(SSMClient);
const INSTANCE = 'i-0123456789abcdef0';
const CONFIG: SweeperConfig = { staleSeconds: 600, commandTimeoutSeconds: 7200, marginSeconds: 900 };
const minutes = (t: Date, n: number): Date => new Date(t.getTime() + n * 60_000);

describe('the sweeper (DynamoDB-compatible server; SSM mocked)', () => {
  let dynamo: LocalDynamo;
  let catalog: DynamoDbCatalog;
  let notified: RestoreNotification[];
  let t0: Date;
  const deps = (now: Date): SweeperDeps => {
    const ssm = new SSMClient({ region: 'eu-west-1' });
    return {
      catalog,
      runner: new SsmCommandRunner(ssm, new CloudWatchLogsClient({ region: 'eu-west-1' }), {
        restoreDocumentName: 'Lifeboat-Restore',
        outputLogGroup: '/lifeboat/out',
      }),
      notifier: {
        restoreFinished: (m) => {
          notified.push(m);
          return Promise.resolve();
        },
      },
      ssm: new SsmCommandStatus(ssm, 'Lifeboat-Restore'),
      now: () => now,
    };
  };

  beforeAll(async () => {
    dynamo = await startLocalDynamo();
  });
  afterAll(async () => {
    await dynamo.close();
  });
  beforeEach(async () => {
    ssmMock.reset();
    catalog = new DynamoDbCatalog(dynamo.doc, await dynamo.createCatalogTable());
    notified = [];
    // Records are written on the real clock; the sweeper's clock is moved forward from it.
    t0 = new Date();
  });

  it('a restore whose completion event was lost is finished by the sweeper through the completion path, and its target freed', async () => {
    const r = await startedRestore(catalog, { id: 'r-lost1-0a0b0c0d', instanceId: INSTANCE, volume: 'pgdata', state: 'sent', commandId: 'cmd-lost' }, t0);
    ssmMock
      .on(GetCommandInvocationCommand, { CommandId: 'cmd-lost', InstanceId: INSTANCE })
      .resolves({ Status: 'Success', StandardOutputContent: `done\n${resultLine('succeeded')}` });

    // Before it is stale, nobody asks SSM and the lock stays.
    expect(await sweep(deps(minutes(t0, 5)), CONFIG)).toEqual([
      { restoreId: r.id, action: 'fresh', detail: expect.stringMatching(/changed \d+ s ago/) as unknown },
    ]);
    expect(ssmMock).not.toHaveReceivedCommand(GetCommandInvocationCommand);
    expect(await lockIsFree(catalog, INSTANCE, 'pgdata')).toBe(false);

    const outcomes = await sweep(deps(minutes(t0, 11)), CONFIG);
    expect(outcomes).toEqual([{ restoreId: r.id, action: 'finished', detail: 'SSM says Success; recorded succeeded' }]);
    expect(await catalog.getRestore(r.id)).toMatchObject({ state: 'succeeded', commandStatus: 'Success', totalSeconds: 3 });
    expect(await lockIsFree(catalog, INSTANCE, 'pgdata')).toBe(true);
    expect(notified.map((n) => n.subject)).toEqual([`Lifeboat restore ${r.id} succeeded: pgdata on ${INSTANCE}`]);
    // Finished restores leave the index: the next sweep has nothing to do, and the event arriving late changes nothing.
    expect(await sweep(deps(minutes(t0, 16)), CONFIG)).toEqual([]);
    expect(await catalog.listActiveRestores()).toEqual([]);
  });

  it('a restore SSM still runs is left alone with its lock, until the command’s timeout plus the margin', async () => {
    const r = await startedRestore(catalog, { id: 'r-busy1-0a0b0c0d', instanceId: INSTANCE, volume: 'pgdata', state: 'sent', commandId: 'cmd-busy' }, t0);
    ssmMock.on(GetCommandInvocationCommand).resolves({ Status: 'InProgress', StandardOutputContent: 'extracting...\n' });

    for (const status of ['InProgress', 'Pending', 'Delayed', 'Cancelling'] as const) {
      ssmMock.on(GetCommandInvocationCommand).resolves({ Status: status });
      expect(await sweep(deps(minutes(t0, 30)), CONFIG)).toEqual([{ restoreId: r.id, action: 'in-flight', detail: `SSM says ${status}` }]);
      expect(await lockIsFree(catalog, INSTANCE, 'pgdata')).toBe(false);
    }
    expect((await catalog.getRestore(r.id))?.state).toBe('running');
    expect(notified).toEqual([]);

    // Past 7200 s + 900 s, a command SSM still calls running is lost (the agent kills the script at its timeout).
    ssmMock.on(GetCommandInvocationCommand).resolves({ Status: 'InProgress' });
    const [late] = await sweep(deps(minutes(t0, 136)), CONFIG);
    expect(late).toMatchObject({ restoreId: r.id, action: 'lost' });
    expect(await catalog.getRestore(r.id)).toMatchObject({
      state: 'failed',
      commandStatus: 'InProgress',
      error: expect.stringMatching(
        /^SSM still reported InProgress for command cmd-busy of restore r-busy1-0a0b0c0d 816\d s after it was requested, beyond its timeout of 7200 s plus 900 s; treated as lost, lock released$/,
      ) as unknown,
    });
    expect(await lockIsFree(catalog, INSTANCE, 'pgdata')).toBe(true);
  });

  it('a restore that never got a command, and that SSM does not know, is recorded failed with why and its lock released', async () => {
    const r = await startedRestore(catalog, { id: 'r-nosend-0a0b0c0d', instanceId: INSTANCE, volume: 'pgdata', state: 'planned' }, t0);
    ssmMock
      .on(ListCommandInvocationsCommand)
      .resolves({ CommandInvocations: [{ CommandId: 'someone-elses', InstanceId: INSTANCE, Status: 'Success', Comment: 'patching' }] });

    const [outcome] = await sweep(deps(minutes(t0, 11)), CONFIG);
    expect(outcome).toMatchObject({ restoreId: r.id, action: 'lost' });
    expect(ssmMock).toHaveReceivedCommandWith(ListCommandInvocationsCommand, {
      InstanceId: INSTANCE,
      Filters: [
        { key: 'InvokedAfter', value: minutes(t0, -5).toISOString() },
        { key: 'DocumentName', value: 'Lifeboat-Restore' },
      ],
    });
    expect(await catalog.getRestore(r.id)).toMatchObject({
      state: 'failed',
      error: `no command was ever sent for restore ${r.id}: SSM has no command of the restore document with its comment on ${INSTANCE} (the request failed before sending); recorded failed, lock released`,
    });
    expect(await lockIsFree(catalog, INSTANCE, 'pgdata')).toBe(true);
    expect(notified).toHaveLength(1);
  });

  it('a restore whose command reached SSM but was never linked is found by its comment and finished with the host’s result', async () => {
    const r = await startedRestore(catalog, { id: 'r-orphan-0a0b0c0d', instanceId: INSTANCE, volume: 'pgdata', state: 'planned' }, t0);
    ssmMock
      .on(ListCommandInvocationsCommand)
      .resolves({ CommandInvocations: [{ CommandId: 'cmd-orphan', InstanceId: INSTANCE, Status: 'Failed', Comment: `lifeboat restore ${r.id}` }] });
    ssmMock
      .on(GetCommandInvocationCommand, { CommandId: 'cmd-orphan' })
      .resolves({ Status: 'Failed', StandardOutputContent: resultLine('refused', { error: 'volume pgdata already holds data' }) });

    expect(await sweep(deps(minutes(t0, 11)), CONFIG)).toEqual([{ restoreId: r.id, action: 'finished', detail: 'SSM says Failed; recorded failed' }]);
    expect(await catalog.getRestore(r.id)).toMatchObject({ state: 'failed', commandId: 'cmd-orphan', error: 'volume pgdata already holds data' });
    expect(await catalog.restoreIdForCommand('cmd-orphan')).toBe(r.id);
    expect(await lockIsFree(catalog, INSTANCE, 'pgdata')).toBe(true);
  });

  it('a command SSM does not know (no invocation of it anywhere) is recorded failed and its lock released', async () => {
    const r = await startedRestore(catalog, { id: 'r-gone1-0a0b0c0d', instanceId: INSTANCE, volume: 'pgdata', state: 'sent', commandId: 'cmd-gone' }, t0);
    ssmMock.on(GetCommandInvocationCommand).rejects(new InvocationDoesNotExist({ $metadata: {}, message: 'no such invocation' }));
    ssmMock.on(ListCommandInvocationsCommand, { CommandId: 'cmd-gone' }).resolves({ CommandInvocations: [] });

    const [outcome] = await sweep(deps(minutes(t0, 11)), CONFIG);
    expect(outcome).toMatchObject({ action: 'lost' });
    expect(await catalog.getRestore(r.id)).toMatchObject({
      state: 'failed',
      error: `SSM does not know command cmd-gone of restore ${r.id} on ${INSTANCE} (never delivered, or aged out of SSM's history); recorded failed, lock released`,
    });
    expect(await lockIsFree(catalog, INSTANCE, 'pgdata')).toBe(true);
  });

  it('a drill whose completion was lost is recorded on the volume as a failed drill, and the failure is announced', async () => {
    const r = await startedRestore(
      catalog,
      {
        id: 'r-drill1-0a0b0c0d',
        mode: 'drill',
        instanceId: INSTANCE,
        volume: 'lifeboat-drill-r-drill1-0a0b0c0d',
        state: 'sent',
        commandId: 'cmd-drill',
        drill: { volume: 'pgdata' },
      },
      t0,
    );
    await catalog.putArchive({
      key: r.archiveKey,
      source: 'h',
      volume: 'pgdata',
      takenAt: '2026-11-27T00:00:00Z',
      compression: 'gzip',
      size: 10,
      catalogedAt: t0.toISOString(),
    });
    ssmMock.on(GetCommandInvocationCommand).resolves({ Status: 'TimedOut', StatusDetails: 'Execution Timed Out', StandardOutputContent: 'downloading...\n' });

    await sweep(deps(minutes(t0, 11)), CONFIG);
    expect((await catalog.listVolumes()).find((v) => v.volume === 'pgdata')?.lastDrill).toMatchObject({
      restoreId: r.id,
      outcome: 'failed',
      error: 'the command ended TimedOut (Execution Timed Out) without a result line',
    });
    expect(notified.map((n) => n.subject)).toEqual([`Lifeboat drill FAILED: h/pgdata (archive ${r.archiveKey})`]);
  });

  it('finds in-flight restores with a Query on the active index, never a table Scan, however many finished ones there are', async () => {
    for (let i = 0; i < 30; i++) {
      const done = await startedRestore(
        catalog,
        { id: `r-done${i.toString()}-0a0b0c0d`, instanceId: INSTANCE, volume: `v${i.toString()}`, state: 'sent', commandId: `cmd-d${i.toString()}` },
        t0,
      );
      await catalog.updateRestore(done.id, ['sent'], { state: 'succeeded' });
    }
    const open = await startedRestore(catalog, { id: 'r-open1-0a0b0c0d', instanceId: INSTANCE, volume: 'pgdata', state: 'running', commandId: 'cmd-open' }, t0);
    ssmMock.on(GetCommandInvocationCommand).resolves({ Status: 'InProgress' });
    const send = vi.spyOn(dynamo.doc, 'send');
    try {
      expect((await sweep(deps(minutes(t0, 11)), CONFIG)).map((o) => o.restoreId)).toEqual([open.id]);
      expect(send.mock.calls.some(([command]) => command instanceof ScanCommand)).toBe(false);
    } finally {
      send.mockRestore();
    }
  });

  it('one restore SSM cannot be asked about does not stop the others; the sweep then fails loudly', async () => {
    await startedRestore(catalog, { id: 'r-err1-0a0b0c0d', instanceId: INSTANCE, volume: 'a', state: 'sent', commandId: 'cmd-throttled' }, t0);
    const ok = await startedRestore(catalog, { id: 'r-ok1-0a0b0c0d', instanceId: INSTANCE, volume: 'b', state: 'sent', commandId: 'cmd-ok' }, t0);
    ssmMock.on(GetCommandInvocationCommand, { CommandId: 'cmd-throttled' }).rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));
    ssmMock.on(GetCommandInvocationCommand, { CommandId: 'cmd-ok' }).resolves({ Status: 'Success', StandardOutputContent: resultLine('succeeded') });

    await expect(sweep({ ...deps(minutes(t0, 11)) }, CONFIG)).rejects.toThrow('1 restore(s) could not be swept');
    expect((await catalog.getRestore(ok.id))?.state).toBe('succeeded');
    expect(await lockIsFree(catalog, INSTANCE, 'a')).toBe(false);
  });
});
