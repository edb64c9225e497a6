import { PassThrough } from 'node:stream';
import { main, type Io } from '#root/cli/main.ts';

/**
 * Runs the CLI's `main` in-process with captured stdout and stderr: stdin is not a terminal
 * (as in a script or CI) unless `tty`. Returns the exit code and everything written.
 */
export async function runCli(
  args: readonly string[],
  { env = {}, tty = false }: { readonly env?: Readonly<Record<string, string>>; readonly tty?: boolean } = {},
): Promise<{ code: number; out: string; err: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const stdin = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c: Buffer) => (out += c.toString()));
  stderr.on('data', (c: Buffer) => (err += c.toString()));
  if (tty) Object.assign(stdin, { isTTY: true });
  const io = { stdout, stderr, stdin, env } as unknown as Io;
  const code = await main([...args], io);
  return { code, out, err };
}
