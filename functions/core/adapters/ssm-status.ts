import {
  GetCommandInvocationCommand,
  InvalidCommandId,
  InvocationDoesNotExist,
  ListCommandInvocationsCommand,
  type CommandInvocation,
  type ListCommandInvocationsCommandInput,
  type SSMClient,
} from '@aws-sdk/client-ssm';
import type { CommandStatusReader, InvocationStatus } from '../restore/sweeper.ts';

/** Pages read at most per question (50 invocations a page). */
const MAX_PAGES = 20;

const statusOf = (i: CommandInvocation): InvocationStatus | undefined =>
  i.CommandId && i.InstanceId ? { commandId: i.CommandId, instanceId: i.InstanceId, status: i.Status ?? 'Unknown', comment: i.Comment } : undefined;

/** The sweeper's questions, answered by SSM Run Command. */
export class SsmCommandStatus implements CommandStatusReader {
  constructor(
    private readonly ssm: SSMClient,
    /** Name of the deployed restore-volume document (only its commands are looked at). */
    private readonly restoreDocumentName: string,
  ) {}

  async invocation(commandId: string, instanceId: string): Promise<InvocationStatus | undefined> {
    try {
      const out = await this.ssm.send(new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: instanceId }));
      return { commandId, instanceId, status: out.Status ?? 'Unknown', comment: out.Comment };
    } catch (e) {
      if (e instanceof InvocationDoesNotExist || e instanceof InvalidCommandId) return undefined;
      throw e;
    }
  }

  invocationsOf(commandId: string): Promise<InvocationStatus[]> {
    return this.list({ CommandId: commandId });
  }

  invocationsOn(instanceId: string, since: Date): Promise<InvocationStatus[]> {
    return this.list({
      InstanceId: instanceId,
      Filters: [
        { key: 'InvokedAfter', value: since.toISOString() },
        { key: 'DocumentName', value: this.restoreDocumentName },
      ],
    });
  }

  private async list(input: ListCommandInvocationsCommandInput): Promise<InvocationStatus[]> {
    const found: InvocationStatus[] = [];
    let token: string | undefined;
    for (let page = 0; page < MAX_PAGES; page++) {
      let out;
      try {
        out = await this.ssm.send(new ListCommandInvocationsCommand({ ...input, MaxResults: 50, NextToken: token }));
      } catch (e) {
        if (e instanceof InvalidCommandId) return found; // a command id SSM never issued: it knows no invocation of it
        throw e;
      }
      for (const i of out.CommandInvocations ?? []) {
        const status = statusOf(i);
        if (status) found.push(status);
      }
      token = out.NextToken;
      if (!token) break;
    }
    return found;
  }
}
