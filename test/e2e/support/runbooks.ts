import { loadDocument } from '#core/runbooks/document.ts';
import { runDocument, type RunOptions, type RunOutcome } from '#core/runbooks/local-runner.ts';
import { BackupResult, RestoreResult } from '#core/runbooks/results.ts';
import type { LocalS3 } from '#core/local/s3.ts';
import { HELPER_IMAGE, uniqueName } from './docker.ts';

export const restoreDocument = loadDocument('restore-volume');
export const backupDocument = loadDocument('backup-volume');

/** Runs restore-volume through the local runner, printing the host's progress when LIFEBOAT_TEST_VERBOSE is set. */
export async function restore(parameters: Record<string, string>, options: RunOptions = {}): Promise<RunOutcome<RestoreResult>> {
  const outcome = await runDocument(restoreDocument, { RestoreId: uniqueName('r'), HelperImage: HELPER_IMAGE, ...parameters }, RestoreResult, {
    ...verbose(),
    ...options,
  });
  return oneResultLine(outcome);
}

export async function backup(s3: LocalS3, parameters: Record<string, string>, options: RunOptions = {}): Promise<RunOutcome<BackupResult>> {
  const outcome = await runDocument(
    backupDocument,
    { BackupId: uniqueName('b'), HelperImage: HELPER_IMAGE, Bucket: s3.bucket, S3EndpointUrl: s3.endpoint, Source: 'e2e-host', ...parameters },
    BackupResult,
    { ...verbose(), ...options, env: { ...s3.hostEnv, ...options.env } },
  );
  return oneResultLine(outcome);
}

/** Every run, whatever its outcome, prints exactly one line on stdout: the valid result. */
function oneResultLine<T>(outcome: RunOutcome<T>): RunOutcome<T> {
  const lines = outcome.stdout.trimEnd().split('\n');
  if (lines.length !== 1 || outcome.result === undefined) {
    throw new Error(`expected exactly one valid result line on stdout\n${explain(outcome)}`);
  }
  return outcome;
}

const verbose = (): RunOptions => (process.env.LIFEBOAT_TEST_VERBOSE ? { onStderr: (c) => process.stderr.write(c) } : {});

/** Explains a failed run in an assertion message. */
export const explain = (outcome: RunOutcome<unknown>): string =>
  `exit ${String(outcome.exitCode)}\n--- stdout\n${outcome.stdout}\n--- stderr (tail)\n${outcome.stderr.slice(-3000)}`;
