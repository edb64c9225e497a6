// Builds what the `lifeboat` package ships for other CDK apps (`import { Lifeboat } from 'lifeboat'`):
//
// - dist/functions/<name>/: every function pre-bundled with the options NodejsFunction uses at synth
//   from the repository (FUNCTION_BUNDLING in lib/lifeboat-function.ts), with the documents as JSON
//   where the function needs them, so a consumer's synth runs neither esbuild nor an npm install;
// - dist/lib/index.mjs: the construct library (lib/index.ts) as one ES module. Only the peer
//   dependencies (aws-cdk-lib, constructs) stay imports; first-party code and the packages it uses at
//   synth (zod, yaml) are bundled. It finds runbooks/ and images/ from the package root
//   (LIFEBOAT_BUILD_ROOT, as the compiled CLI does) and its functions in dist/functions/;
// - dist/types/: the .d.ts files, with import specifiers a consumer's TypeScript resolves
//   (`./x.js`, relative paths for `#core/*` and `#root/*`).
//
// `npm run build` and `prepack` run it; plain `node scripts/build-lib.ts` (Node 24 strips the types).
import { execFileSync } from 'node:child_process';
import { builtinModules } from 'node:module';
import { mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, posix, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Plugin } from 'esbuild';
import { FUNCTION_BUNDLING, FUNCTION_ENTRIES, bundleName, bundledDocumentsDir, type FunctionEntry } from '../lib/lifeboat-function.ts';

/** The repository this script belongs to. */
export const REPO = fileURLToPath(new URL('..', import.meta.url));
/** Where the package's build goes. */
export const DIST = join(REPO, 'dist');
/** The pre-bundled functions, relative to the package root (the compiled library is told so). */
export const FUNCTIONS_DIR = 'dist/functions';

/** Packages the compiled library imports rather than bundles: the consumer's own copies. */
export const PEER_PACKAGES = ['aws-cdk-lib', 'constructs'] as const;

const packageName = (specifier: string): string =>
  specifier
    .split('/')
    .slice(0, specifier.startsWith('@') ? 2 : 1)
    .join('/');

