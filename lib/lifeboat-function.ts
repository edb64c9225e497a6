import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, LoggingFormat, Tracing } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { join } from 'node:path';
import { mkdirSync, writeFileSync } from 'node:fs';
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

export interface LifeboatFunctionProps<Env extends Record<string, string>> {
  /** Path under `functions/`, e.g. `restore-api/index.ts`. */
  readonly entry: string;
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
 * A Lifeboat Lambda function with the house defaults: latest Node.js runtime,
 * ARM64, ESM bundle minified by the local esbuild, JSON logs into an explicit
 * log group with retention, X-Ray tracing. Its role may write logs to that log group
 * only (logs:CreateLogStream and logs:PutLogEvents on it), not the
 * AWSLambdaBasicExecutionRole's CreateLogGroup/CreateLogStream/PutLogEvents on every log group.
 */
export class LifeboatFunction<Env extends Record<string, string>> extends NodejsFunction {
  constructor(scope: Construct, id: string, props: LifeboatFunctionProps<Env>) {
    const logGroup = new LogGroup(scope, `${id}Logs`, {
      retention: props.logRetention ?? RetentionDays.THREE_MONTHS,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const role = new Role(scope, `${id}Role`, { assumedBy: new ServicePrincipal('lambda.amazonaws.com') });
    logGroup.grantWrite(role);
    super(scope, id, {
      role,
      entry: join(ROOT, 'functions', props.entry),
      handler: props.handler ?? 'handler',
      runtime: LAMBDA_RUNTIME,
      architecture: Architecture.ARM_64,
      timeout: props.timeout ?? Duration.seconds(30),
      memorySize: props.memorySize ?? 512,
      tracing: Tracing.ACTIVE,
      loggingFormat: LoggingFormat.JSON,
      logGroup,
      environment: { ...props.environment, NODE_OPTIONS: '--enable-source-maps' },
      projectRoot: ROOT,
      depsLockFilePath: join(ROOT, 'package-lock.json'),
      bundling: {
        format: OutputFormat.ESM,
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
        esbuildArgs: { '--alias': LAZY_SDK.map((name) => `@aws-sdk/${name}=./functions/commons/sdk/${name}.cts`) },
        forceDockerBundling: false,
        commandHooks: {
          beforeBundling: () => [],
          beforeInstall: () => [],
          afterBundling: (_input: string, output: string) =>
            props.withRunbooks ? [`mkdir -p "${output}/runbooks"`, `cp "${bundledDocumentsDir()}"/*.json "${output}/runbooks/"`] : [],
        },
      },
    });
    acknowledgeNag(role, 'Active tracing: xray:PutTraceSegments and xray:PutTelemetryRecords have no resource-level permissions.', {
      rule: 'IAM5',
      findings: [XRAY_WILDCARD],
    });
  }
}
