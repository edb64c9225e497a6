import { randomUUID } from 'node:crypto';
import { runDocument } from '../runbooks/local-runner.ts';
import type { CommandDocument } from '../runbooks/document.ts';
import { RestoreResult } from '../runbooks/results.ts';
import type { CommandRunner, InstanceDirectory, InstanceStatus, InvocationOutput, SendRestore } from '../restore/ports.ts';
import type { CommandStatusChange } from '../restore/completion.ts';
import { ANY_SOURCE } from '../restore/targets.ts';

/**
 * Runs the restore document on this machine's Docker engine in place of SSM
 * (the CLI's local mode and the end-to-end tests). When a command ends it
 * calls `onStatusChange` the way EventBridge delivers SSM's status change.
 */
export class LocalCommandRunner implements CommandRunner, InstanceDirectory {
  private readonly outputs = new Map<string, InvocationOutput>();
  private readonly running = new Map<string, Promise<void>>();
  private readonly cancels = new Map<string, AbortController>();
  private readonly byRestore = new Map<string, string>();
  /** Commands whose end (and its status-change delivery) is over. */
  private readonly done = new Set<string>();

  constructor(
    private readonly document: CommandDocument,
    private readonly options: {
      readonly instanceId: string;
      readonly env?: Readonly<Record<string, string>>;
      readonly onStatusChange?: (change: CommandStatusChange) => Promise<unknown>;
      readonly onStderr?: (chunk: string) => void;
      /**
       * The sources this machine declares it may receive (a host's `lifeboat:sources` tag).
       * @default ['*'] — local mode, the end-to-end tests, the demo and the bench restore
       * whatever they back up on this one machine: it is everyone's spare host.
       */
      readonly sources?: readonly string[];
    },
  ) {}

  status(instanceId: string): Promise<InstanceStatus> {
    return Promise.resolve(
      instanceId === this.options.instanceId
        ? { online: true, pingStatus: 'Online', platform: 'Linux', sources: this.options.sources ?? [ANY_SOURCE] }
        : { online: false, pingStatus: 'NotRegistered' },
    );
  }

  sendRestore(request: SendRestore): Promise<string> {
    const commandId = randomUUID();
    const cancel = new AbortController();
    this.cancels.set(commandId, cancel);
    this.byRestore.set(request.restoreId, commandId);
    const run = runDocument(this.document, request.parameters, RestoreResult, {
      env: this.options.env,
      onStderr: this.options.onStderr,
      timeoutSeconds: request.timeoutSeconds,
      signal: cancel.signal,
    }).then(async (outcome) => {
      const status = outcome.timedOut ? 'TimedOut' : cancel.signal.aborted ? 'Cancelled' : outcome.exitCode === 0 ? 'Success' : 'Failed';
      this.outputs.set(commandId, { status, stdout: outcome.stdout });
      try {
        await this.options.onStatusChange?.({ commandId, instanceId: request.instanceId, status });
      } finally {
        this.done.add(commandId);
      }
    });
    this.running.set(commandId, run);
    return Promise.resolve(commandId);
  }

  invocationOutput(commandId: string): Promise<InvocationOutput> {
    return Promise.resolve(this.outputs.get(commandId) ?? { status: 'InProgress', stdout: '' });
  }

  /**
   * Like SSM CancelCommand: TERM to the script's process group, whose trap puts the
   * host back; the status becomes Cancelled when the script has ended.
   */
  cancel(commandId: string): Promise<void> {
    this.cancels.get(commandId)?.abort();
    return Promise.resolve();
  }

  /** Is this command still running here? */
  runs(commandId: string): boolean {
    return this.cancels.has(commandId) && !this.done.has(commandId);
  }

  commandFor(restoreId: string): Promise<string | undefined> {
    return Promise.resolve(this.byRestore.get(restoreId));
  }

  /** Cancels every command still running. */
  cancelAll(): void {
    for (const cancel of this.cancels.values()) cancel.abort();
  }

  /** Resolves when every command sent so far has finished. */
  async settled(): Promise<void> {
    await Promise.allSettled(this.running.values());
  }

  /** Resolves when the command (and its status-change delivery) has finished. */
  async finished(commandId: string): Promise<void> {
    await this.running.get(commandId);
  }
}
