import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Code, Function as LambdaFunction, LoggingFormat, Tracing, type FunctionProps } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat, type NodejsFunctionProps } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { join } from 'node:path';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { DOCUMENTS, ROOT } from '#core/paths.ts';
import { loadDocument } from '#core/runbooks/document.ts';
import { LAMBDA_RUNTIME } from './runtime.ts';
import { XRAY_WILDCARD, acknowledgeNag } from './nag.ts';

/** The documents as JSON (assembled from runbooks/<name>/ at synth), so bundles need no YAML parser. */
export function bundledDocumentsDir(dir = join(tmpdir(), 'lifeboat-documents')): string {
  mkdirSync(dir, { recursive: true });
  for (const name of DOCUMENTS) writeFileSync(join(dir, `${name}.json`), JSON.stringify(loadDocument(name)));
  return dir;
}

/**
 * The SDK packages the bundles load on first use rather than at import. esbuild hoists an
 * external `import` to the top of an ESM bundle, so a package imported anywhere (the core
 * adapters import their commands) would be loaded at init, even in code that only a
 * dynamic `import()` reaches. Each is aliased to `functions/commons/sdk/<name>.cts`, a CommonJS
 * module that `require`s the runtime's package when it is first evaluated. Loading
 * these from the runtime was most of the functions' init time (docs/benchmarks.md).
 */
export const LAZY_SDK = [
  'client-cloudwatch-logs',
  'client-dynamodb',
  'client-ec2',
  'client-s3',
  'client-secrets-manager',
  'client-sfn',
  'client-sns',
  'client-sqs',
  'client-ssm',
  'lib-dynamodb',
  's3-request-presigner',
  'util-dynamodb',
] as const;

/** Where the runbooks sit inside a bundle that needs them. */
export const BUNDLED_RUNBOOKS_DIR = '/var/task/runbooks';

/**
 * How every function is bundled: NodejsFunction's options when synth runs from the repository, and
 * the same options handed to esbuild by scripts/build-lib.ts for the functions the package ships
 * pre-bundled. esbuild resolves `alias` paths from the repository root.
 */
export const FUNCTION_BUNDLING = {
  format: 'esm',
  /** NodejsFunction's name for an ESM bundle (its handler is `index.<export>`). */
  outfile: 'index.mjs',
  minify: true,
  sourceMap: true,
  // NODE_OPTIONS=--enable-source-maps reads the map at load: without the sources'
  // text in it (stack traces need only the mappings) it is a quarter the size, and
  // init with source maps about 35 ms shorter here (docs/benchmarks.md).
  sourcesContent: false,
  target: 'node24',
  mainFields: ['module', 'main'],
  // Some dependencies still `require()` Node built-ins, and the LAZY_SDK shims require the SDK.
  banner: "import { createRequire as __lifeboatRequire } from 'module'; const require = __lifeboatRequire(import.meta.url);",
  alias: Object.fromEntries(LAZY_SDK.map((name) => [`@aws-sdk/${name}`, `./functions/commons/sdk/${name}.cts`])) as Readonly<Record<string, string>>,
  /** The Lambda runtime provides the SDK (NodejsFunction's default, said explicitly: a consumer's feature flags would change it). */
  externalModules: ['@aws-sdk/*'],
} as const;

/**
 * Every function Lifeboat deploys: its entry under `functions/` and whether its bundle carries the
 * documents (JSON). scripts/build-lib.ts pre-bundles exactly these; a LifeboatFunction of
 * another entry, or with other `withRunbooks`, fails synth (so this list cannot fall behind).
 */
export const FUNCTION_ENTRIES = {
  'catalog/index.ts': { withRunbooks: false },
  'command-finished/index.ts': { withRunbooks: false },
  'drill/index.ts': { withRunbooks: true },
  'freshness/index.ts': { withRunbooks: false },
  'recovery/index.ts': { withRunbooks: true },
  'restore-api/index.ts': { withRunbooks: true },
  'slack/index.ts': { withRunbooks: true },
  'slack/worker.ts': { withRunbooks: true },
  'sweeper/index.ts': { withRunbooks: false },
} as const satisfies Record<string, { readonly withRunbooks: boolean }>;
export type FunctionEntry = keyof typeof FUNCTION_ENTRIES;

