import { CloudWatchLogsClient, GetLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import {
  CancelCommandCommand,
  DescribeInstanceInformationCommand,
  GetCommandInvocationCommand,
  ListCommandInvocationsCommand,
  ListTagsForResourceCommand,
  SendCommandCommand,
  type SSMClient,
} from '@aws-sdk/client-ssm';
import type { BackupInvocation, BackupRunner, SendBackup } from '../backup/service.ts';
import { ClientError } from '../restore/errors.ts';
import type { CommandRunner, InstanceDirectory, InstanceStatus, InvocationOutput, SendRestore } from '../restore/ports.ts';
import { TARGET_SOURCES_TAG, parseSourcesTag } from '../restore/targets.ts';
import { Ec2InstanceTags, type InstanceTagReader } from './ec2-tags.ts';

/** GetCommandInvocation returns at most this much stdout; beyond it, read CloudWatch. */
export const SSM_STDOUT_LIMIT = 24_000;

export interface SsmRunnerConfig {
  /** Name (or ARN) of the deployed restore-volume document. */
  readonly restoreDocumentName: string;
  /**
   * Name of the deployed cancel-restore document, which asks a running restore to stop with
   * TERM so that its trap puts the host back. @default none: CancelCommand only (SIGKILL)
   */
  readonly cancelDocumentName?: string;
  /** Log group the command output is streamed to (full output, beyond 24 000 characters). */
  readonly outputLogGroup: string;
  /** The document's step name: the CloudWatch stream is `<command>/<instance>/<step>/stdout`. @default 'restoreVolume' */
  readonly stepName?: string;
  /** Reads EC2 instances' tags. @default EC2 DescribeTags with the SSM client's region and credentials */
  readonly ec2Tags?: InstanceTagReader;
  /** Name of the deployed backup-volume document (`POST /sources/{source}/backups`). @default none: backups are refused */
  readonly backupDocumentName?: string;
}

/** The backup-volume document's step: its CloudWatch stream is `<command>/<instance>/backupVolume/stdout`. */
export const BACKUP_STEP_NAME = 'backupVolume';

/** SSM's answers to an instance id it cannot use: the caller's input, never a 500. */
const INVALID_INSTANCE_ERRORS = new Set(['InvalidInstanceId', 'InvalidInstanceInformationFilterValue', 'InvalidResourceId']);

/** Runs the restore document through SSM Run Command. */
export class SsmCommandRunner implements CommandRunner, InstanceDirectory, BackupRunner {
  private readonly ec2Tags: InstanceTagReader;

  constructor(
    private readonly ssm: SSMClient,
    private readonly logs: CloudWatchLogsClient,
    private readonly config: SsmRunnerConfig,
  ) {
    this.ec2Tags = config.ec2Tags ?? new Ec2InstanceTags({ region: ssm.config.region, credentials: ssm.config.credentials });
  }

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

  private backupDocument(): string {
    if (this.config.backupDocumentName === undefined) throw new Error('SsmCommandRunner: no backupDocumentName configured');
    return this.config.backupDocumentName;
  }

  /** Sends the backup document, its output streamed to the command-output log group as restores' is. */
  async sendBackup(request: SendBackup): Promise<string> {
    if (request.comment.length > 100) throw new Error(`backup comment longer than SSM's 100 characters: ${request.comment}`);
    const out = await this.ssm.send(
      new SendCommandCommand({
        DocumentName: this.backupDocument(),
        InstanceIds: [request.instanceId],
        Parameters: Object.fromEntries(Object.entries(request.parameters).map(([k, v]) => [k, [v]])),
        Comment: request.comment,
        TimeoutSeconds: 600, // delivery: the host must pick the command up within 10 minutes (the document bounds the run)
        CloudWatchOutputConfig: { CloudWatchOutputEnabled: true, CloudWatchLogGroupName: this.config.outputLogGroup },
      }),
    );
    const id = out.Command?.CommandId;
    if (!id) throw new Error('SendCommand returned no command id');
    return id;
  }

  /** A backup command by its id alone: ListCommandInvocations names its instance, document, comment and status. */
  async backupInvocation(commandId: string): Promise<BackupInvocation | undefined> {
    let listed;
    try {
      listed = await this.ssm.send(new ListCommandInvocationsCommand({ CommandId: commandId, MaxResults: 1 }));
    } catch (e) {
      if (e instanceof Error && e.name === 'InvalidCommandId') return undefined; // SSM does not know it (any more): as if not listed
      throw e;
    }
    const inv = listed.CommandInvocations?.[0];
    if (!inv?.InstanceId) return undefined;
    return {
      instanceId: inv.InstanceId,
      documentName: inv.DocumentName ?? '',
      comment: inv.Comment ?? '',
      status: inv.Status ?? 'Unknown',
      ...(inv.StatusDetails ? { statusDetails: inv.StatusDetails } : {}),
    };
  }

  /** An ended backup's output: GetCommandInvocation, and its log stream beyond 24 000 characters. */
  async backupOutput(commandId: string, instanceId: string): Promise<string> {
    const out = await this.ssm.send(new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: instanceId }));
    const stdout = out.StandardOutputContent ?? '';
    return stdout.length >= SSM_STDOUT_LIMIT ? this.tailFromCloudWatch(commandId, instanceId, stdout, BACKUP_STEP_NAME) : stdout;
  }

  async invocationOutput(commandId: string, instanceId: string): Promise<InvocationOutput> {
    const inv = await this.ssm.send(new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: instanceId }));
    let stdout = inv.StandardOutputContent ?? '';
    if (stdout.length >= SSM_STDOUT_LIMIT) stdout = await this.tailFromCloudWatch(commandId, instanceId, stdout);
    return { status: inv.Status ?? 'Unknown', statusDetails: inv.StatusDetails, stdout, comment: inv.Comment };
  }

  /**
   * Stops a restore so that the host is put back. SSM's CancelCommand kills the command's
   * process group with SIGKILL (amazon-ssm-agent executers_unix.go): no trap would run, and
   * a half-done swap would stay half done. So a command already running on the host is
   * asked to stop by the cancel-restore document (TERM to the restore's script alone): the
   * restore rolls back and ends with its own result line. Only a command the host has not
   * started yet (Pending, Delayed) is cancelled with CancelCommand: nothing runs to clean up.
   */
  async cancel(commandId: string, instanceId: string, restoreId: string): Promise<void> {
    if (this.config.cancelDocumentName !== undefined) {
      const inv = await this.ssm.send(new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: instanceId })).catch((e: unknown) => {
        if (e instanceof Error && e.name === 'InvocationDoesNotExist') return undefined; // not delivered yet
        throw e;
      });
      if (inv?.Status === 'InProgress') {
        await this.ssm.send(
          new SendCommandCommand({
            DocumentName: this.config.cancelDocumentName,
            InstanceIds: [instanceId],
            Parameters: { RestoreId: [restoreId] },
            Comment: `lifeboat cancel ${restoreId}`.slice(0, 100),
            TimeoutSeconds: 600,
            CloudWatchOutputConfig: { CloudWatchOutputEnabled: true, CloudWatchLogGroupName: this.config.outputLogGroup },
          }),
        );
        return;
      }
      if (inv !== undefined && inv.Status !== 'Pending' && inv.Status !== 'Delayed') return; // it has ended (or is ending): the completion path has the last word
    }
    try {
      await this.ssm.send(new CancelCommandCommand({ CommandId: commandId, InstanceIds: [instanceId] }));
    } catch (e) {
      // InvalidCommandId: SSM no longer knows the command as cancellable (finished, or aged out); the completion path has the last word.
      if (e instanceof Error && e.name === 'InvalidCommandId') return;
      throw e;
    }
  }

  /** A Lifeboat command for this restore sent to the instance since `since` (SSM keeps commands 30 days). */
  async commandFor(restoreId: string, instanceId: string, since: Date): Promise<string | undefined> {
    const comment = new RegExp(`^lifeboat (restore|drill) ${restoreId.replace(/[^a-z0-9-]/g, '')}$`);
    // A minute's slack for clocks: the record's time is the sender's, the command's is SSM's.
    const after = new Date(since.getTime() - 60_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    let token: string | undefined;
    for (let page = 0; page < 20; page++) {
      const out = await this.ssm.send(
        new ListCommandInvocationsCommand({
          InstanceId: instanceId,
          Filters: [
            { key: 'InvokedAfter', value: after },
            { key: 'DocumentName', value: this.config.restoreDocumentName },
          ],
          NextToken: token,
          MaxResults: 50,
        }),
      );
      const found = (out.CommandInvocations ?? []).find((c) => comment.test(c.Comment ?? ''));
      if (found?.CommandId) return found.CommandId;
      token = out.NextToken;
      if (!token) return undefined;
    }
    return undefined;
  }

  /** The result line is last: the newest CloudWatch events hold it. */
  private async tailFromCloudWatch(commandId: string, instanceId: string, fallback: string, step = this.config.stepName ?? 'restoreVolume'): Promise<string> {
    try {
      const out = await this.logs.send(
        new GetLogEventsCommand({
          logGroupName: this.config.outputLogGroup,
          logStreamName: `${commandId}/${instanceId}/${step}/stdout`,
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
      const out = await this.ssm.send(
        new DescribeInstanceInformationCommand({ Filters: [{ Key: `tag:${key}`, Values: [value] }], NextToken: token, MaxResults: 50 }),
      );
      const online = (out.InstanceInformationList ?? []).filter((i) => i.PingStatus === 'Online' && i.PlatformType === 'Linux' && i.InstanceId);
      if (online[0]?.InstanceId) return online[0].InstanceId;
      token = out.NextToken;
      if (!token) return undefined;
    }
    return undefined;
  }

  /**
   * Online in SSM, and which sources the host declares it may receive (its
   * `lifeboat:sources` tag: EC2 tags for `i-` instances, SSM tags for `mi-` managed nodes).
   */
  async status(instanceId: string): Promise<InstanceStatus> {
    const info = await this.refusingBadIds(instanceId, async () => {
      const out = await this.ssm.send(new DescribeInstanceInformationCommand({ Filters: [{ Key: 'InstanceIds', Values: [instanceId] }] }));
      return out.InstanceInformationList?.[0];
    });
    if (!info) return { online: false, pingStatus: 'NotRegistered' };
    const tag = await this.refusingBadIds(instanceId, () => this.sourcesTag(instanceId));
    const sources = parseSourcesTag(tag);
    return {
      online: info.PingStatus === 'Online',
      pingStatus: info.PingStatus ?? 'Unknown',
      platform: info.PlatformType,
      agentVersion: info.AgentVersion,
      ...(sources === undefined ? {} : { sources }),
    };
  }

  private async sourcesTag(instanceId: string): Promise<string | undefined> {
    if (!instanceId.startsWith('mi-')) return this.ec2Tags.tag(instanceId, TARGET_SOURCES_TAG);
    const out = await this.ssm.send(new ListTagsForResourceCommand({ ResourceType: 'ManagedInstance', ResourceId: instanceId }));
    return out.TagList?.find((t) => t.Key === TARGET_SOURCES_TAG)?.Value;
  }

  /** An id SSM or EC2 calls invalid is the caller's mistake: a 400 naming it, never a generic 500. */
  private async refusingBadIds<T>(instanceId: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (e) {
      if (e instanceof Error && (INVALID_INSTANCE_ERRORS.has(e.name) || e.name.startsWith('InvalidInstanceID'))) {
        throw new ClientError(
          400,
          `instanceId ${instanceId} is not an instance id AWS accepts (EC2: i- and 8 or 17 hex digits; managed node: mi- and 17 hex digits)`,
          {
            fields: [{ field: 'instanceId', problem: 'must be i-<8 or 17 hex digits> or mi-<17 hex digits>' }],
          },
        );
      }
      throw e;
    }
  }
}
