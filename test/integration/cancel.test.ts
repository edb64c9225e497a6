/**
 * Threat: a restore that must be stopped (wrong archive, wrong host) keeps writing, or its
 * lock is released while the host may still be writing. Cancel asks SSM to stop the
 * command; only the completion path, once the command has ended, records `cancelled` and
 * frees the volume. S3 and DynamoDB are real servers on 127.0.0.1; SSM is mocked.
 */
import {
  CancelCommandCommand,
  DescribeInstanceInformationCommand,
  GetCommandInvocationCommand,
  ListCommandInvocationsCommand,
  SendCommandCommand,
  SSMClient,
  type CommandInvocationStatus,
} from '@aws-sdk/client-ssm';
import type { APIGatewayProxyResult } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ingestCreated } from '#core/catalog/ingest.ts';
import { cancelRestore } from '#core/restore/cancel.ts';
import { completeRestore } from '#core/restore/completion.ts';
import { apiEvent, routeEvent, startApiStack, type ApiStack } from '../support/api.ts';

const ssmMock = mockClient(SSMClient);
const INSTANCE = 'i-0123456789abcdef0';
const KEY = 'archives/db1/pgdata/20261127T031500Z.tar.gz';
const body = { source: 'db1', volume: 'pgdata', instanceId: INSTANCE, containerName: 'db', allowUnverified: true };
const parse = (r: APIGatewayProxyResult): Record<string, unknown> => JSON.parse(r.body) as Record<string, unknown>;
const CALLER = 'arn:aws:sts::123456789012:assumed-role/OnCall/oncall';

