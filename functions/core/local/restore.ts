import { LocalCommandRunner } from '../adapters/local-runner.ts';
import type { ArchiveStore } from '../archive-store.ts';
import type { Catalog } from '../catalog/model.ts';
import type { RestorePolicy } from '../policy.ts';
import type { RecoveryMemberSink } from '../recovery/model.ts';
import { completeRestore, type CompletionDeps, type CompletionOutcome } from '../restore/completion.ts';
import type { CommandRunner } from '../restore/ports.ts';
import { RestoreService } from '../restore/service.ts';
import { loadDocument, type CommandDocument } from '../runbooks/document.ts';

export interface LocalRestoreOptions {
  /** The catalog (local mode: DynamoDB-compatible server) the service and completion share. */
  readonly catalog: Catalog;
  /** Where archives are read and presigned (local mode: the S3-compatible server). */
  readonly store: ArchiveStore;
  /** The id this machine answers to; any other instance is "not registered". */
  readonly instanceId: string;
  /** The helper image the restore document runs its data path in. */
  readonly helperImage: string;
  /** Images a recreated or drill container may run, and the other operator choices. @default RestorePolicy's defaults: no image allowed */
  readonly policy?: RestorePolicy;
  /** @default the restore-volume document, assembled from `runbooks/` */
  readonly document?: CommandDocument;
  /** What the command-finished Lambda has besides the catalog and the runner. @default none */
  readonly completion?: Pick<CompletionDeps, 'notifier' | 'metrics'>;
  /**
   * The whole-host recovery members report to (its task tokens). Late-bound: the recovery service
   * is built over this restore service, so it exists only after this returns. @default none
   */
  readonly recovery?: () => RecoveryMemberSink | undefined;
  /** Told each completion's outcome once it is recorded (a caller waiting for a restore to end). */
  readonly onCompleted?: (outcome: CompletionOutcome) => unknown;
  /** The runbook's stderr as it arrives (phase lines for a progress display). */
  readonly onStderr?: (chunk: string) => void;
  /** Extra environment for the host script. */
  readonly env?: Readonly<Record<string, string>>;
  /**
   * The sources this machine declares it may receive. When given, the service also applies the
   * shared-host rule to them (a restore may replace a volume or restart a container only if the
   * policy protects that volume for its source alone). @default ['*'], with that rule off: whoever
   * runs local mode has this machine's Docker engine, so no source's data is kept from them anyway
   */
  readonly sources?: readonly string[];
  /** Wraps the runner the service sends through (a test counting what reaches the host). @default the runner itself */
  readonly serviceRunner?: (runner: LocalCommandRunner) => CommandRunner;
}

export interface LocalRestore {
  readonly runner: LocalCommandRunner;
  readonly service: RestoreService;
  readonly document: CommandDocument;
}

/**
 * Lifeboat's restore path on this machine, built in the one place the CLI's local
 * mode, the demo, the benchmark and the end-to-end tests share: the restore service
 * over the given catalog and store, the local runner executing the restore document
 * on this Docker engine in place of SSM, and completion handling wired to the
 * runner's end of command (what EventBridge and the command-finished Lambda do in AWS).
 */
export function localRestore(options: LocalRestoreOptions): LocalRestore {
  const { catalog, store } = options;
  const document = options.document ?? loadDocument('restore-volume');
  const runner: LocalCommandRunner = new LocalCommandRunner(document, {
    instanceId: options.instanceId,
    env: options.env,
    sources: options.sources,
    onStderr: options.onStderr,
    onStatusChange: async (change) => {
      const outcome = await completeRestore({ catalog, runner, ...options.completion, recovery: options.recovery?.() }, change);
      await options.onCompleted?.(outcome);
      return outcome;
    },
  });
  const service = new RestoreService(
    { catalog, store, runner: options.serviceRunner?.(runner) ?? runner, instances: runner },
    {
      document,
      helperImage: options.helperImage,
      ...(options.policy ? { policy: options.policy } : {}),
      guardSharedHosts: options.sources !== undefined,
    },
  );
  return { runner, service, document };
}
