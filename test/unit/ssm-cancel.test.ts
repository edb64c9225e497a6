import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { CancelCommandCommand, GetCommandInvocationCommand, SendCommandCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { SsmCommandRunner } from '#core/adapters/ssm.ts';

// SSM's CancelCommand kills the command's process group with SIGKILL (amazon-ssm-agent,
// executers_unix.go killProcess): no trap runs, so a half-done swap would stay half done.
const ssm = mockClient(SSMClient);
const runner = new SsmCommandRunner(new SSMClient({ region: 'eu-west-1' }), new CloudWatchLogsClient({ region: 'eu-west-1' }), {
  restoreDocumentName: 'Lifeboat-Restore',
  cancelDocumentName: 'Lifeboat-Cancel',
  outputLogGroup: '/lifeboat/out',
  ec2Tags: { tag: () => Promise.resolve(undefined) },
});
const INSTANCE = 'i-0123456789abcdef0';

describe('cancelling a restore through SSM', () => {
  beforeEach(() => {
    ssm.reset();
    ssm.on(SendCommandCommand).resolves({ Command: { CommandId: 'cancel-cmd' } });
  });

  it('a restore running on the host is asked to stop by the cancel-restore document (TERM: its trap puts the host back), never killed by CancelCommand', async () => {
    ssm.on(GetCommandInvocationCommand).resolves({ Status: 'InProgress' });
    await runner.cancel('cmd-1', INSTANCE, 'r-abc-12345678');
    expect(ssm).toHaveReceivedCommandWith(SendCommandCommand, {
      DocumentName: 'Lifeboat-Cancel',
      InstanceIds: [INSTANCE],
      Parameters: { RestoreId: ['r-abc-12345678'] },
    });
    expect(ssm).not.toHaveReceivedCommand(CancelCommandCommand);
  });

  it.each(['Pending', 'Delayed'] as const)(
    'a command the host has not started (%s) is cancelled by SSM: nothing runs that could need putting back',
    async (status) => {
      ssm.on(GetCommandInvocationCommand).resolves({ Status: status });
      ssm.on(CancelCommandCommand).resolves({});
      await runner.cancel('cmd-1', INSTANCE, 'r-abc-12345678');
      expect(ssm).toHaveReceivedCommandWith(CancelCommandCommand, { CommandId: 'cmd-1', InstanceIds: [INSTANCE] });
      expect(ssm).not.toHaveReceivedCommand(SendCommandCommand);
    },
  );

  it('a command that has ended is left to the completion path: nothing is sent', async () => {
    ssm.on(GetCommandInvocationCommand).resolves({ Status: 'Success' });
    await runner.cancel('cmd-1', INSTANCE, 'r-abc-12345678');
    expect(ssm).not.toHaveReceivedCommand(SendCommandCommand);
    expect(ssm).not.toHaveReceivedCommand(CancelCommandCommand);
  });
});
