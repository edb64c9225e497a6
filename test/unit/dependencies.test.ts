/**
 * Every package the code imports is declared in package.json: a bare import that resolves only
 * because something else pulled it into node_modules breaks on the next lockfile change, and in
 * a Lambda bundle it is code nobody chose. Node's builtins and the package's own `#` imports are
 * not packages. A type-only import is satisfied by the package or its `@types/` package.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '#core/paths.ts';

const DIRS = ['functions', 'lib', 'cli', 'bin', 'scripts', 'bench', 'test', 'types'];
const SOURCE = /\.(?:ts|mts|cts|js|mjs|cjs)$/;

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  name: string;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};
// The package's own name resolves too (its `exports`): the packed-package test's consumer app imports `lifeboat`.
const declared = new Set([pkg.name, ...Object.keys(pkg.dependencies), ...Object.keys(pkg.devDependencies)]);

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && SOURCE.test(e.name) && !e.parentPath.includes('node_modules'))
    .map((e) => relative(ROOT, join(e.parentPath, e.name)));
}

/** The module specifiers a file imports: static and dynamic imports, re-exports, require(). */
function specifiers(code: string): string[] {
  const found: { at: number; specifier: string }[] = [];
  const patterns = [
    /^\s*(?:import|export)\s[^;]*?\sfrom\s*['"]([^'"\n]+)['"]/gm,
    /^\s*import\s*['"]([^'"\n]+)['"]/gm,
    /\bimport\(\s*['"]([^'"\n]+)['"]\s*\)/g,
    /\brequire\(\s*['"]([^'"\n]+)['"]\s*\)/g,
  ];
  for (const p of patterns) for (const m of code.matchAll(p)) if (m[1] !== undefined) found.push({ at: m.index, specifier: m[1] });
  return found.sort((a, b) => a.at - b.at).map((f) => f.specifier);
}

/** `@aws-sdk/client-s3/dist-types/x` → `@aws-sdk/client-s3`; `yaml/util` → `yaml`; relative, `#` and builtins → undefined. */
function packageOf(specifier: string): string | undefined {
  if (specifier.startsWith('.') || specifier.startsWith('/') || specifier.startsWith('#') || specifier.startsWith('node:')) return undefined;
  const parts = specifier.split('/');
  const name = specifier.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] ?? specifier);
  return builtinModules.includes(name) ? undefined : name;
}

const typesPackage = (name: string): string => `@types/${name.startsWith('@') ? name.slice(1).replace('/', '__') : name}`;

describe('declared dependencies', () => {
  it('reads the imports a file has, and names their packages', () => {
    const code = [
      "import { S3Client } from '@aws-sdk/client-s3';",
      "import type { Context } from 'aws-lambda';",
      "import {\n  a,\n  b,\n} from 'zod/mini';",
      "export { x } from './x.ts';",
      "import 'side-effect';",
      "const m = await import('commander');",
      "import { readFileSync } from 'node:fs';",
      "import { join } from 'path';",
      "import { ROOT } from '#core/paths.ts';",
    ].join('\n');
    expect(specifiers(code).map(packageOf)).toEqual([
      '@aws-sdk/client-s3',
      'aws-lambda',
      'zod',
      undefined,
      'side-effect',
      'commander',
      undefined,
      undefined,
      undefined,
    ]);
  });

  it(`every package imported in ${DIRS.join(', ')} is in dependencies or devDependencies`, () => {
    const files = DIRS.flatMap(sources);
    expect(files.length).toBeGreaterThan(100);
    const missing: string[] = [];
    for (const file of files) {
      for (const specifier of specifiers(readFileSync(join(ROOT, file), 'utf8'))) {
        const name = packageOf(specifier);
        if (name === undefined || declared.has(name) || declared.has(typesPackage(name))) continue;
        missing.push(`${file}: ${specifier}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('the Lambda functions’ AWS SDK and Powertools imports are runtime dependencies, not dev ones', () => {
    const runtime = new Set(Object.keys(pkg.dependencies));
    const misplaced = sources('functions').flatMap((file) =>
      specifiers(readFileSync(join(ROOT, file), 'utf8'))
        .map(packageOf)
        .filter((name): name is string => name !== undefined && /^@aws-(sdk|lambda-powertools)\//.test(name) && !runtime.has(name))
        .map((name) => `${file}: ${name}`),
    );
    expect(misplaced).toEqual([]);
  });

  it('every Powertools for AWS Lambda package is on one version', () => {
    const versions = Object.entries(pkg.dependencies).filter(([name]) => name.startsWith('@aws-lambda-powertools/'));
    expect(versions.length).toBeGreaterThan(1);
    expect(new Set(versions.map(([, v]) => v)).size, JSON.stringify(Object.fromEntries(versions))).toBe(1);
  });
});
