/**
 * The CLI as it ships: compiled JavaScript (scripts/build-cli.ts) run by bin/lifeboat.mjs, with no
 * TypeScript loader. Each test builds into a folder of its own under the system temp folder (the
 * repository's dist/ is left alone: e2e tests may be running it), laid out like the repository:
 * <dir>/bin/lifeboat.mjs (a copy of the real one) and <dir>/dist/cli/.
 */
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, parse } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '#core/paths.ts';
import { main, type Io } from '#root/cli/main.ts';
import { buildCli } from '#root/scripts/build-cli.ts';
import { exec, type ExecResult } from '../e2e/support/exec.ts';

const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const COMMANDS = ['volumes', 'archives', 'plan', 'restore', 'drill', 'status', 'cancel', 'backup', 'recover'];

/** This environment minus what could bring a loader or another module path in, or point local mode elsewhere. */
const cleanEnv = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
  ...Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !['NODE_OPTIONS', 'NODE_PATH', 'LIFEBOAT_RUNBOOKS_DIR', 'LIFEBOAT_API_URL', 'LIFEBOAT_OUTPUTS'].includes(k)),
  ),
  ...extra,
});

const dirs: string[] = [];
/** A folder with bin/lifeboat.mjs and, unless `dist` is false, the compiled CLI copied from `built`. */
function layout(built: string | false): string {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-compiled-'));
  dirs.push(dir);
  mkdirSync(join(dir, 'bin'));
  copyFileSync(join(ROOT, 'bin', 'lifeboat.mjs'), join(dir, 'bin', 'lifeboat.mjs'));
  if (built !== false) cpSync(built, join(dir, 'dist', 'cli'), { recursive: true });
  return dir;
}
const lifeboat = (dir: string, args: string[], env?: NodeJS.ProcessEnv): Promise<ExecResult> =>
  exec(process.execPath, [join(dir, 'bin', 'lifeboat.mjs'), ...args], { cwd: dir, env: cleanEnv(env), timeoutMs: 60_000 });
const explain = (out: ExecResult): string => `exit ${out.code.toString()}\n${out.stdout}\n${out.stderr}`;

/** Every folder from dir up to the file system's root. */
function ancestors(dir: string): string[] {
  const out = [dir];
  while (out.at(-1) !== parse(dir).root) out.push(dirname(out.at(-1) ?? dir));
  return out;
}

let built: string;
beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-build-'));
  dirs.push(dir);
  // At the depth the repository's dist/cli has: only the build's own idea of ROOT finds runbooks/.
  built = join(dir, 'dist', 'cli');
  await buildCli(built);
});
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('the compiled CLI', () => {
  it('runs with no TypeScript loader and no package from node_modules for --version, -V and --help', async () => {
    const dir = layout(built);
    // Nothing to resolve tsx (or any package) from: not beside the build, not above it.
    for (const d of ancestors(dir)) expect(existsSync(join(d, 'node_modules')), `${d}/node_modules`).toBe(false);

    for (const flag of ['--version', '-V']) {
      const out = await lifeboat(dir, [flag]);
      expect(out.code, explain(out)).toBe(0);
      expect(out.stdout).toBe(`${VERSION}\n`);
      expect(out.stderr).toBe('');
    }
    const help = await lifeboat(dir, ['--help']);
    expect(help.code, explain(help)).toBe(0);
    expect(help.stdout).toMatch(/^Usage: lifeboat \[options\] \[command\]/);
    expect(help.stdout).toContain('-V, --version');
    for (const command of COMMANDS) expect(help.stdout).toMatch(new RegExp(`^  ${command}\\b`, 'm'));
    // A command's own help is the same definition.
    const restoreHelp = await lifeboat(dir, ['restore', '--help']);
    expect(restoreHelp.code, explain(restoreHelp)).toBe(0);
    expect(restoreHelp.stdout).toContain('Usage: lifeboat restore [options] <volume>');
  });

  it('is JavaScript that imports no tsx and no .ts file', () => {
    const files = readdirSync(built).filter((f) => f.endsWith('.mjs'));
    expect(files).toContain('lifeboat.mjs');
    expect(readFileSync(join(built, 'lifeboat.mjs'), 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
    for (const file of files) {
      const text = readFileSync(join(built, file), 'utf8');
      const specifiers = [...text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*)["']([^"']+)["']/g)].map((m) => m[1] ?? '');
      expect(specifiers.length, file).toBeGreaterThan(0);
      for (const s of specifiers) {
        expect(s, `${file} imports ${s}`).not.toMatch(/^tsx(\/|$)/);
        expect(s, `${file} imports ${s}`).not.toMatch(/\.[cm]?ts$/);
      }
    }
    // bin/lifeboat.mjs itself loads no loader either.
    expect(readFileSync(join(ROOT, 'bin', 'lifeboat.mjs'), 'utf8')).not.toMatch(/tsx|register\(/);
  });

  it('finds the runbooks from its own folder in local mode (ROOT), and says so when they are not there', async () => {
    const dir = layout(built);
    // Local mode's packages (s3rver, dynalite, the AWS SDK) come from node_modules, as in a checkout.
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
    const out = await lifeboat(dir, ['--local', '--home', join(dir, 'state'), '--json', 'volumes']);
    expect(out.code, explain(out)).toBe(0);
    expect(JSON.parse(out.stdout)).toEqual({ volumes: [] });

    // The same command with the runbooks elsewhere fails: the success above needed them.
    const empty = join(dir, 'no-runbooks');
    mkdirSync(empty);
    const missing = await lifeboat(dir, ['--local', '--home', join(dir, 'state2'), '--json', 'volumes'], { LIFEBOAT_RUNBOOKS_DIR: empty });
    expect(missing.code, explain(missing)).not.toBe(0);
    expect(missing.stderr).toContain(join(empty, 'restore-volume'));
  });

  it('without a build, bin/lifeboat.mjs says to run npm run build (exit 5)', async () => {
    const dir = layout(false);
    const out = await lifeboat(dir, ['--help']);
    expect(out.code, explain(out)).toBe(5);
    expect(out.stdout).toBe('');
    expect(out.stderr).toContain('the compiled CLI is missing');
    expect(out.stderr).toContain('`npm run build`');
  });

  it('says when a source is newer than the build, and still runs it', async () => {
    const dir = layout(built);
    const fresh = await lifeboat(dir, ['--version']);
    expect(fresh.stderr).toBe('');
    // A build from a year ago: every source has changed since.
    const past = new Date(Date.now() - 365 * 86_400_000);
    utimesSync(join(dir, 'dist', 'cli', 'build.json'), past, past);
    const stale = await lifeboat(dir, ['--version']);
    expect(stale.code, explain(stale)).toBe(0);
    expect(stale.stdout).toBe(`${VERSION}\n`);
    expect(stale.stderr).toMatch(/^lifeboat: the compiled CLI is older than \/.+\.(ts|json): `npm run build` compiles the change\n$/);
  });
});

describe('lifeboat --version (the sources)', () => {
  it('prints package.json’s version on stdout and exits 0', async () => {
    for (const flag of ['--version', '-V']) {
      const stdout = new PassThrough();
      const stderr = new PassThrough();
      let out = '';
      stdout.on('data', (c: Buffer) => (out += c.toString()));
      const io = { stdout, stderr, stdin: new PassThrough(), env: {} } as unknown as Io;
      expect(await main([flag], io)).toBe(0);
      expect(out).toBe(`${VERSION}\n`);
    }
  });
});
