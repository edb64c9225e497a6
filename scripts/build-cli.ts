// Compiles the `lifeboat` CLI to JavaScript: dist/cli/lifeboat.mjs and the chunks it loads when a
// command needs them. `npm run build` runs it, and `prepare` (after `npm ci` / `npm install`).
// Plain `node scripts/build-cli.ts` (Node 24 strips the types): no tsx needed to build.
//
// - First-party code (cli/, functions/core/, lib/recovery-definition.ts) and the two packages every
//   start needs (commander, zod: plain JavaScript that reads no files of its own) are bundled.
// - Every other package stays an import from node_modules, as Node resolves it: the AWS SDK, and
//   local mode's s3rver, dynalite (a native LevelDB binding) and aws-local-stepfunctions.
// - Split at main.ts's `import()`s: `--help` and `--version` load neither the API client (the AWS
//   SDK) nor local mode (its S3, DynamoDB and Step Functions stand-ins).
// - The version is read from package.json now, into the bundle; ROOT (functions/core/paths.ts, where
//   local mode finds runbooks/) is the repository as seen from the output folder.
// - dist/cli/build.json lists the sources, so bin/lifeboat.mjs can say when the build is older.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Plugin } from 'esbuild';

/** The repository this script belongs to. */
export const REPO = fileURLToPath(new URL('..', import.meta.url));

/** Packages bundled into the CLI; every other package is imported from node_modules at run time. */
const BUNDLED_PACKAGES = new Set(['commander', 'zod']);

/** What bin/lifeboat.mjs reads beside the bundle. */
export interface BuildInfo {
  readonly version: string;
  /** The first-party files compiled in, relative to the output folder. */
  readonly inputs: string[];
}

export interface BuiltCli {
  /** The entry: dist/cli/lifeboat.mjs. */
  readonly entry: string;
  readonly files: string[];
  readonly bytes: number;
  readonly info: BuildInfo;
}

const packageName = (specifier: string): string =>
  specifier
    .split('/')
    .slice(0, specifier.startsWith('@') ? 2 : 1)
    .join('/');

const externalPackages: Plugin = {
  name: 'external-packages',
  setup(b) {
    // Bare specifiers (not relative, not absolute, not `#core/*` imports): packages and Node builtins.
    b.onResolve({ filter: /^[^./#]/ }, (args) => (BUNDLED_PACKAGES.has(packageName(args.path)) ? undefined : { path: args.path, external: true }));
  },
};

/** `>=24` in package.json engines → esbuild's `node24`. */
function nodeTarget(engines: unknown): string {
  const major = /(\d+)/.exec(typeof engines === 'string' ? engines : '')?.[1];
  if (major === undefined) throw new Error(`package.json engines.node must name a Node.js major version (e.g. ">=24"), got ${JSON.stringify(engines)}`);
  return `node${major}`;
}

/** Builds the CLI into outdir (default dist/cli/), replacing what was there. */
export async function buildCli(outdir: string = join(REPO, 'dist', 'cli')): Promise<BuiltCli> {
  const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string; engines?: { node?: string } };
  // ROOT as a URL relative to any file in outdir (all chunks sit there): `../../` for dist/cli/.
  const root = `${relative(outdir, REPO).split(sep).join('/')}/`.replace(/^\/$/, './');
  // A dev dependency: `npm ci --omit=dev` runs `prepare` too, without it.
  const { build } = await import('esbuild').catch((e: unknown) => {
    throw new Error(
      `esbuild, a dev dependency, is needed to compile the CLI: install with dev dependencies (npm ci), then npm run build (${e instanceof Error ? e.message : String(e)})`,
    );
  });
  rmSync(outdir, { recursive: true, force: true });
  mkdirSync(outdir, { recursive: true });
  const result = await build({
    absWorkingDir: REPO,
    entryPoints: { lifeboat: join(REPO, 'cli', 'run.ts') },
    outdir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: nodeTarget(pkg.engines?.node),
    outExtension: { '.js': '.mjs' },
    chunkNames: '[name]-[hash]', // beside the entry: ROOT below is relative to every output file
    define: { LIFEBOAT_BUILD_ROOT: JSON.stringify(root) },
    plugins: [externalPackages],
    metafile: true,
    logLevel: 'warning',
  });
  const inputs = Object.keys(result.metafile.inputs)
    .filter((file) => !file.includes('node_modules/'))
    .map((file) => relative(outdir, join(REPO, file)).split(sep).join('/'))
    .sort();
  const info: BuildInfo = { version: pkg.version, inputs };
  writeFileSync(join(outdir, 'build.json'), `${JSON.stringify(info, null, 2)}\n`);
  const outputs = Object.entries(result.metafile.outputs);
  return {
    entry: join(outdir, 'lifeboat.mjs'),
    files: outputs.map(([file]) => join(REPO, file)),
    bytes: outputs.reduce((sum, [, o]) => sum + o.bytes, 0),
    info,
  };
}

if (import.meta.main) {
  const started = performance.now();
  const built = await buildCli();
  const where = relative(process.cwd(), dirname(built.entry)) || '.';
  process.stderr.write(
    `lifeboat ${built.info.version}: CLI compiled to ${where}/ (${built.files.length.toString()} files, ${(built.bytes / 1024).toFixed(0)} KiB) in ${(performance.now() - started).toFixed(0)} ms\n`,
  );
}