const peersExternal: Plugin = {
  name: 'peers-external',
  setup(b) {
    b.onResolve({ filter: /^[^./#]/ }, (args) =>
      (PEER_PACKAGES as readonly string[]).includes(packageName(args.path)) || args.path.startsWith('node:') ? { path: args.path, external: true } : undefined,
    );
  },
};

const isBuiltin = (specifier: string): boolean => specifier.startsWith('node:') || builtinModules.includes(specifier);

const esbuild = async (): Promise<typeof import('esbuild')> =>
  import('esbuild').catch((e: unknown) => {
    throw new Error(`esbuild, a dev dependency, builds the package: npm ci, then npm run build (${e instanceof Error ? e.message : String(e)})`);
  });

/** Pre-bundles one function as NodejsFunction would: dist/functions/<name>/index.mjs (+ map, + runbooks/). */
async function bundleFunction(entry: FunctionEntry, outdir: string): Promise<string> {
  const { build } = await esbuild();
  const b = FUNCTION_BUNDLING;
  const dir = join(outdir, bundleName(entry));
  await build({
    absWorkingDir: REPO,
    entryPoints: [join(REPO, 'functions', entry)],
    outfile: join(dir, b.outfile),
    bundle: true,
    platform: 'node',
    format: b.format,
    minify: b.minify,
    sourcemap: b.sourceMap,
    sourcesContent: b.sourcesContent,
    target: b.target,
    mainFields: [...b.mainFields],
    banner: { js: b.banner },
    alias: { ...b.alias },
    external: [...b.externalModules],
    logLevel: 'warning',
  });
  if (FUNCTION_ENTRIES[entry].withRunbooks) bundledDocumentsDir(join(dir, 'runbooks'));
  return dir;
}

/** Every function of FUNCTION_ENTRIES pre-bundled into outdir/<name>/: entry → folder. */
export async function bundleFunctions(outdir: string): Promise<Record<FunctionEntry, string>> {
  mkdirSync(outdir, { recursive: true });
  const entries = Object.keys(FUNCTION_ENTRIES) as FunctionEntry[];
  const dirs = await Promise.all(entries.map((entry) => bundleFunction(entry, outdir)));
  return Object.fromEntries(entries.map((entry, i) => [entry, dirs[i] ?? ''])) as Record<FunctionEntry, string>;
}

/** The library as one ES module: dist/lib/index.mjs. */
async function bundleLibrary(outdir: string): Promise<string[]> {
  const { build } = await esbuild();
  const outfile = join(outdir, 'index.mjs');
  // The package root as a URL relative to the bundle (ROOT in functions/core/paths.ts).
  const root = `${relative(outdir, REPO).split(sep).join('/')}/`;
  const result = await build({
    absWorkingDir: REPO,
    entryPoints: [join(REPO, 'lib', 'index.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: FUNCTION_BUNDLING.target,
    sourcemap: true,
    define: { LIFEBOAT_BUILD_ROOT: JSON.stringify(root), LIFEBOAT_PREBUNDLED: JSON.stringify(FUNCTIONS_DIR) },
    // Some bundled packages `require()` Node built-ins.
    banner: { js: "import { createRequire as __lifeboatRequire } from 'node:module'; const require = __lifeboatRequire(import.meta.url);" },
    plugins: [peersExternal],
    metafile: true,
    logLevel: 'warning',
  });
  return [...new Set(Object.values(result.metafile.outputs).flatMap((o) => o.imports.filter((i) => i.external).map((i) => i.path)))].sort();
}

/** A .d.ts import specifier as a consumer resolves it: `.ts` → `.js`, `#core/*` and `#root/*` → relative. */
export function declarationSpecifier(specifier: string, fromFile: string, typesRoot: string): string {
  const alias = /^#(core|root)\/(.+)$/.exec(specifier);
  let spec = specifier;
  if (alias) {
    const target = join(typesRoot, alias[1] === 'core' ? 'functions/core' : '', alias[2] ?? '');
    spec = relative(dirname(fromFile), target).split(sep).join(posix.sep);
    if (!spec.startsWith('.')) spec = `./${spec}`;
  }
  return spec.startsWith('.') ? spec.replace(/\.ts$/, '.js') : spec;
}

/** Declarations of lib/index.ts and all it reaches: dist/types/ (tsc), specifiers rewritten. */
function emitDeclarations(outdir: string): number {
  const config = join(REPO, 'tsconfig.lib.json');
  execFileSync(process.execPath, [join(REPO, 'node_modules/typescript/bin/tsc'), '-p', config, '--outDir', outdir], { cwd: REPO, stdio: 'inherit' });
  const files: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name.endsWith('.d.ts')) files.push(path);
    }
  };
  walk(outdir);
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    const rewritten = text.replace(
      /(from\s+|import\()(['"])([^'"]+)\2/g,
      (_m, lead: string, q: string, spec: string) => `${lead}${q}${declarationSpecifier(spec, file, outdir)}${q}`,
    );
    if (rewritten !== text) writeFileSync(file, rewritten);
  }
  return files.length;
}

export interface BuiltLibrary {
  readonly functions: Record<FunctionEntry, string>;
  readonly library: string;
  /** What the compiled library imports at run time (must be the peer dependencies and Node built-ins only). */
  readonly libraryImports: string[];
  readonly declarations: number;
}

/** Builds dist/functions, dist/lib and dist/types, replacing what was there. */
export async function buildLibrary(options: { readonly types?: boolean } = {}): Promise<BuiltLibrary> {
  const functionsDir = join(REPO, FUNCTIONS_DIR);
  const libDir = join(DIST, 'lib');
  const typesDir = join(DIST, 'types');
  for (const dir of [functionsDir, libDir, ...(options.types === false ? [] : [typesDir])]) rmSync(dir, { recursive: true, force: true });
  const functions = await bundleFunctions(functionsDir);
  const libraryImports = await bundleLibrary(libDir);
  const declarations = options.types === false ? 0 : emitDeclarations(typesDir);
  return {
    functions,
    library: join(libDir, 'index.mjs'),
    libraryImports,
    declarations,
  };
}

if (import.meta.main) {
  const started = performance.now();
  const built = await buildLibrary();
  const outside = built.libraryImports.filter((i) => !isBuiltin(i) && !(PEER_PACKAGES as readonly string[]).includes(packageName(i)));
  if (outside.length > 0) throw new Error(`the library imports packages it does not bundle: ${outside.join(', ')}`);
  process.stderr.write(
    `lifeboat library built: ${Object.keys(built.functions).length.toString()} functions in ${FUNCTIONS_DIR}/, dist/lib/index.mjs (imports ${[...new Set(built.libraryImports.filter((i) => !isBuiltin(i)).map(packageName))].join(', ')}), ${built.declarations.toString()} declaration files in dist/types/ in ${(performance.now() - started).toFixed(0)} ms\n`,
  );
}
