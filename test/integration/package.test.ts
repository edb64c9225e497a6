import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '#core/paths.ts';
import { FUNCTION_ENTRIES, bundleName, type FunctionEntry } from '#root/lib/lifeboat-function.ts';
import { consumerLock, type Lock } from '../support/consumer-lock.ts';

// The package as another team gets it: `npm pack`, installed from the npm cache alone into a
// CDK app of their own, which embeds `new Lifeboat(stack, 'Dr', props)` beside its own resources
// and synthesizes with its own aws-cdk-lib: no esbuild, no TypeScript loader, no lockfile of ours.

interface Run {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Node 24 (this process) first on PATH, so npm and its scripts run on it. */
const env = { ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}`, npm_config_update_notifier: 'false' };

function run(command: string, args: string[], cwd: string, extra: Record<string, string> = {}): Run {
  const r = spawnSync(command, args, { cwd, env: { ...env, ...extra }, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function ok(command: string, args: string[], cwd: string, extra: Record<string, string> = {}): string {
  const r = run(command, args, cwd, extra);
  if (r.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${String(r.status)}):\n${r.stderr}\n${r.stdout}`);
  return r.stdout;
}

/** Every function, as the embedding below makes them (a protected volume and Slack). */
const PROPS = {
  protect: [{ source: 'db1', volume: 'pgdata', drillHost: { instanceId: 'i-0123456789abcdef0' }, rpoMinutes: 60 }],
  slack: { teamIds: ['T0LIFE'], channelIds: ['C0ONCALL'], userIds: ['U0ALICE'] },
};

const APP = `import { App, Stack } from 'aws-cdk-lib';
import { Code, Function as LambdaFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { Lifeboat } from 'lifeboat';

const app = new App();
const stack = new Stack(app, 'Platform');
new Queue(stack, 'OwnQueue');
new LambdaFunction(stack, 'OwnFunction', { runtime: Runtime.NODEJS_24_X, handler: 'index.handler', code: Code.fromInline('exports.handler = async () => 1;') });
new Lifeboat(stack, 'Dr', JSON.parse(process.env.LIFEBOAT_PROPS));
app.synth();
`;

/** A TypeScript consumer: the props and the construct's fields are typed (not `any`). */
const TYPED = (rpo: string, url: string): string => `import { App, Stack } from 'aws-cdk-lib';
import { Lifeboat, type LifeboatProps } from 'lifeboat';

const props: LifeboatProps = { protect: [{ source: 'db1', volume: 'pgdata', drillHost: { tag: { key: 'role', value: 'drill' } }, rpoMinutes: ${rpo} }] };
const lifeboat = new Lifeboat(new Stack(new App(), 'Platform'), 'Dr', props);
export const url: ${url} = lifeboat.api.api.url;
`;

interface Template {
  Resources: Record<string, { Type: string; Properties?: { Code?: { S3Key?: string }; Handler?: string; Dimensions?: { Value?: unknown }[] } }>;
}

