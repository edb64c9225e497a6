/** Where the restore document runs: SSM Run Command, or the local runner on this machine's Docker. */
export interface CommandRunner {
  /** Sends the restore document; returns the command id. */
  sendRestore(request: SendRestore): Promise<string>;
  /** The invocation's final status and its full standard output. */
  invocationOutput(commandId: string, instanceId: string): Promise<InvocationOutput>;
  /**
   * Asks the restore to stop on the host so that its trap puts the host back (TERM to its
   * script; SSM's own CancelCommand is a SIGKILL, after which no cleanup runs). Returns at
   * once: the command's terminal status arrives later, through the status-change path.
   */
  cancel(commandId: string, instanceId: string, restoreId: string): Promise<void>;
  /**
   * The command already sent for this restore, found by its comment (`lifeboat <mode> <id>`),
   * or undefined when none was sent to the instance since `since`.
   */
  commandFor(restoreId: string, instanceId: string, since: Date): Promise<string | undefined>;
}

export interface SendRestore {
  readonly instanceId: string;
  readonly restoreId: string;
  /** Exactly the document's parameters (already checked against its patterns). */
  readonly parameters: Readonly<Record<string, string>>;
  /** Shown in the SSM console and CloudTrail. */
  readonly comment: string;
  readonly timeoutSeconds: number;
}

export interface InvocationOutput {
  readonly status: string;
  readonly statusDetails?: string;
  readonly stdout: string;
  /** The command's comment (`lifeboat restore <id>`), when known. */
  readonly comment?: string;
}

/** Is the target host managed and online? */
export interface InstanceDirectory {
  status(instanceId: string): Promise<InstanceStatus>;
}

export interface InstanceStatus {
  readonly online: boolean;
  /** e.g. "Online", "ConnectionLost", "NotRegistered". */
  readonly pingStatus: string;
  readonly platform?: string;
  readonly agentVersion?: string;
  /**
   * The sources this host declares it may receive, from its `lifeboat:sources` tag
   * (comma-separated names; `*` for a spare host that may receive any). Undefined when
   * the host has no such tag: it receives nothing.
   */
  readonly sources?: readonly string[];
}

/** Where people hear about finished restores (SNS; Slack later; the console locally). */
export interface Notifier {
  restoreFinished(message: RestoreNotification): Promise<void>;
}

export interface RestoreNotification {
  readonly restoreId: string;
  readonly state: string;
  readonly subject: string;
  readonly text: string;
  readonly record: unknown;
}

/** Metrics sink (Powertools Metrics in Lambda). */
export interface RestoreMetrics {
  restoreFinished(values: { outcome: string; totalSeconds?: number; bytes?: number; phases?: Record<string, number> }): void;
  /** A drill ended (the alarm on failed drills watches this). */
  drillFinished?(values: { source: string; volume: string; outcome: string; totalSeconds?: number }): void;
}
