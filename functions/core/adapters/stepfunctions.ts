import { SendTaskFailureCommand, SendTaskSuccessCommand, StartExecutionCommand, TaskDoesNotExist, TaskTimedOut, type SFNClient } from '@aws-sdk/client-sfn';
import type { MemberResult, RecoveryEngine, TaskCallback } from '../recovery/model.ts';

/** Starts the recovery state machine for a recorded recovery; the execution is named after it (a second start of the same recovery is refused by Step Functions). */
export class SfnRecoveryEngine implements RecoveryEngine {
  constructor(
    private readonly sfn: SFNClient,
    private readonly stateMachineArn: string,
  ) {}

  async start(recoveryId: string): Promise<string> {
    const out = await this.sfn.send(
      new StartExecutionCommand({ stateMachineArn: this.stateMachineArn, name: recoveryId, input: JSON.stringify({ recoveryId }) }),
    );
    if (!out.executionArn) throw new Error(`Step Functions started no execution for recovery ${recoveryId}`);
    return out.executionArn;
  }
}

/**
 * Answers a recovery member's task token. A token that no longer exists or has timed out (the
 * execution was stopped, or the member's timeout passed) is logged by the caller's logger and
 * otherwise ignored: the restore's own record is already final, and nothing is waiting for it.
 */
export class SfnTaskCallback implements TaskCallback {
  constructor(
    private readonly sfn: SFNClient,
    private readonly warn: (message: string, error: unknown) => void = () => undefined,
  ) {}

  async succeed(taskToken: string, output: MemberResult): Promise<void> {
    await this.answer(() => this.sfn.send(new SendTaskSuccessCommand({ taskToken, output: JSON.stringify(output) })));
  }

  async fail(taskToken: string, error: string, cause: string): Promise<void> {
    // Step Functions limits: error 256 characters, cause 32768.
    await this.answer(() => this.sfn.send(new SendTaskFailureCommand({ taskToken, error: error.slice(0, 256), cause: cause.slice(0, 32_768) })));
  }

  private async answer(send: () => Promise<unknown>): Promise<void> {
    try {
      await send();
    } catch (e) {
      if (e instanceof TaskDoesNotExist || e instanceof TaskTimedOut) {
        this.warn('the recovery task token is no longer waiting (execution stopped or timed out)', e);
        return;
      }
      throw e;
    }
  }
}
