import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { z } from 'zod';
import type { CommandDocument } from './document.ts';
import { parameterEnvironment, renderScript, resolveParameters, type ParameterValues } from './parameters.ts';
import { parseResultLine } from './results.ts';

export interface RunOptions {
  /** Extra environment for the script (the host's own, e.g. AWS credentials); never parameters. */
  readonly env?: Readonly<Record<string, string>>;
  /** Called with each chunk of stderr as it arrives (progress display). */
  readonly onStderr?: (chunk: string) => void;
  /**
   * Skip the allowedPattern check. Only for tests that prove the script itself
   * refuses hostile values when the agent's check is bypassed.
   * @default false
   */
  readonly unsafeSkipPatternCheck?: boolean;
  /** Overrides the step's timeoutSeconds. */
  readonly timeoutSeconds?: number;
  /**
   * Aborting sends TERM to the running step (the script's trap cleans up): what Lifeboat's
   * cancel-restore document and the script's own watchdog give on a host. SSM's own cancel
   * and timeout are a SIGKILL, which the KILL 30 s later stands for.
   */
  readonly signal?: AbortSignal;
}

export interface RunOutcome<T> {
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly timedOut: boolean;
  readonly stdout: string;
  readonly stderr: string;
  /** The validated result line, or undefined when the script printed none (or a malformed one). */
  readonly result: T | undefined;
}

const DEFAULT_TIMEOUT_SECONDS = 3600;

/**
 * Runs a Command document's steps locally with bash, the way the SSM Agent
 * would on a Linux host: parameters checked against their patterns, `{{ }}`
 * substituted, ENV_VAR parameters exported as `SSM_<name>`, each step written to
 * a script file and run with its timeout. Used by the tests and by the CLI's
 * local mode in place of SSM Run Command.
 */
export async function runDocument<T>(
  doc: CommandDocument,
  parameters: ParameterValues,
  resultSchema: z.ZodType<T>,
  options: RunOptions = {},
): Promise<RunOutcome<T>> {
  const values = resolveParameters(doc, parameters, { checkPatterns: !options.unsafeSkipPatternCheck });
  const env = { ...process.env, ...options.env, ...parameterEnvironment(doc, values) };
  const dir = await mkdtemp(join(tmpdir(), 'lifeboat-run-'));
  let stdout = '';
  let stderr = '';
  try {
    let last: Omit<RunOutcome<T>, 'stdout' | 'stderr' | 'result'> = { exitCode: 0, signal: null, timedOut: false };
    for (const step of doc.mainSteps) {
      const script = join(dir, `${step.name}.sh`);
      await writeFile(script, renderScript(step.inputs.runCommand, values), { mode: 0o700 });
      const timeout = options.timeoutSeconds ?? Number(step.inputs.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS);
      last = await new Promise((resolve, reject) => {
        // Its own process group, as the SSM Agent starts a step, so that a signal reaches
        // the script and everything it started (curl, the helper's docker client, …).
        const child = spawn('bash', [script], { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
        let timedOut = false;
        let closed = false;
        const signalGroup = (signal: NodeJS.Signals): void => {
          if (closed || child.pid === undefined) return;
          try {
            process.kill(-child.pid, signal);
          } catch {
            child.kill(signal); // the group is already gone; the script itself may not be
          }
        };
        // TERM to the process group (the script's trap cleans up), KILL if it is still there
        // 30 s later (the agent's own stop is that KILL, without the TERM).
        const terminate = (): void => {
          signalGroup('SIGTERM');
          setTimeout(() => {
            signalGroup('SIGKILL');
          }, 30_000).unref();
        };
        const timer = setTimeout(() => {
          timedOut = true;
          terminate();
        }, timeout * 1000);
        if (options.signal?.aborted) terminate();
        options.signal?.addEventListener('abort', terminate, { once: true });
        child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
        child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
          stderr += chunk;
          options.onStderr?.(chunk);
        });
        child.on('error', (error) => {
          clearTimeout(timer);
          reject(error);
        });
        child.on('close', (exitCode, signal) => {
          closed = true;
          clearTimeout(timer);
          options.signal?.removeEventListener('abort', terminate);
          resolve({ exitCode, signal, timedOut });
        });
      });
      if (last.exitCode !== 0 || options.signal?.aborted) break;
    }
    return { ...last, stdout, stderr, result: parseResultLine(resultSchema, stdout) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