/** A pre-bundled function's folder name: `restore-api/index.ts` → `restore-api`, `slack/worker.ts` → `slack-worker`. */
export const bundleName = (entry: FunctionEntry): string =>
  entry
    .replace(/\/index\.ts$/, '')
    .replace(/\.ts$/, '')
    .replace(/\//g, '-');

/** Set by scripts/build-lib.ts in the compiled library: where its pre-bundled functions sit, relative to the package root. */
declare const LIFEBOAT_PREBUNDLED: string | undefined;

/**
 * The folder of pre-bundled functions (`dist/functions/`) when this code is the compiled library
 * the package ships; undefined when it runs from the repository's sources (synth bundles with esbuild).
 */
export const PREBUNDLED_DIR: string | undefined = typeof LIFEBOAT_PREBUNDLED === 'string' ? join(ROOT, LIFEBOAT_PREBUNDLED) : undefined;

export interface LifeboatFunctionProps<Env extends Record<string, string>> {
  /** Path under `functions/`, e.g. `restore-api/index.ts` (one of {@link FUNCTION_ENTRIES}). */
  readonly entry: FunctionEntry;
  /** @default 'handler' */
  readonly handler?: string;
  /** Typed by the function's own zod env schema, so the compiler proves every variable is set. */
  readonly environment: Env;
  /** Copy the assembled documents (JSON) into the bundle (functions that load a document). @default false */
  readonly withRunbooks?: boolean;
  /** @default 30 seconds */
  readonly timeout?: Duration;
  /** @default 512 */
  readonly memorySize?: number;
  /** @default three months */
  readonly logRetention?: RetentionDays;
}

/**
 * The base class: NodejsFunction (esbuild at synth) from the repository, plain Function over the
 * pre-bundled folder in the package (a consumer's synth needs neither esbuild nor this repository's lockfile).
 */
const FunctionBase = (PREBUNDLED_DIR === undefined ? NodejsFunction : LambdaFunction) as new (
  scope: Construct,
  id: string,
  // Each base gets its own props: fromSources() for NodejsFunction, prebundled() for Function.
  props: NodejsFunctionProps | FunctionProps,
) => LambdaFunction;

/**
 * A Lifeboat Lambda function with the house defaults: latest Node.js runtime,
 * ARM64, ESM bundle minified by esbuild (at synth, or pre-bundled in the package), JSON logs into an explicit
 * log group with retention, X-Ray tracing. Its role may write logs to that log group
 * only (logs:CreateLogStream and logs:PutLogEvents on it), not the
 * AWSLambdaBasicExecutionRole's CreateLogGroup/CreateLogStream/PutLogEvents on every log group.
 */
export class LifeboatFunction<Env extends Record<string, string>> extends FunctionBase {
  constructor(scope: Construct, id: string, props: LifeboatFunctionProps<Env>) {
    const declared = FUNCTION_ENTRIES[props.entry] as { readonly withRunbooks: boolean } | undefined;
    if (declared === undefined) throw new Error(`${props.entry} is not in FUNCTION_ENTRIES (lib/lifeboat-function.ts): add it, so the package pre-bundles it`);
    if (declared.withRunbooks !== (props.withRunbooks ?? false))
      throw new Error(`${props.entry}: withRunbooks ${String(props.withRunbooks ?? false)} disagrees with FUNCTION_ENTRIES (lib/lifeboat-function.ts)`);
    const logGroup = new LogGroup(scope, `${id}Logs`, {
      retention: props.logRetention ?? RetentionDays.THREE_MONTHS,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const role = new Role(scope, `${id}Role`, { assumedBy: new ServicePrincipal('lambda.amazonaws.com') });
    logGroup.grantWrite(role);
    const handler = props.handler ?? 'handler';
    const common = {
      role,
      runtime: LAMBDA_RUNTIME,
      architecture: Architecture.ARM_64,
      timeout: props.timeout ?? Duration.seconds(30),
      memorySize: props.memorySize ?? 512,
      tracing: Tracing.ACTIVE,
      loggingFormat: LoggingFormat.JSON,
      logGroup,
      environment: { ...props.environment, NODE_OPTIONS: '--enable-source-maps' },
    };
    super(
      scope,
      id,
      PREBUNDLED_DIR === undefined ? { ...common, ...fromSources(props, handler) } : { ...common, ...prebundled(PREBUNDLED_DIR, props.entry, handler) },
    );
    acknowledgeNag(role, 'Active tracing: xray:PutTraceSegments and xray:PutTelemetryRecords have no resource-level permissions.', {
      rule: 'IAM5',
      findings: [XRAY_WILDCARD],
    });
  }
}

/** NodejsFunction's props: esbuild bundles the entry at synth with {@link FUNCTION_BUNDLING}. */
function fromSources<Env extends Record<string, string>>(props: LifeboatFunctionProps<Env>, handler: string): NodejsFunctionProps {
  const b = FUNCTION_BUNDLING;
  return {
    entry: join(ROOT, 'functions', props.entry),
    handler,
    projectRoot: ROOT,
    depsLockFilePath: join(ROOT, 'package-lock.json'),
    bundling: {
      format: OutputFormat.ESM, // FUNCTION_BUNDLING.format (a literal 'esm')
      minify: b.minify,
      sourceMap: b.sourceMap,
      sourcesContent: b.sourcesContent,
      target: b.target,
      mainFields: [...b.mainFields],
      banner: b.banner,
      externalModules: [...b.externalModules],
      esbuildArgs: { '--alias': Object.entries(b.alias).map(([from, to]) => `${from}=${to}`) },
      forceDockerBundling: false,
      commandHooks: {
        beforeBundling: () => [],
        beforeInstall: () => [],
        afterBundling: (_input: string, output: string) =>
          props.withRunbooks ? [`mkdir -p "${output}/runbooks"`, `cp "${bundledDocumentsDir()}"/*.json "${output}/runbooks/"`] : [],
      },
    },
  };
}

/** Plain Function props over the package's pre-bundled folder of the entry (index.mjs, its map, runbooks/ where needed). */
function prebundled(dir: string, entry: FunctionEntry, handler: string): Pick<FunctionProps, 'code' | 'handler'> {
  const folder = join(dir, bundleName(entry));
  if (!existsSync(join(folder, FUNCTION_BUNDLING.outfile)))
    throw new Error(`the package carries no pre-bundled ${entry} (${folder}): it was packed without npm run build`);
  return { code: Code.fromAsset(folder), handler: `${FUNCTION_BUNDLING.outfile.replace(/\.mjs$/, '')}.${handler}` };
}