describe('cancel: DELETE /sources/{source}/restores/{id}', () => {
  let stack: ApiStack;
  let commands = 0;

  beforeAll(async () => {
    stack = await startApiStack();
    await stack.s3.put(KEY, Buffer.alloc(1024, 1));
    await ingestCreated(stack, KEY, { decoded: true });
  });
  afterAll(async () => {
    await stack.close();
  });
  beforeEach(() => {
    ssmMock.reset();
    stack.hostTags.tags.set(INSTANCE, { 'lifeboat:sources': 'db1' });
    ssmMock
      .on(DescribeInstanceInformationCommand)
      .resolves({ InstanceInformationList: [{ InstanceId: INSTANCE, PingStatus: 'Online', PlatformType: 'Linux' }] });
    ssmMock.on(SendCommandCommand).callsFake(() => ({ Command: { CommandId: `cmd-${(++commands).toString()}` } }));
    ssmMock.on(CancelCommandCommand).resolves({});
  });

  const start = async (): Promise<{ restoreId: string; commandId: string }> => {
    const res = await stack.api(apiEvent({ bodyJson: body }));
    expect(res.statusCode, res.body).toBe(202);
    return parse(res) as { restoreId: string; commandId: string };
  };
  const cancel = (id: string, source = 'db1'): Promise<APIGatewayProxyResult> => stack.api(routeEvent('DELETE', `/sources/${source}/restores/${id}`));
  const volumeFree = async (): Promise<boolean> => {
    try {
      await stack.catalog.acquireLock(INSTANCE, 'pgdata', 'probe', 1);
      await stack.catalog.releaseLock(INSTANCE, 'pgdata', 'probe');
      return true;
    } catch {
      return false;
    }
  };
  /** A restore left `planned` with no command id (a sender that stopped), `ageSeconds` old, holding the volume's lock. */
  const planned = async (id: string, ageSeconds: number, lock = true): Promise<void> => {
    const createdAt = new Date(Date.now() - ageSeconds * 1000).toISOString();
    if (lock) await stack.catalog.acquireLock(INSTANCE, 'pgdata', id, 3600);
    await stack.catalog.createRestore({
      id,
      requestedBy: CALLER,
      mode: 'restore',
      state: 'planned',
      archiveKey: KEY,
      source: 'db1',
      volume: 'pgdata',
      instanceId: INSTANCE,
      containerName: 'db',
      ifVolumeExists: 'fail',
      createdAt,
      updatedAt: createdAt,
    });
  };
  /** The host's trap has put things back and SSM reports the invocation Cancelled, with the script's result line. */
  const hostEnds = async (restoreId: string, commandId: string, status: CommandInvocationStatus = 'Cancelled'): Promise<void> => {
    ssmMock.on(GetCommandInvocationCommand).resolves({
      Status: status,
      StandardOutputContent: JSON.stringify({
        lifeboat: 'restore-result',
        version: 1,
        restoreId,
        outcome: 'failed',
        failedPhase: 'download',
        error: 'interrupted by a signal (SSM timeout or cancel) in phase download',
        volume: 'pgdata',
        hostPath: null,
        container: 'db',
        containerAction: 'none',
        bytes: 512,
        sha256: null,
        compression: 'gzip',
        preservedVolume: null,
        rolledBack: true,
        verifyOutput: null,
        phases: { preflight: 0.2, download: 3, extract: 0, swap: 0, start: 0, verify: 0 },
        totalSeconds: 3.2,
      }),
    });
    await completeRestore(stack, { commandId, instanceId: INSTANCE, status });
  };

  it('a running restore: CancelCommand for its command on its instance, 202 cancelling, recorded; the lock is held until the host has put things back', async () => {
    const { restoreId, commandId } = await start();
    const res = await cancel(restoreId);
    expect(res.statusCode, res.body).toBe(202);
    expect(parse(res)).toMatchObject({ restoreId, state: 'cancelling', statusUrl: `/sources/db1/restores/${restoreId}` });
    expect(ssmMock).toHaveReceivedCommandTimes(CancelCommandCommand, 1);
    expect(ssmMock).toHaveReceivedCommandWith(CancelCommandCommand, { CommandId: commandId, InstanceIds: [INSTANCE] });
    const record = await stack.catalog.getRestore(restoreId);
    expect(record).toMatchObject({ state: 'sent', cancelRequestedBy: CALLER });
    expect(Date.parse(record?.cancelRequestedAt ?? '')).toBeGreaterThan(Date.now() - 60_000);
    // The host may still be writing: the volume stays locked.
    expect(await volumeFree()).toBe(false);

    // Cancel is idempotent: the same answer, the first requester kept.
    const again = await cancel(restoreId);
    expect(again.statusCode).toBe(202);
    expect(parse(again)).toMatchObject({ restoreId, state: 'cancelling' });
    expect((await stack.catalog.getRestore(restoreId))?.cancelRequestedAt).toBe(record?.cancelRequestedAt);

    // The command ends Cancelled (the trap ran): the completion path records it and frees the volume.
    await hostEnds(restoreId, commandId);
    expect(await stack.catalog.getRestore(restoreId)).toMatchObject({
      state: 'cancelled',
      cancelRequestedBy: CALLER,
      error: expect.stringContaining('interrupted by a signal') as unknown,
    });
    expect(await volumeFree()).toBe(true);
    // Asking once more after the end answers that it was cancelled, and asks SSM nothing.
    const after = await cancel(restoreId);
    expect(after.statusCode).toBe(200);
    expect(parse(after)).toMatchObject({ restoreId, state: 'cancelled' });
    expect(ssmMock).toHaveReceivedCommandTimes(CancelCommandCommand, 2);
  });

  it('a restore that already ended otherwise is a 409 saying how it ended; SSM is not asked', async () => {
    const { restoreId, commandId } = await start();
    await hostEnds(restoreId, commandId, 'Failed');
    const res = await cancel(restoreId);
    expect(res.statusCode).toBe(409);
    expect(String(parse(res).error)).toMatch(new RegExp(`restore ${restoreId} already ended: failed at .*interrupted by a signal`));
    expect(parse(res)).toMatchObject({ state: 'failed' });
    expect(ssmMock).not.toHaveReceivedCommand(CancelCommandCommand);
  });

  it('an unknown id is a 404, a restore of another source is a 404 there, and neither reaches SSM', async () => {
    expect((await cancel('r-zzzzzzzz-0badc0de')).statusCode).toBe(404);
    const { restoreId } = await start();
    expect((await cancel(restoreId, 'db2')).statusCode).toBe(404);
    expect(ssmMock).not.toHaveReceivedCommand(CancelCommandCommand);
    expect((await stack.catalog.getRestore(restoreId))?.cancelRequestedBy).toBeUndefined();
    await stack.catalog.releaseLock(INSTANCE, 'pgdata', restoreId);
  });

  it('a restore never sent (planned, no command in SSM, older than any sender): cancelled and its lock released at once', async () => {
    const id = 'r-neversent-0000a0a0';
    await planned(id, 3600);
    ssmMock
      .on(ListCommandInvocationsCommand)
      .resolves({ CommandInvocations: [{ CommandId: 'other', InstanceId: INSTANCE, Comment: 'lifeboat restore r-other-11111111' }] });
    const res = await cancel(id);
    expect(res.statusCode, res.body).toBe(200);
    expect(parse(res)).toMatchObject({ restoreId: id, state: 'cancelled' });
    expect(ssmMock).toHaveReceivedCommandWith(ListCommandInvocationsCommand, { InstanceId: INSTANCE });
    expect(ssmMock).not.toHaveReceivedCommand(CancelCommandCommand);
    expect(await stack.catalog.getRestore(id)).toMatchObject({
      state: 'cancelled',
      cancelRequestedBy: CALLER,
      error: expect.stringContaining('nothing reached the host') as unknown,
    });
    expect(await volumeFree()).toBe(true);
  });

  it('a planned restore whose command did reach SSM (the sender stopped before recording it) is linked and cancelled, its lock kept', async () => {
    const id = 'r-sentlost-0000b0b0';
    await planned(id, 3600);
    ssmMock
      .on(ListCommandInvocationsCommand)
      .resolves({ CommandInvocations: [{ CommandId: 'cmd-lost', InstanceId: INSTANCE, Comment: `lifeboat restore ${id}` }] });
    const res = await cancel(id);
    expect(res.statusCode, res.body).toBe(202);
    expect(ssmMock).toHaveReceivedCommandWith(CancelCommandCommand, { CommandId: 'cmd-lost', InstanceIds: [INSTANCE] });
    expect(await stack.catalog.getRestore(id)).toMatchObject({ state: 'sent', commandId: 'cmd-lost', cancelRequestedBy: CALLER });
    expect(await stack.catalog.restoreIdForCommand('cmd-lost')).toBe(id);
    expect(await volumeFree()).toBe(false);
    await hostEnds(id, 'cmd-lost');
    expect(await volumeFree()).toBe(true);
  });

  it('a planned restore younger than a sender can take is left alone: 409, nothing changed', async () => {
    const id = 'r-sending-0000c0c0';
    await planned(id, 0, false);
    ssmMock.on(ListCommandInvocationsCommand).resolves({ CommandInvocations: [] });
    const res = await cancel(id);
    expect(res.statusCode).toBe(409);
    expect(String(parse(res).error)).toContain('is being sent right now');
    expect(await stack.catalog.getRestore(id)).toMatchObject({ state: 'planned' });
    expect((await stack.catalog.getRestore(id))?.cancelRequestedBy).toBeUndefined();
  });

  it('SSM no longer knowing the command (it ended) is not an error: cancelling, and the completion path decides', async () => {
    const { restoreId } = await start();
    ssmMock.on(CancelCommandCommand).rejects(Object.assign(new Error('gone'), { name: 'InvalidCommandId' }));
    const outcome = await cancelRestore(stack, restoreId, 'slack:T0LIFE/U0ALICE', { sources: ['db1'] });
    expect(outcome).toMatchObject({ restoreId, state: 'cancelling' });
    expect((await stack.catalog.getRestore(restoreId))?.cancelRequestedBy).toBe('slack:T0LIFE/U0ALICE');
    await stack.catalog.releaseLock(INSTANCE, 'pgdata', restoreId);
  });
});
