import { CloudWatchLogsClient, GetLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { GetCommandInvocationCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SSM_STDOUT_LIMIT, SsmCommandRunner } from '#core/adapters/ssm.ts';
import { DynamoDbCatalog } from '#core/catalog/dynamodb-catalog.ts';
import type { RestoreRecord } from '#core/catalog/model.ts';
import { completeRestore, type CompletionDeps } from '#core/restore/completion.ts';
import type { RestoreNotification } from '#core/restore/ports.ts';
import { startLocalDynamo, type LocalDynamo } from '#core/local/dynamodb.ts';
import { resultLine } from '../support/restores.ts';

const ssmMock = mockClient(SSMClient);
const logsMock = mockClient(CloudWatchLogsClient);
const INSTANCE = 'i-0123456789abcdef0';

describe('completion handling for every terminal status (DynamoDB-compatible server; SSM and CloudWatch mocked)', () => {
  let dynamo: LocalDynamo;
  let catalog: DynamoDbCatalog;
  let deps: CompletionDeps;
  const notified: RestoreNotification[] = [];
  const metrics: { outcome: string }[] = [];
  let n = 0;

  beforeAll(async () => {
    dynamo = await startLocalDynamo();
    catalog = new DynamoDbCatalog(dynamo.doc, await dynamo.createCatalogTable());
    const runner = new SsmCommandRunner(new SSMClient({ region: 'eu-west-1' }), new CloudWatchLogsClient({ region: 'eu-west-1' }), {
      restoreDocumentName: 'doc',
      outputLogGroup: '/lifeboat/out',
    });
    deps = {
      catalog,
      runner,
      notifier: {
        restoreFinished: (m) => {
          notified.push(m);
          return Promise.resolve();
        },
      },
      metrics: { restoreFinished: (m) => metrics.push(m) },
    };
  });
  afterAll(async () => {
    await dynamo.close();
  });
  beforeEach(() => {
    ssmMock.reset();
    logsMock.reset();
  });

  /** A sent restore holding its lock. */
  async function sent(
    archiveKey = 'archives/h/pgdata/20261127T000000Z.tar.gz',
    extra: Partial<RestoreRecord> = {},
  ): Promise<{ id: string; commandId: string }> {
    const id = `r-${++n}`;
    const commandId = `cmd-${n}`;
    const now = new Date().toISOString();
    const record: RestoreRecord = {
      id,
      requestedBy: 'tester',
      mode: 'restore',
      state: 'sent',
      archiveKey,
      source: 'h',
      volume: `pgdata${n}`,
      instanceId: INSTANCE,
      containerName: 'db',
      ifVolumeExists: 'fail',
      commandId,
      createdAt: now,
      updatedAt: now,
      ...extra,
    };
    await catalog.createRestore(record);
    await catalog.linkCommand(commandId, id);
    await catalog.acquireLock(INSTANCE, `pgdata${n}`, id, 3600);
    return { id, commandId };
  }
  const lockIsFree = async (id: string): Promise<boolean> => {
    const volume = `pgdata${id.slice(2)}`;
    try {
      await catalog.acquireLock(INSTANCE, volume, 'probe', 1);
      return true;
    } catch {
      return false;
    }
  };

  it.each([
    ['Success', 'succeeded', resultLine('succeeded'), 'succeeded', null],
    ['Failed', 'failed', resultLine('failed'), 'failed', 'extract failed: Unexpected EOF'],
    [
      'Failed',
      'refused',
      resultLine('refused', { failedPhase: 'preflight', error: 'volume pgdata already holds data' }),
      'failed',
      'volume pgdata already holds data',
    ],
    ['TimedOut', 'no result line', 'progress...\n', 'failed', 'the command ended TimedOut (Execution Timed Out) without a result line'],
    ['Cancelled', 'no result line', '', 'cancelled', 'the command was cancelled before it started on the host'],
    ['Undeliverable', 'nothing', '', 'failed', 'the command ended Undeliverable (Undeliverable) without a result line'],
    ['Terminated', 'nothing', '', 'failed', 'the command ended Terminated (Terminated) without a result line'],
    [
      'Success',
      'a lying result line',
      '{"lifeboat":"restore-result","outcome":"succeeded","bytes":-1}',
      'failed',
      'the command ended Success (Success) without a result line',
    ],
  ])('%s with %s -> %s, lock released, one notification', async (status, _what, stdout, state, error) => {
    const { id, commandId } = await sent();
    const details = { TimedOut: 'Execution Timed Out', Undeliverable: 'Undeliverable', Terminated: 'Terminated', Success: 'Success' }[status];
    ssmMock.on(GetCommandInvocationCommand).resolves({ Status: status as 'Success', StatusDetails: details, StandardOutputContent: stdout });
    const before = notified.length;
    const outcome = await completeRestore(deps, { commandId, instanceId: INSTANCE, status });
    expect(outcome).toMatchObject({ action: 'finished', record: { state, error } });
    expect(await lockIsFree(id)).toBe(true);
    expect(notified.length).toBe(before + 1);
    expect(notified.at(-1)?.text).toContain(state.toUpperCase());
  });

  it('the notification puts the time the plan predicted beside the time the host measured', async () => {
    const { id, commandId } = await sent(undefined, { predictedSeconds: 3 });
    ssmMock.on(GetCommandInvocationCommand).resolves({ Status: 'Success', StatusDetails: 'Success', StandardOutputContent: resultLine('succeeded') });
    await completeRestore(deps, { commandId, instanceId: INSTANCE, status: 'Success' });
    const record = await catalog.getRestore(id);
    expect(record?.predictedSeconds).toBe(3);
    expect(notified.at(-1)?.text).toContain(`Predicted 3.0 s, measured ${(record?.totalSeconds ?? -1).toFixed(1)} s.`);
  });

  const CATALOGED = 'archives/h/pgdata/20261128T000000Z.tar.gz';
  // Threat: a result line that lies (a truncated or substituted download reported as fine, a line from another run).
  it.each([
    ['the size', { bytes: 999 }, 'the host reported success after receiving 999 bytes, but archives/h/pgdata/20261128T000000Z.tar.gz has 2048: not trusted'],
    [
      'the checksum',
      { sha256: 'ef'.repeat(32) },
      `the host reported success with sha256 ${'ef'.repeat(32)}, but archives/h/pgdata/20261128T000000Z.tar.gz has ${'ab'.repeat(32)}: not trusted`,
    ],
  ])('a success that contradicts the cataloged archive (%s) is recorded as failed, with why; the lock is released', async (_what, lie, error) => {
    await catalog.putArchive({
      key: CATALOGED,
      source: 'h',
      volume: 'pgdata',
      takenAt: '2026-11-28T00:00:00Z',
      compression: 'gzip',
      size: 2048,
      sha256: 'ab'.repeat(32),
      catalogedAt: new Date().toISOString(),
    });
    const { id, commandId } = await sent(CATALOGED);
    ssmMock
      .on(GetCommandInvocationCommand)
      .resolves({ Status: 'Success', StandardOutputContent: resultLine('succeeded', { bytes: 2048, sha256: 'ab'.repeat(32), ...lie }) });
    expect(await completeRestore(deps, { commandId, instanceId: INSTANCE, status: 'Success' })).toMatchObject({
      action: 'finished',
      record: { state: 'failed', error },
    });
    expect(await lockIsFree(id)).toBe(true);
    // The same line telling the truth is a success.
    const honest = await sent(CATALOGED);
    ssmMock
      .on(GetCommandInvocationCommand)
      .resolves({ Status: 'Success', StandardOutputContent: resultLine('succeeded', { bytes: 2048, sha256: 'ab'.repeat(32) }) });
    expect(await completeRestore(deps, { commandId: honest.commandId, instanceId: INSTANCE, status: 'Success' })).toMatchObject({
      record: { state: 'succeeded' },
    });
  });

  it('output beyond 24 000 characters is read from CloudWatch, where the result line is', async () => {
    const { commandId } = await sent();
    ssmMock.on(GetCommandInvocationCommand).resolves({ Status: 'Success', StandardOutputContent: 'x'.repeat(SSM_STDOUT_LIMIT) });
    logsMock.on(GetLogEventsCommand).resolves({ events: [{ message: 'last progress' }, { message: resultLine('succeeded') }] });
    expect(await completeRestore(deps, { commandId, instanceId: INSTANCE, status: 'Success' })).toMatchObject({ record: { state: 'succeeded' } });
    expect(logsMock).toHaveReceivedCommandWith(GetLogEventsCommand, {
      logGroupName: '/lifeboat/out',
      logStreamName: `${commandId}/${INSTANCE}/restoreVolume/stdout`,
      startFromHead: false,
    });
  });

  it('out of order: InProgress after the final status changes nothing; duplicates notify once', async () => {
    const { id, commandId } = await sent();
    ssmMock.on(GetCommandInvocationCommand).resolves({ Status: 'Success', StandardOutputContent: resultLine('succeeded') });
    expect(await completeRestore(deps, { commandId, instanceId: INSTANCE, status: 'InProgress' })).toMatchObject({ action: 'running' });
    expect((await catalog.getRestore(id))?.state).toBe('running');
    await completeRestore(deps, { commandId, instanceId: INSTANCE, status: 'Success' });
    const count = notified.length;
    expect(await completeRestore(deps, { commandId, instanceId: INSTANCE, status: 'Success' })).toMatchObject({ action: 'duplicate' });
    expect(await completeRestore(deps, { commandId, instanceId: INSTANCE, status: 'InProgress' })).toMatchObject({ action: 'running' });
    expect((await catalog.getRestore(id))?.state).toBe('succeeded');
    expect(notified.length).toBe(count);
  });

  it('a command that is not a Lifeboat restore is ignored', async () => {
    ssmMock.on(GetCommandInvocationCommand).resolves({ Status: 'Success', Comment: 'patching run', StandardOutputContent: '' });
    expect(await completeRestore(deps, { commandId: 'someone-elses', instanceId: INSTANCE, status: 'Success' })).toMatchObject({ action: 'ignored' });
    expect(await completeRestore(deps, { commandId: 'someone-elses', instanceId: INSTANCE, status: 'InProgress' })).toMatchObject({ action: 'ignored' });
  });

  it('the API failed after sending (command never linked): the comment finds the restore, the record tells the truth', async () => {
    const id = 'r-mwzzzzzz-0a1b2c3d';
    const now = new Date().toISOString();
    await catalog.createRestore({
      id,
      requestedBy: 'tester',
      mode: 'restore',
      state: 'planned',
      archiveKey: 'archives/h/pgdata/20261127T000000Z.tar.gz',
      source: 'h',
      volume: 'pgdata-orphan',
      instanceId: INSTANCE,
      containerName: 'db',
      ifVolumeExists: 'fail',
      createdAt: now,
      updatedAt: now,
    });
    await catalog.acquireLock(INSTANCE, 'pgdata-orphan', id, 3600);
    ssmMock.on(GetCommandInvocationCommand).resolves({ Status: 'Success', Comment: `lifeboat restore ${id}`, StandardOutputContent: resultLine('succeeded') });
    expect(await completeRestore(deps, { commandId: 'cmd-orphan', instanceId: INSTANCE, status: 'Success' })).toMatchObject({
      action: 'finished',
      record: { state: 'succeeded', commandId: 'cmd-orphan' },
    });
    expect(await catalog.restoreIdForCommand('cmd-orphan')).toBe(id);
    await expect(catalog.acquireLock(INSTANCE, 'pgdata-orphan', 'probe', 1)).resolves.toBeUndefined();
  });
});
