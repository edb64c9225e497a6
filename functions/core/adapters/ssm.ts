import { CloudWatchLogsClient, GetLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { DescribeInstanceInformationCommand, GetCommandInvocationCommand, SendCommandCommand, type SSMClient } from '@aws-sdk/client-ssm';
import type { CommandRunner, InstanceDirectory, InstanceStatus, InvocationOutput, SendRestore } from '../restore/ports.ts';

/** GetCommandInvocation returns at most this much stdout; beyond it, read CloudWatch. */
export const SSM_STDOUT_LIMIT = 24_000;

export interface SsmRunnerConfig {
  /** Name (or ARN) of the deployed restore-volume document. */
  readonly restoreDocumentName: string;
  /** Log group the command output is streamed to (full output, beyond 24 000 characters). */
  readonly outputLogGroup: string;
  /** The document's step name: the CloudWatch stream is `<command>/<instance>/<step>/stdout`. @default 'restoreVolume' */
  readonly stepName?: string;
}

/** Runs the restore document through SSM Run Command. */
export class SsmCommandRunner implements CommandRunner, InstanceDirectory {
  constructor(
    private readonly ssm: SSMClient,
    private readonly logs: CloudWatchLogsClient,
    private readonly config: SsmRunnerConfig,
  ) {}

  async sendRestore(request: SendRestore): Promise<string> {
    const out = await this.ssm.send(
      new SendCommandCommand({
        DocumentName: this.config.restoreDocumentName,
        InstanceIds: [request.instanceId],
        Parameters: Object.fromEntries(Object.entries(request.parameters).map(([k, v]) => [k, [v]])),
        Comment: request.comment.slice(0, 100),
        TimeoutSeconds: 600, // delivery: the host must pick the command up within 10 minutes
        CloudWatchOutputConfig: { CloudWatchOutputEnabled: true, CloudWatchLogGroupName: this.config.outputLogGroup },
      }),
    );
    const id = out.Command?.CommandId;
    if (!id) throw new Error('SendCommand returned no command id');
    return id;
  }

  async invocationOutput(commandId: string, instanceId: string): Promise<InvocationOutput> {
    const inv = await this.ssm.send(new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: instanceId }));
    let stdout = inv.StandardOutputContent ?? '';
    if (stdout.length >= SSM_STDOUT_LIMIT) stdout = await this.tailFromCloudWatch(commandId, instanceId, stdout);
    return { status: inv.Status ?? 'Unknown', statusDetails: inv.StatusDetails, stdout, comment: inv.Comment };
  }

  /** The result line is last: the newest CloudWatch events hold it. */
  private async tailFromCloudWatch(commandId: string, instanceId: string, fallback: string): Promise<string> {
    try {
      const out = await this.logs.send(
        new GetLogEventsCommand({
          logGroupName: this.config.outputLogGroup,
          logStreamName: `${commandId}/${instanceId}/${this.config.stepName ?? 'restoreVolume'}/stdout`,
          startFromHead: false,
          limit: 100,
        }),
      );
      const text = (out.events ?? []).map((e) => e.message ?? '').join('\n');
      return text || fallback;
    } catch {
      return fallback; // the truncated text then has no result line: reported as such
    }
  }

  /** An online managed instance carrying the tag (drill hosts chosen by tag), or undefined. */
  async onlineInstanceWithTag(key: string, value: string): Promise<string | undefined> {
    let token: string | undefined;
    for (let page = 0; page < 20; page++) {
      const out = await this.ssm.send(new DescribeInstanceInformationCommand({ Filters: [{ Key: `tag:${key}`, Values: [value] }], NextToken: token, MaxResults: 50 }));
      const online = (out.InstanceInformationList ?? []).filter((i) => i.PingStatus === 'Online' && i.PlatformType === 'Linux' && i.InstanceId);
      if (online[0]?.InstanceId) return online[0].InstanceId;
      token = out.NextToken;
      if (!token) return undefined;
    }
    return undefined;
  }

  async status(instanceId: string): Promise<InstanceStatus> {
    const out = await this.ssm.send(new DescribeInstanceInformationCommand({ Filters: [{ Key: 'InstanceIds', Values: [instanceId] }] }));
    const info = out.InstanceInformationList?.[0];
    if (!info) return { online: false, pingStatus: 'NotRegistered' };
    return { online: info.PingStatus === 'Online', pingStatus: info.PingStatus ?? 'Unknown', platform: info.PlatformType, agentVersion: info.AgentVersion };
  }
}
