import { GetCommandInvocationCommand, InvalidCommandId, InvocationDoesNotExist, ListCommandInvocationsCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { SsmCommandStatus } from '#core/adapters/ssm-status.ts';

const ssmMock = mockClient(SSMClient);
const INSTANCE = 'i-0123456789abcdef0';

describe('SsmCommandStatus (the sweeper’s questions to SSM)', () => {
  const status = new SsmCommandStatus(new SSMClient({ region: 'eu-west-1' }), 'Lifeboat-Restore');
  beforeEach(() => {
    ssmMock.reset();
  });

  it('an invocation SSM does not know (or a command id it never issued) is undefined, not an error', async () => {
    ssmMock.on(GetCommandInvocationCommand, { CommandId: 'gone' }).rejects(new InvocationDoesNotExist({ $metadata: {}, message: 'x' }));
    ssmMock.on(GetCommandInvocationCommand, { CommandId: 'bad' }).rejects(new InvalidCommandId({ $metadata: {}, message: 'x' }));
    ssmMock.on(GetCommandInvocationCommand, { CommandId: 'ok' }).resolves({ Status: 'InProgress', Comment: 'lifeboat restore r-1-0a0b0c0d' });
    expect(await status.invocation('gone', INSTANCE)).toBeUndefined();
    expect(await status.invocation('bad', INSTANCE)).toBeUndefined();
    expect(await status.invocation('ok', INSTANCE)).toEqual({
      commandId: 'ok',
      instanceId: INSTANCE,
      status: 'InProgress',
      comment: 'lifeboat restore r-1-0a0b0c0d',
    });
  });

  it('any other SSM failure (throttling, access denied) is thrown, so the sweep reports it instead of guessing', async () => {
    ssmMock.on(GetCommandInvocationCommand).rejects(Object.assign(new Error('denied'), { name: 'AccessDeniedException' }));
    await expect(status.invocation('x', INSTANCE)).rejects.toThrow('denied');
  });

  it('lists the restore document’s invocations on an instance since a time, following every page', async () => {
    ssmMock
      .on(ListCommandInvocationsCommand)
      .resolvesOnce({ CommandInvocations: [{ CommandId: 'c1', InstanceId: INSTANCE, Status: 'Success', Comment: 'a' }], NextToken: 'p2' })
      .resolvesOnce({ CommandInvocations: [{ CommandId: 'c2', InstanceId: INSTANCE, Status: 'Failed', Comment: 'b' }, { Status: 'Success' }] });
    const since = new Date('2026-11-27T10:00:00Z');
    expect(await status.invocationsOn(INSTANCE, since)).toEqual([
      { commandId: 'c1', instanceId: INSTANCE, status: 'Success', comment: 'a' },
      { commandId: 'c2', instanceId: INSTANCE, status: 'Failed', comment: 'b' },
    ]);
    expect(ssmMock).toHaveReceivedCommandTimes(ListCommandInvocationsCommand, 2);
    expect(ssmMock).toHaveReceivedNthCommandWith(ListCommandInvocationsCommand, 2, {
      InstanceId: INSTANCE,
      NextToken: 'p2',
      Filters: [
        { key: 'InvokedAfter', value: '2026-11-27T10:00:00.000Z' },
        { key: 'DocumentName', value: 'Lifeboat-Restore' },
      ],
    });
  });

  it('the invocations of a command id SSM never issued are none', async () => {
    ssmMock.on(ListCommandInvocationsCommand).rejects(new InvalidCommandId({ $metadata: {}, message: 'x' }));
    expect(await status.invocationsOf('never')).toEqual([]);
  });
});