describe('the packed package in another CDK app', () => {
  let work: string;
  let app: string;
  let packed: string[];
  let template: Template;
  let synth: Run;
  let invalid: Run;

  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'lifeboat-pack-'));
    app = join(work, 'app');
    mkdirSync(app);
    // The prepack script as npm runs it, then the tarball (scripts not run twice; dist/cli as `npm ci` built it).
    ok('npm', ['run', 'prepack'], ROOT);
    const [info] = JSON.parse(ok('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], ROOT)) as {
      filename: string;
      files: { path: string }[];
    }[];
    if (!info) throw new Error('npm pack made no tarball');
    packed = info.files.map((f) => f.path);
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as Parameters<typeof consumerLock>[1] & {
      devDependencies: Record<string, string>;
    };
    const repoLock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as Lock;
    const peers = { 'aws-cdk-lib': pkg.devDependencies['aws-cdk-lib'] ?? '', constructs: pkg.devDependencies.constructs ?? '' };
    const { lock, dependencies } = consumerLock(repoLock, pkg, `file:../${info.filename}`, peers);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module', dependencies }, null, 2));
    writeFileSync(join(app, 'package-lock.json'), JSON.stringify(lock, null, 2));
    ok('npm', ['ci', '--offline', '--ignore-scripts', '--no-audit', '--no-fund'], app);
    writeFileSync(join(app, 'app.mjs'), APP);
    synth = run(process.execPath, ['app.mjs'], app, { CDK_OUTDIR: join(app, 'cdk.out'), LIFEBOAT_PROPS: JSON.stringify(PROPS) });
    if (synth.status !== 0) throw new Error(`the consumer app failed to synthesize:\n${synth.stderr}`);
    template = JSON.parse(readFileSync(join(app, 'cdk.out', 'Platform.template.json'), 'utf8')) as Template;
    const bad = { protect: [{ ...PROPS.protect[0], rpoMinutes: 0 }] };
    invalid = run(process.execPath, ['app.mjs'], app, { CDK_OUTDIR: join(work, 'invalid.out'), LIFEBOAT_PROPS: JSON.stringify(bad) });
  }, 600_000);
  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('ships compiled JavaScript, types, pre-bundled functions and what synth reads; no sources, tests or lockfile', () => {
    for (const file of [
      'dist/lib/index.mjs',
      'dist/types/lib/index.d.ts',
      'dist/types/lib/lifeboat-props.d.ts',
      'images/helper/Dockerfile',
      'runbooks/restore-volume/restore-volume.yaml',
      'LICENSE',
    ])
      expect(packed, file).toContain(file);
    for (const entry of Object.keys(FUNCTION_ENTRIES) as FunctionEntry[]) expect(packed).toContain(`dist/functions/${bundleName(entry)}/index.mjs`);
    expect(
      packed.filter((f) => /^(test|functions|lib|cli|bench|scripts)\//.test(f) || f === 'package-lock.json' || (f.endsWith('.ts') && !f.endsWith('.d.ts'))),
    ).toEqual([]);
  });

  it('the consumer has no esbuild and no TypeScript loader; the package has no lockfile', () => {
    const probe = "for (const p of ['esbuild', 'tsx', 'typescript']) { try { import.meta.resolve(p); console.log(p); } catch {} }";
    expect(ok(process.execPath, ['--input-type=module', '-e', probe], app).trim()).toBe('');
    expect(ok(process.execPath, ['--input-type=module', '-e', probe], join(app, 'node_modules', 'lifeboat')).trim()).toBe('');
    expect(existsSync(join(app, 'node_modules', 'lifeboat', 'package-lock.json'))).toBe(false);
    // What a NodejsFunction would have bundled from: not there.
    expect(existsSync(join(app, 'node_modules', 'lifeboat', 'functions'))).toBe(false);
  });

  it('synthesizes Lifeboat inside the consumer’s stack, beside the consumer’s own resources', () => {
    const ids = Object.keys(template.Resources);
    expect(ids.filter((id) => id.startsWith('Own')).sort()).toEqual([
      expect.stringMatching(/^OwnFunction[0-9A-F]{8}$/),
      expect.stringMatching(/^OwnFunctionServiceRole/),
      expect.stringMatching(/^OwnQueue/),
    ]);
    const typeOf = (pattern: RegExp): string[] => ids.filter((id) => pattern.test(id)).map((id) => template.Resources[id]?.Type ?? '');
    expect(typeOf(/^DrArchives[0-9A-F]{8}$/)).toEqual(['AWS::S3::Bucket']);
    expect(typeOf(/^DrRestoreApi[0-9A-F]{8}$/)).toEqual(['AWS::ApiGateway::RestApi']);
    expect(typeOf(/^DrRunbooks/)).toEqual(['AWS::SSM::Document', 'AWS::SSM::Document', 'AWS::SSM::Document']);
  });

  it('every Lifeboat function’s code is an asset of the package’s pre-bundled files, byte for byte', () => {
    const bundles = new Map(
      (Object.keys(FUNCTION_ENTRIES) as FunctionEntry[]).map((entry) => [
        readFileSync(join(app, 'node_modules/lifeboat/dist/functions', bundleName(entry), 'index.mjs'), 'utf8'),
        bundleName(entry),
      ]),
    );
    const functions = Object.entries(template.Resources).filter(([id, r]) => id.startsWith('Dr') && r.Type === 'AWS::Lambda::Function');
    const used = new Set<string>();
    for (const [id, r] of functions) {
      const asset = join(app, 'cdk.out', `asset.${(r.Properties?.Code?.S3Key ?? '').replace(/\.zip$/, '')}`);
      const name = bundles.get(readFileSync(join(asset, 'index.mjs'), 'utf8'));
      expect(name, id).toBeDefined();
      used.add(name ?? '');
      expect(r.Properties?.Handler, id).toMatch(/^index\.(handler|reconcile)$/);
      if (FUNCTION_ENTRIES[(Object.keys(FUNCTION_ENTRIES) as FunctionEntry[]).find((e) => bundleName(e) === name) ?? 'sweeper/index.ts'].withRunbooks)
        expect(readdirSync(join(asset, 'runbooks')).sort(), id).toEqual(['backup-volume.json', 'cancel-restore.json', 'restore-volume.json']);
    }
    // Not vacuous: every pre-bundled function is deployed (catalog twice: events and reconcile).
    expect([...used].sort()).toEqual([...bundles.values()].sort());
    expect(functions.length).toBe(bundles.size + 1);
  });

  it('alarms on Lifeboat’s functions, not on the consumer’s', () => {
    const alarmed = Object.values(template.Resources)
      .filter((r) => r.Type === 'AWS::CloudWatch::Alarm')
      .flatMap((r) => (r.Properties?.Dimensions ?? []).map((d) => JSON.stringify(d.Value)));
    expect(alarmed.some((v) => v.includes('DrRestoreApiFunction'))).toBe(true);
    expect(alarmed.filter((v) => v.includes('OwnFunction'))).toEqual([]);
  });

  it('an invalid prop fails synth naming the prop, its path in the consumer’s app, and what it allows', () => {
    expect(invalid.status).not.toBe(0);
    expect(invalid.stderr).toContain('invalid Lifeboat props (Platform/Dr): protect.0.rpoMinutes: must be at least 1 minute');
  });

  it('the .d.ts types the props and the construct for a TypeScript consumer: a wrong type is a compile error at the prop', () => {
    writeFileSync(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', target: 'es2023', strict: true, noEmit: true, skipLibCheck: true, types: [] },
      }),
    );
    writeFileSync(join(app, 'typed.ts'), TYPED('60', 'string'));
    writeFileSync(join(app, 'mistyped.ts'), TYPED("'60'", 'number'));
    // One compiler run for both files (aws-cdk-lib's declarations take most of it).
    const tsc = run(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', '.'], app);
    const errors = tsc.stdout.split('\n').filter((line) => line.includes('error TS'));
    expect(errors, tsc.stdout).toEqual([
      expect.stringMatching(/^mistyped\.ts\(4,\d+\): error TS2322: Type 'string' is not assignable to type 'number'/),
      // lifeboat.api.api.url is a string through the package's declarations, not `any`.
      expect.stringMatching(/^mistyped\.ts\(6,\d+\): error TS2322: Type 'string' is not assignable to type 'number'/),
    ]);
    // The column is rpoMinutes’ own.
    const column = Number(/^mistyped\.ts\(4,(\d+)\)/.exec(errors[0] ?? '')?.[1]);
    expect(
      TYPED("'60'", 'number')
        .split('\n')[3]
        ?.slice(column - 1),
    ).toMatch(/^rpoMinutes/);
  }, 300_000);
});
