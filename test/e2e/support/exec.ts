import { execFile } from 'node:child_process';

export interface ExecResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface ExecOptions {
  readonly input?: string;
  readonly timeoutMs?: number;
  readonly cwd?: string;
  /** Replaces the environment (default: this process's). */
  readonly env?: NodeJS.ProcessEnv;
}

/** Runs a program (no shell) and returns its exit code and output; never throws on a non-zero exit. */
export function exec(file: string, args: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      file,
      args,
      { maxBuffer: 64 * 1024 * 1024, timeout: options.timeoutMs ?? 300_000, encoding: 'utf8', cwd: options.cwd, env: options.env },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') {
          // Not an exit status: the program could not start, or was killed by the timeout.
          reject(new Error(`${file} ${args.join(' ')}: ${error.message}`, { cause: error }));
          return;
        }
        resolve({ code: typeof error?.code === 'number' ? error.code : 0, stdout, stderr });
      },
    );
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}

/** Runs a program and returns its stdout; throws with its stderr on a non-zero exit. */
export async function run(file: string, args: readonly string[], options: ExecOptions = {}): Promise<string> {
  const result = await exec(file, args, options);
  if (result.code !== 0) {
    throw new Error(`${file} ${args.join(' ')} exited ${result.code}: ${result.stderr.trim()}`);
  }
  return result.stdout;
}
