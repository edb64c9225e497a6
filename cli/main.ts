import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { Command, CommanderError, Option } from 'commander';
import * as z from 'zod';
import { SOURCE_PATTERN, VOLUME_PATTERN } from '#core/archive-key.ts';
import { BackupRequest, COMMAND_ID_PATTERN } from '#core/backup/schemas.ts';
import { DrillRequest, RestoreRequest } from '#core/restore/schemas.ts';
import { INSTANCE_ID_PATTERN } from '#core/restore/request.ts';
import { ProtectionPolicy } from '#core/protection.ts';
import { recoveryConfigProblems } from '#core/recovery/plan.ts';
import { MAX_PARALLEL, RECOVERY_ID_PATTERN, RecoveryRequest, type RecoveryPlan, type RecoveryTarget } from '#core/recovery/model.ts';
import { REGION_PATTERN, STACK_OUTPUTS, type StackRole } from '#core/replication.ts';
import type { Backend, ProgressSink, RecoveryProgress } from './backend.ts';
import { silentProgress } from './backend.ts';
import { CliError, EXIT, EXIT_NAME, toCliError, usageErrorJson, type ExitCode } from './errors.ts';
import type { LocalBackend } from './local.ts';
import {
  ProgressDisplay,
  archivesText,
  backupStatusText,
  backupText,
  planText,
  recordText,
  recoveryPlanText,
  recoveryProgressText,
  recoveryReportText,
  volumesText,
} from './output.ts';
import packageJson from '../package.json' with { type: 'json' };
import { JsonOutput } from './schema.ts';
import { terminalSafe, terminalText } from './terminal.ts';
import { LOCAL_INSTANCE_ID, regionOf } from './targets.ts';

interface GlobalOptions {
  json?: boolean;
  api?: string;
  region?: string;
  /** The AWS profile (shared config and credentials files) whose credentials sign requests to the API. */
  profile?: string;
  outputs?: string;
  local?: boolean;
  home?: string;
  helperImage: string;
  allowImage: string[];
  config?: string;
}

/** Where each RestoreRequest field comes from on the command line, for error messages. */
const FLAG_OF: Record<string, string> = {
  source: '--source',
  volume: '<volume>',
  instanceId: '--to',
  containerName: '--container',
  mountPath: '--mount',
  containerEnvFile: '--env-file',
  volumeDriver: '--volume-driver',
  volumeDriverOpts: '--volume-opt',
  engine: '--engine',
  check: '--check',
  expectMinimum: '--expect-minimum',
  health: '--health',
  'archive.before': '--at',
  'archive.key': '--archive',
  archive: '--at/--archive',
};

const EXIT_HELP = `
Exit codes:
  0  done (a restore or backup succeeded; a listing was printed)
  1  the restore or backup ran and failed; the host was put back as it was
  2  bad arguments; nothing was done
  3  no such volume, archive or restore
  4  refused: the volume is locked by another restore, the instance is offline,
     or the archive asks for something unsafe
  5  something needed is missing: Docker, the API, credentials, the state folder

Where Lifeboat is: --api URL, or LIFEBOAT_API_URL, or the ApiUrl in the
outputs file of \`cdk deploy --outputs-file cdk-outputs.json\` (--outputs or
LIFEBOAT_OUTPUTS, default ./cdk-outputs.json when present) selects a deployed
stack, signed with SigV4 from the standard AWS credential chain (AWS_PROFILE,
environment variables, SSO, an instance role…), or with --profile <name> from
that profile of ~/.aws/config and ~/.aws/credentials. With both
stacks of a replicated Lifeboat in the file (\`cdk deploy --all\`), --region
(LIFEBOAT_REGION) picks the one in that region; without it, the primary.
Otherwise (or
with --local) local mode: an embedded S3-compatible store and catalog kept in
--home (default ./.lifeboat), and the runbooks run on this machine's Docker.
`;

/** A stack in a `cdk deploy --outputs-file` file: its ApiUrl, and where and what it serves. */
export interface OutputStack {
  /** The stack id (`Lifeboat`, `LifeboatDr`). */
  readonly name: string;
  readonly apiUrl: string;
  /** Output `Region`, else the region in ApiUrl's execute-api host name. */
  readonly region?: string;
  /** Output `Role`: `primary` or `replica` (older stacks have none). */
  readonly role?: StackRole;
}

/** The stacks with an `ApiUrl` output in a `cdk deploy --outputs-file` JSON file (`cdk deploy --all` writes both). */
export function stacksFromOutputs(file: string): OutputStack[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new CliError(EXIT.usage, `cannot read the stack outputs file ${file}: ${e instanceof Error ? e.message : String(e)}`);
  }
  const outputs = z.record(z.string(), z.record(z.string(), z.unknown())).safeParse(parsed);
  if (!outputs.success) throw new CliError(EXIT.usage, `${file} is not a \`cdk deploy --outputs-file\` file`);
  const stacks: OutputStack[] = [];
  for (const [name, o] of Object.entries(outputs.data)) {
    const apiUrl = o[STACK_OUTPUTS.apiUrl];
    if (typeof apiUrl !== 'string') continue;
    const region = o[STACK_OUTPUTS.region];
    const role = o[STACK_OUTPUTS.role];
    let urlRegion: string | undefined;
    try {
      urlRegion = regionOf(new URL(apiUrl));
    } catch {
      urlRegion = undefined; // ApiBackend names a URL that is not one
    }
    stacks.push({
      name,
      apiUrl,
      ...(typeof region === 'string' && region !== '' ? { region } : urlRegion === undefined ? {} : { region: urlRegion }),
      ...(role === 'primary' || role === 'replica' ? { role } : {}),
    });
  }
  return stacks;
}

/** `LifeboatDr (eu-west-1, replica)`: a stack as the operator picks it. */
const stackLabel = (s: OutputStack): string => `${s.name} (${[s.region ?? 'region unknown', ...(s.role ? [s.role] : [])].join(', ')})`;

/** Where the CLI sends its requests: the API, the region it signs for, and what to say about the choice. */
export interface ApiTarget {
  readonly url: string;
  /** The region requests are signed for. @default from the URL, else AWS_REGION */
  readonly region?: string;
  /** The stack picked from an outputs file. */
  readonly stack?: OutputStack;
  /** The outputs file's other stacks: where to turn when this one does not answer. */
  readonly others: readonly OutputStack[];
  /** One line for stderr when the choice was made for the operator (several stacks, no --region). */
  readonly note?: string;
}

/**
 * The deployed API the options point at, or undefined (local mode). `--api` (or LIFEBOAT_API_URL)
 * wins; else the outputs file: its only stack, or the one whose region is `--region`
 * (LIFEBOAT_REGION), or, with several and no region given, the `primary` one.
 */
export function resolveApi(options: Pick<GlobalOptions, 'api' | 'region' | 'outputs' | 'local'>, env: NodeJS.ProcessEnv): ApiTarget | undefined {
  if (options.local) return undefined;
  const region = options.region ?? (env.LIFEBOAT_REGION || undefined);
  const explicit = options.api ?? env.LIFEBOAT_API_URL;
  // An explicit URL signs for --region when given, else for the URL's own region: a LIFEBOAT_REGION
  // exported for the outputs file (the region-lost runbook does) never re-signs another API's requests.
  if (explicit !== undefined) return { url: explicit, ...(options.region === undefined ? {} : { region: options.region }), others: [] };
  const file = options.outputs ?? env.LIFEBOAT_OUTPUTS ?? (existsSync('cdk-outputs.json') ? 'cdk-outputs.json' : undefined);
  if (file === undefined) return undefined;
  const stacks = stacksFromOutputs(file);
  if (stacks.length === 0) return undefined;
  const listing = stacks.map(stackLabel).join(', ');
  const pick = (stack: OutputStack, note?: string): ApiTarget => ({
    url: stack.apiUrl,
    ...((region ?? stack.region) === undefined ? {} : { region: region ?? stack.region }),
    stack,
    others: stacks.filter((s) => s !== stack),
    ...(note === undefined ? {} : { note }),
  });
  if (region !== undefined) {
    if (!REGION_PATTERN.test(region))
      throw new CliError(EXIT.usage, `--region ${JSON.stringify(region.slice(0, 60))} is not an AWS region such as eu-west-1`, `${file} holds ${listing}`);
    const inRegion = stacks.filter((s) => s.region === region);
    // A single stack whose region its outputs do not tell: --region is the region to sign for, as always.
    const only = stacks.length === 1 ? stacks[0] : undefined;
    if (inRegion.length === 0 && only !== undefined && only.region === undefined) return pick(only);
    if (inRegion.length === 1 && inRegion[0] !== undefined) return pick(inRegion[0]);
    throw new CliError(
      EXIT.usage,
      inRegion.length === 0 ? `${file} has no Lifeboat stack in region ${region}` : `${file} has several Lifeboat stacks in region ${region}`,
      `it holds ${listing}: pick one with --region <region>, or give its URL with --api`,
    );
  }
  if (stacks.length === 1 && stacks[0] !== undefined) return pick(stacks[0]);
  const primaries = stacks.filter((s) => s.role === 'primary');
  const primary = primaries[0];
  if (primaries.length !== 1 || primary === undefined)
    throw new CliError(EXIT.usage, `${file} holds several stacks with an ApiUrl: ${listing}`, 'pick one with --region <region>, or give its URL with --api');
  const replicas = stacks.filter((s) => s !== primary);
  return pick(
    primary,
    `lifeboat: ${file} holds ${stacks.length.toString()} stacks; using the primary, ${stackLabel(primary)}. For the DR stack: ${replicas
      .map((s) => (s.region === undefined ? `${s.name} (--api ${s.apiUrl})` : `--region ${s.region}`))
      .join(', ')}`,
  );
}

/** The deployed API's URL, when one is configured and --local is not given. */
function apiUrl(options: GlobalOptions, env: NodeJS.ProcessEnv): string | undefined {
  return resolveApi(options, env)?.url;
}

/** Local mode's state folder, or undefined when a deployed API is used. */
function localHome(options: GlobalOptions, env: NodeJS.ProcessEnv): string | undefined {
  return apiUrl(options, env) === undefined ? resolve(options.home ?? env.LIFEBOAT_HOME ?? '.lifeboat') : undefined;
}

/** The `protect` list of a Lifeboat configuration file (what `cdk deploy -c lifeboatFile=…` reads), each entry checked. */
function protectFromConfig(file: string): ProtectionPolicy[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new CliError(EXIT.usage, `cannot read the configuration file ${file}: ${e instanceof Error ? e.message : String(e)}`, 'nothing was done');
  }
  const config = z.looseObject({ protect: z.array(ProtectionPolicy).default([]) }).safeParse(parsed);
  if (!config.success)
    throw new CliError(
      EXIT.usage,
      `--config ${file}: ${config.error.issues.map((i) => `${i.path.join('.') || '(file)'} ${i.message}`).join('; ')}`,
      'the file is a Lifeboat configuration such as examples/lifeboat.json; nothing was done',
    );
  const problems = recoveryConfigProblems(config.data.protect);
  if (problems.length > 0) throw new CliError(EXIT.usage, `--config ${file}: ${problems.join('; ')}`, 'nothing was done');
  return config.data.protect;
}

/**
 * Local mode's backend class, once openBackend has loaded it. api.ts and local.ts (the AWS SDK,
 * local mode's S3, DynamoDB and Step Functions stand-ins) load only when a command needs a
 * backend: `lifeboat --help` and `--version` never pay for them.
 */
let localBackendClass: typeof LocalBackend | undefined;

/** Whether the backend is local mode (the only kind that runs runbooks in this process). */
const isLocal = (b: Backend | undefined): b is LocalBackend => localBackendClass !== undefined && b instanceof localBackendClass;

export async function openBackend(
  options: GlobalOptions,
  env: NodeJS.ProcessEnv = process.env,
  say: (line: string) => void = () => undefined,
): Promise<Backend> {
  const api = resolveApi(options, env);
  if (api === undefined && options.profile !== undefined)
    throw new CliError(
      EXIT.usage,
      `--profile ${options.profile} names AWS credentials for a deployed Lifeboat, but ${options.local ? '--local asks for local mode' : 'no API is configured'}, which signs nothing`,
      'give the API with --api, LIFEBOAT_API_URL or --outputs (a `cdk deploy --outputs-file` file); nothing was done',
    );
  if (api !== undefined) {
    if (api.note !== undefined) say(api.note);
    // A stack that does not answer (its region down): the hint names the outputs file's other stacks.
    const { ApiBackend } = await import('./api.ts');
    // --profile: exactly that profile (ApiBackend's credentials); without it the default chain.
    const elsewhere = api.others.filter((s) => s.region !== undefined && s.region !== api.region).map((s) => `--region ${s.region ?? ''} (${stackLabel(s)})`);
    return new ApiBackend({
      url: api.url,
      region: api.region,
      ...(options.profile === undefined ? {} : { profile: options.profile }),
      ...(api.stack === undefined ? {} : { stack: api.stack.role === undefined ? api.stack.name : `${api.stack.name}, ${api.stack.role}` }),
      ...(elsewhere.length === 0 ? {} : { unreachableHint: `if its region is down, use another stack from the outputs file: ${elsewhere.join(' or ')}` }),
    });
  }
  const config = options.config ?? env.LIFEBOAT_CONFIG;
  const local = await import('./local.ts');
  localBackendClass = local.LocalBackend;
  return local.LocalBackend.open({
    home: localHome(options, env) ?? '',
    helperImage: options.helperImage,
    allowedImages: options.allowImage,
    ...(config === undefined || config === '' ? {} : { protect: protectFromConfig(config) }),
  });
}

/** The command that follows up on a restore, with the source the API needs. */
const followUp = (command: 'status' | 'cancel', ref: { restoreId: string; source?: string }): string =>
  `lifeboat ${command} ${ref.restoreId}${ref.source === undefined ? '' : ` --source ${ref.source}`}`;

const pattern =
  (p: RegExp, what: string) =>
  (value: string): string => {
    if (!p.test(value))
      throw new CliError(EXIT.usage, `${what} ${JSON.stringify(value.slice(0, 120))} is not allowed: it must match ${p.source}`, 'nothing was done');
    return value;
  };
const volumeArg = pattern(VOLUME_PATTERN, 'volume');
const restoreIdArg = pattern(/^r-[a-z0-9]{1,16}-[a-f0-9]{8}$/, 'restore id (r-<time>-<8 hex>, as `lifeboat restore` prints)');
const RESTORE_OR_COMMAND = new RegExp(`^(r-[a-z0-9]{1,16}-[a-f0-9]{8}|${COMMAND_ID_PATTERN.source.slice(1, -1)}|${RECOVERY_ID_PATTERN.source.slice(1, -1)})$`);
const statusIdArg = pattern(
  RESTORE_OR_COMMAND,
  'id (a restore id r-<time>-<8 hex>, a recovery id rc-<time>-<8 hex>, or the SSM command id of a backup, as `lifeboat backup` prints)',
);
const recoverSourceArg = pattern(SOURCE_PATTERN, '<source>');
/** A profile name as the shared config files spell one: no spaces, brackets or control characters. */
const profileArg = pattern(/^[A-Za-z0-9_.+@:/-]{1,128}$/, '--profile (an AWS profile name)');
const sourceArg = pattern(SOURCE_PATTERN, '--source');

function intArg(name: string, min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max)
      throw new CliError(EXIT.usage, `${name} must be a whole number from ${min.toString()} to ${max.toString()} (got ${JSON.stringify(value)})`);
    return n;
  };
}

/** The archives' source for a volume: as given, or the only one the catalog knows. */
async function sourceFor(backend: Backend, volume: string, given: string | undefined): Promise<string> {
  if (given !== undefined) return given;
  const sources = (await backend.volumes()).filter((v) => v.volume === volume).map((v) => v.source);
  if (sources.length === 0)
    throw new CliError(
      EXIT.notFound,
      `no archives of volume ${volume} are cataloged`,
      '`lifeboat volumes` lists what there is; `lifeboat backup <volume>` makes one (with a deployed Lifeboat: add --to <instance> --source <name>)',
    );
  if (sources.length > 1)
    throw new CliError(EXIT.usage, `volume ${volume} has archives from several sources (${sources.join(', ')})`, 'pick one with --source');
  return sources[0] ?? '';
}

/** The source of a backup through the API: the only one the catalog knows for the volume, else --source is needed. */
async function backupSourceFor(backend: Backend, volume: string): Promise<string> {
  const sources = [...new Set((await backend.volumes()).filter((v) => v.volume === volume).map((v) => v.source))];
  if (sources.length === 1) return sources[0] ?? '';
  throw new CliError(
    EXIT.usage,
    sources.length === 0
      ? `--source is required: the catalog has no archives of volume ${volume} yet to take the source from`
      : `volume ${volume} has archives from several sources (${sources.join(', ')})`,
    'name the source the host backs up with --source <name> (the host must list it in its lifeboat:sources tag); nothing was sent',
  );
}

/** How the database is proven to answer: the flags restore, plan and drill share. */
interface VerifyFlags {
  engine?: string;
  check?: string;
  expectMinimum?: number;
  expectMin?: number;
  health?: string;
}

/** The verification fields of a request, as the flags give them (the request schema judges them). */
const verifyFields = (flags: VerifyFlags) => ({
  engine: flags.engine,
  check: flags.check,
  expectMinimum: flags.expectMinimum ?? flags.expectMin,
  health: flags.health,
});

interface RestoreFlags extends VerifyFlags {
  source?: string;
  to?: string;
  at?: string;
  archive?: string;
  /** Absent: a data-only restore. */
  container?: string;
  mount?: string;
  envFile?: string;
  preserve?: boolean;
  allowUnverified?: boolean;
  volumeDriver?: string;
  volumeOpt?: string[];
}

/** `--volume-opt type=nfs --volume-opt o=addr=10.0.0.5,rw` → `{type: 'nfs', o: 'addr=10.0.0.5,rw'}`. */
function driverOpts(opts: readonly string[] | undefined): Record<string, string> | undefined {
  if (opts === undefined || opts.length === 0) return undefined;
  const out: Record<string, string> = {};
  for (const opt of opts) {
    const eq = opt.indexOf('=');
    if (eq < 1) throw new CliError(EXIT.usage, `--volume-opt ${JSON.stringify(opt.slice(0, 120))} must be key=value (e.g. type=nfs)`, 'nothing was done');
    out[opt.slice(0, eq)] = opt.slice(eq + 1);
  }
  return out;
}

/** Where a restore or drill goes and from which archive: the flags both commands share. */
async function target(backend: Backend, volume: string, flags: { source?: string; to?: string; at?: string; archive?: string }, purpose: string) {
  if (flags.at !== undefined && flags.archive !== undefined)
    throw new CliError(EXIT.usage, '--at and --archive cannot be used together', 'give a time or an archive key, not both');
  const instanceId = flags.to === 'local' ? LOCAL_INSTANCE_ID : (flags.to ?? backend.defaultInstanceId);
  if (instanceId === undefined) throw new CliError(EXIT.usage, `--to is required: the instance to ${purpose} (e.g. i-0123456789abcdef0)`);
  return {
    source: await sourceFor(backend, volume, flags.source),
    volume,
    archive: flags.archive !== undefined ? { key: flags.archive } : flags.at !== undefined ? { before: flags.at } : ('latest' as const),
    instanceId: instanceId.trim(),
  };
}

async function restoreRequest(backend: Backend, volume: string, flags: RestoreFlags, dryRun: boolean): Promise<RestoreRequest> {
  const parsed = RestoreRequest.safeParse({
    ...(await target(backend, volume, flags, 'restore onto')),
    containerName: flags.container,
    mountPath: flags.mount,
    containerEnvFile: flags.envFile,
    ifVolumeExists: flags.preserve ? 'preserve' : 'fail',
    allowUnverified: flags.allowUnverified ?? false,
    volumeDriver: flags.volumeDriver,
    volumeDriverOpts: driverOpts(flags.volumeOpt),
    ...verifyFields(flags),
    dryRun,
  });
  if (!parsed.success) throw usageFrom(parsed.error);
  return parsed.data;
}

/** A validation error in the words of the command line: each flag and what it allows. */
function usageFrom(error: z.ZodError, flags: Record<string, string> = {}): CliError {
  const problems = error.issues.map((i) => {
    const field = i.path.join('.');
    return `${flags[field] ?? FLAG_OF[field] ?? field} ${i.message}`;
  });
  return new CliError(EXIT.usage, problems.join('; '), 'nothing was done');
}

interface RecoverFlags {
  to?: string;
  volumeTarget?: string[];
  at?: string;
  dryRun?: boolean;
  parallel?: number;
  ifVolumeExists: 'fail' | 'preserve';
  envFile?: string;
  yes?: boolean;
  timeout: number;
}

/** An instance as the command line names it (`local`: this machine in local mode), checked, the flag named. */
function instanceArg(value: string, flag: string): string {
  const id = value.trim() === 'local' ? LOCAL_INSTANCE_ID : value.trim();
  if (!INSTANCE_ID_PATTERN.test(id))
    throw new CliError(
      EXIT.usage,
      `${flag} ${JSON.stringify(value.slice(0, 120))} must be an EC2 instance or managed node id such as i-0123456789abcdef0 (${INSTANCE_ID_PATTERN.source})`,
      'nothing was done',
    );
  return id;
}

/** `--volume-target pgdata=i-0123… --volume-target cache=i-0fed…` → `{pgdata: 'i-0123…', cache: 'i-0fed…'}`. */
function volumeTargets(entries: readonly string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of entries ?? []) {
    const eq = entry.indexOf('=');
    const volume = entry.slice(0, Math.max(eq, 0));
    if (eq < 1 || !VOLUME_PATTERN.test(volume))
      throw new CliError(
        EXIT.usage,
        `--volume-target ${JSON.stringify(entry.slice(0, 120))} must be <volume>=<instance> (e.g. pgdata=i-0123456789abcdef0), the volume matching ${VOLUME_PATTERN.source}`,
        'nothing was done',
      );
    if (volume in out) throw new CliError(EXIT.usage, `--volume-target names volume ${volume} twice`, 'nothing was done');
    out[volume] = instanceArg(entry.slice(eq + 1), `--volume-target ${volume}=`);
  }
  return out;
}

/**
 * The recovery request the flags describe. `--to` alone: every member onto it; `--volume-target`
 * alone: that map (it must name every protected volume); both: the map, `--to` for the rest
 * (the members are read from a dry run onto `--to`).
 */
async function recoveryRequest(backend: Backend, source: string, flags: RecoverFlags): Promise<RecoveryRequest> {
  if (flags.at !== undefined && !z.iso.datetime({ offset: true }).safeParse(flags.at).success)
    throw new CliError(
      EXIT.usage,
      `--at must be an ISO 8601 time such as 2026-12-01T03:00:00Z (got ${JSON.stringify(flags.at.slice(0, 60))})`,
      'nothing was done',
    );
  const map = volumeTargets(flags.volumeTarget);
  const to = flags.to !== undefined ? instanceArg(flags.to, '--to') : Object.keys(map).length === 0 ? backend.defaultInstanceId : undefined;
  if (to === undefined && Object.keys(map).length === 0)
    throw new CliError(
      EXIT.usage,
      '--to is required: the replacement instance (e.g. i-0123456789abcdef0), or --volume-target <volume>=<instance> for each volume',
    );
  const base = {
    source,
    ...(flags.at === undefined ? {} : { at: flags.at }),
    ifVolumeExists: flags.ifVolumeExists,
    ...(flags.parallel === undefined ? {} : { parallel: flags.parallel }),
    ...(flags.envFile === undefined ? {} : { containerEnvFile: flags.envFile }),
  };
  const parse = (target: RecoveryTarget, dryRun: boolean): RecoveryRequest => {
    const parsed = RecoveryRequest.safeParse({ ...base, target, dryRun });
    if (!parsed.success)
      throw usageFrom(parsed.error, {
        source: '<source>',
        target: '--to/--volume-target',
        at: '--at',
        ifVolumeExists: '--if-volume-exists',
        parallel: '--parallel',
        containerEnvFile: '--env-file',
      });
    return parsed.data;
  };
  if (Object.keys(map).length === 0) return parse({ instanceId: to ?? '' }, false);
  if (to === undefined) return parse({ volumes: map }, false);
  const members = (await backend.recoveryPlan(parse({ instanceId: to }, true))).waves.flatMap((w) => w.members.map((m) => m.volume));
  const unknown = Object.keys(map).filter((v) => !members.includes(v));
  if (unknown.length > 0)
    throw new CliError(
      EXIT.usage,
      `--volume-target names ${unknown.join(', ')}, which ${unknown.length === 1 ? 'is not a protected volume' : 'are not protected volumes'} of source ${source} (its volumes: ${members.join(', ') || 'none'})`,
      'nothing was done',
    );
  return parse({ volumes: Object.fromEntries(members.map((v) => [v, map[v] ?? to])) }, false);
}

const defaultSource = (): string => {
  const name = hostname()
    .toLowerCase()
    .replace(/[^a-z0-9_.-]/g, '-')
    .replace(/^[^a-z0-9]+/, '')
    .slice(0, 63);
  return SOURCE_PATTERN.test(name) ? name : 'local';
};

export interface Io {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WriteStream;
  readonly stdin: NodeJS.ReadStream;
  readonly env: NodeJS.ProcessEnv;
}

/**
 * Runs the CLI; resolves to the exit code. `parseOnly`: the command line is parsed and its
 * arguments checked by the same definition (unknown commands and options are usage errors), and
 * nothing runs: what the docs' tests use to prove every command they show exists.
 */
export async function main(
  argv: readonly string[],
  io: Io = { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env },
  { parseOnly = false }: { parseOnly?: boolean } = {},
): Promise<ExitCode> {
  let json = argv.includes('--json');
  let backend: Backend | undefined;
  let display: ProgressDisplay | undefined;
  // Text for a person: no control character reaches the terminal but the lines' own breaks (data is made one-line by the renderers).
  const print = (text: string): void => {
    io.stdout.write(`${terminalText(text)}\n`);
  };
  // Exact JSON, as the schema gives it.
  const emit = <T>(schema: z.ZodType<T>, value: T): void => {
    io.stdout.write(`${JSON.stringify(schema.parse(value), null, 2)}\n`);
  };
  const say = (text: string): void => {
    io.stderr.write(`${terminalText(text)}\n`);
  };
  const progress = (label: string, first?: string): ProgressSink => {
    if (json) return silentProgress;
    display = new ProgressDisplay(label, io.stderr, first);
    return display;
  };
  const stopProgress = (): void => {
    display?.stop();
    display = undefined;
  };
  let code: ExitCode = EXIT.ok;

  const program = new Command('lifeboat')
    .description('Restore Docker volumes from their archives: plan, restore, check, back up.')
    // The compiled CLI (scripts/build-cli.ts) carries the version in its bundle: it never reads package.json.
    .version(packageJson.version, '-V, --version', 'print the version of Lifeboat and exit')
    .exitOverride()
    .configureOutput({ writeOut: (s) => void io.stdout.write(s), writeErr: (s) => void io.stderr.write(s) })
    .showHelpAfterError('(lifeboat --help shows every command)')
    .option('--json', 'one JSON document on stdout, for scripts (no progress display)')
    .option('--api <url>', 'a deployed Lifeboat API (stack output ApiUrl)')
    .option(
      '--region <region>',
      'the stack in this region from the outputs file (the DR stack: its region), or LIFEBOAT_REGION; with --api, the region to sign for (default: from the URL)',
    )
    .option('--outputs <file>', 'a `cdk deploy --outputs-file` JSON file to read ApiUrl from (`cdk deploy --all` writes both stacks)')
    .option(
      '--profile <name>',
      'a deployed Lifeboat: sign requests with this AWS profile (~/.aws/config, ~/.aws/credentials) instead of the default credential chain (which honors AWS_PROFILE)',
      profileArg,
    )
    .option('--local', 'local mode even when an API is configured')
    .option('--home <dir>', 'local mode state folder (default ./.lifeboat, or LIFEBOAT_HOME)')
    .addOption(
      new Option('--helper-image <image>', 'helper image with GNU tar/zstd (local mode)').env('LIFEBOAT_HELPER_IMAGE').default('local/lifeboat-helper:1'),
    )
    .addOption(
      new Option(
        '--allow-image <repository>',
        'local mode: an image repository a recreated or drill container may run, repeatable (a deployed Lifeboat uses allowedImages in its configuration)',
      )
        .env('LIFEBOAT_ALLOWED_IMAGES')
        .argParser((v: string, prev?: string[]) => [...(prev ?? []), ...v.split(',').filter(Boolean)])
        .default([]),
    )
    .option(
      '--config <file>',
      'local mode: a Lifeboat configuration file (like examples/lifeboat.json, or LIFEBOAT_CONFIG) whose protect list gives recoveries their members, waves and roles (default: every cataloged volume, wave 1, critical)',
    )
    .addHelpText('after', EXIT_HELP);
  const globals = (): GlobalOptions => program.opts<GlobalOptions>();
  // Local mode: the runbooks run in their own process group (as under SSM), so Ctrl-C does
  // not reach them; it cancels what runs (the trap puts the host back). A second one quits.
  let interrupts = 0;
  const onInterrupt = (): void => {
    if (!isLocal(backend) || ++interrupts > 1) process.exit(130);
    say('\nInterrupted: cancelling; the runbook is putting the host back as it was… (Ctrl-C again to quit at once)');
    backend.cancelInFlight();
  };
  const connect = async (): Promise<Backend> => {
    json = globals().json ?? false;
    if (backend === undefined) {
      backend = await openBackend(globals(), io.env, say);
      if (isLocal(backend)) process.on('SIGINT', onInterrupt);
    }
    return backend;
  };

  program
    .command('volumes')
    .description('the protected volumes, each with its newest archive and its age')
    .option('--source <name>', "only this source's volumes (a deployed Lifeboat lists every source only for callers allowed GET /volumes)", sourceArg)
    .action(async (flags: { source?: string }) => {
      const volumes = await (await connect()).volumes(flags.source);
      if (json) emit(JsonOutput.volumes, { volumes });
      else print(volumesText(volumes));
    });

  program
    .command('archives')
    .description("a volume's archives, newest first")
    .argument('<volume>', 'the Docker volume', volumeArg)
    .option('--source <name>', 'host or application the archives come from (default: the only one the catalog knows)', sourceArg)
    .option('--before <time>', 'only archives taken at or before this ISO 8601 time')
    .option('--limit <n>', 'how many (1-100)', intArg('--limit', 1, 100), 20)
    .action(async (volume: string, flags: { source?: string; before?: string; limit: number }) => {
      const b = await connect();
      if (flags.before !== undefined && !z.iso.datetime({ offset: true }).safeParse(flags.before).success) {
        throw new CliError(EXIT.usage, `--before must be an ISO 8601 time such as 2026-11-27T03:00:00Z (got ${JSON.stringify(flags.before)})`);
      }
      const source = await sourceFor(b, volume, flags.source);
      const archives = await b.archives(source, volume, { before: flags.before, limit: flags.limit });
      if (json) emit(JsonOutput.archives, { source, volume, archives });
      else print(archivesText(source, volume, archives));
    });

  /** --engine, --check, --expect-minimum (and the refused --health, kept so its refusal can say why). */
  const verifyOptions = (cmd: Command): Command =>
    cmd
      .option(
        '--engine <name>',
        "how the database is proven to answer: postgres, mysql (MySQL/MariaDB), redis, mongodb, custom (the protect config's commands), running, none (default auto: from the archive)",
      )
      .option(
        '--check <text>',
        'a read-only check in the engine\'s language, its first line recorded: "select count(*) from orders", "DBSIZE", \'db.getSiblingDB("shop").orders.countDocuments({})\'',
      )
      .option('--expect-minimum <n>', "fail unless the check's answer is a number at least this big", intArg('--expect-minimum', 0, Number.MAX_SAFE_INTEGER))
      .addOption(new Option('--expect-min <n>').hideHelp().argParser(intArg('--expect-min', 0, Number.MAX_SAFE_INTEGER)))
      .addOption(new Option('--health <command>').hideHelp());

  const restoreOptions = (cmd: Command): Command =>
    verifyOptions(
      cmd
        .argument('<volume>', 'the Docker volume to restore', volumeArg)
        .option(
          '--container <name>',
          'the database container (stopped and restarted, or created from the manifest; then verified); without it, a data-only restore: the volume is filled, no container is touched',
        )
        .option('--to <instance>', 'instance id to restore onto (local mode: this machine, also spelled "local")')
        .option('--at <time>', 'the newest archive taken at or before this ISO 8601 time (default: the newest)')
        .option('--archive <key>', 'exactly this archive')
        .option('--source <name>', 'host or application the archives come from (default: the only one the catalog knows)', sourceArg)
        .option('--mount <path>', "where the container mounts the data (default: the manifest's, else the engine's, e.g. /var/lib/mysql)")
        .option('--env-file <path>', "host file with the container's environment values (bare-host recreate)")
        .option('--preserve', 'if the volume holds data, keep it as <volume>.pre-restore.<id> instead of refusing')
        .option('--allow-unverified', 'restore an archive that has no sha256 (made by hand): only its size is checked')
        .option('--volume-driver <name>', "driver for the volume if the restore creates it (default local; never the archive manifest's)")
        .option(
          '--volume-opt <key=value>',
          'driver option for a created volume, repeatable (type=nfs|nfs4|cifs|tmpfs, o=…, device=…)',
          (v: string, prev?: string[]) => [...(prev ?? []), v],
        ),
    );

  restoreOptions(program.command('plan'))
    .description('what a restore would do (a dry run: nothing is sent)')
    .action(async (volume: string, flags: RestoreFlags) => {
      const b = await connect();
      const plan = await b.plan(await restoreRequest(b, volume, flags, true));
      if (json) emit(JsonOutput.plan, { plan });
      else print(`${planText(plan)}\n\nThis was a plan; nothing was sent. Run the same with \`lifeboat restore\` to restore.`);
    });

  restoreOptions(program.command('restore'))
    .description('restore a volume from its archive, restart the database and prove it answers')
    .option('-y, --yes', 'restore without asking (required when stdin is not a terminal, and with --json)')
    .option('--no-wait', 'return once the command is sent (deployed Lifeboat only)')
    .option('--timeout <seconds>', 'how long to wait for the end', intArg('--timeout', 1, 86_400), 7200)
    .action(async (volume: string, flags: RestoreFlags & { yes?: boolean; wait: boolean; timeout: number }) => {
      // Only a person at a terminal is asked; anywhere else (a script, a pipe, CI, --json) a restore
      // replaces the volume's data only when the command line says so.
      json = globals().json ?? false;
      const ask = !json && io.stdin.isTTY;
      if (!flags.yes && !ask)
        throw new CliError(
          EXIT.usage,
          `restore replaces the data of volume ${volume} and asks first, but ${json ? '--json was given' : 'stdin is not a terminal'}: add --yes to restore without asking`,
          '`lifeboat plan` with the same arguments shows what it would do; nothing was sent',
        );
      const b = await connect();
      const request = await restoreRequest(b, volume, flags, false);
      const plan = await b.plan({ ...request, dryRun: true });
      if (!json) {
        say(`Lifeboat: ${b.description}`);
        say(planText(plan));
      }
      if (ask && !flags.yes) {
        const rl = createInterface({ input: io.stdin, output: io.stderr });
        const answer = await rl.question('Restore now? [y/N] ');
        rl.close();
        if (!/^y(es)?$/i.test(answer.trim())) {
          say('Nothing was done.');
          code = EXIT.failed;
          return;
        }
      }
      const sink = progress(`restore ${volume}`, 'preflight');
      const started = await b.start(request, sink);
      if (!json) say(`Restore ${started.restoreId} sent to ${request.instanceId}.`);
      const ref = { restoreId: started.restoreId, source: request.source };
      if (!flags.wait && !isLocal(b)) {
        stopProgress();
        if (json) emit(JsonOutput.restore, { restoreId: started.restoreId, plan: started.plan, record: null });
        else print(`Follow it with: ${followUp('status', ref)} --watch\nStop it with:   ${followUp('cancel', ref)}`);
        return;
      }
      // Local mode: Ctrl-C cancels (see connect). Here: stop waiting; the restore goes on.
      const stopWaiting = (): void => {
        say(`\nStopped waiting. The restore goes on: ${followUp('status', ref)} --watch (stop it with: ${followUp('cancel', ref)})`);
        process.exit(130);
      };
      if (!isLocal(b)) process.once('SIGINT', stopWaiting);
      try {
        const record = await b.wait(ref, sink, flags.timeout);
        stopProgress();
        if (json) emit(JsonOutput.restore, { restoreId: started.restoreId, plan: started.plan, record });
        else print(recordText(record));
        code = record.state === 'succeeded' ? EXIT.ok : EXIT.failed;
      } finally {
        process.removeListener('SIGINT', stopWaiting);
      }
    });

  verifyOptions(
    program
      .command('drill')
      .description('prove the newest archive restores: restore it under throwaway names, check the database, remove everything')
      .argument('<volume>', 'the protected volume', volumeArg)
      .option('--to <instance>', 'instance id to drill on (local mode: this machine)')
      .option('--at <time>', 'the newest archive taken at or before this ISO 8601 time (default: the newest)')
      .option('--archive <key>', 'exactly this archive')
      .option('--source <name>', 'host or application the archives come from (default: the only one the catalog knows)', sourceArg)
      .option('--allow-unverified', 'drill an archive that has no sha256 (made by hand): only its size is checked')
      .option('--timeout <seconds>', 'how long to wait for the end', intArg('--timeout', 1, 86_400), 7200),
  ).action(
    async (
      volume: string,
      flags: VerifyFlags & { to?: string; at?: string; archive?: string; source?: string; allowUnverified?: boolean; timeout: number },
    ) => {
      const b = await connect();
      const where = await target(b, volume, flags, 'drill on');
      const parsed = DrillRequest.safeParse({ ...where, ...verifyFields(flags), allowUnverified: flags.allowUnverified ?? false });
      if (!parsed.success) throw usageFrom(parsed.error);
      const sink = progress(`drill ${volume}`, 'preflight');
      const started = await b.drill(parsed.data, sink);
      if (!json) say(`Drill ${started.restoreId} sent to ${where.instanceId}: ${started.plan.volume} (throwaway).`);
      const record = await b.wait({ restoreId: started.restoreId, source: where.source }, sink, flags.timeout);
      stopProgress();
      if (json) emit(JsonOutput.restore, { restoreId: started.restoreId, plan: started.plan, record });
      else print(recordText(record));
      code = record.state === 'succeeded' ? EXIT.ok : EXIT.failed;
    },
  );

  program
    .command('recover')
    .description("whole-host recovery: every protected volume of a lost host's source onto a replacement, in waves, with a report")
    .argument('<source>', 'the lost host (the source its archives are under)', recoverSourceArg)
    .option('--to <instance>', 'the replacement instance for every volume (local mode: this machine, also spelled "local", the default)')
    .option(
      '--volume-target <volume>=<instance>',
      'put this volume on another instance, repeatable (with --to: the others go to --to; without: name every volume)',
      (v: string, prev?: string[]) => [...(prev ?? []), v],
    )
    .option('--at <time>', "each volume's newest archive taken at or before this ISO 8601 time (a set consistent in time; default: each one's newest)")
    .option('--dry-run', 'print the plan (members, waves, archives and their age, predicted times, problems) and start nothing')
    .option('--parallel <n>', `members of one wave restored at once (1-${MAX_PARALLEL.toString()}, default 4)`, intArg('--parallel', 1, MAX_PARALLEL))
    .addOption(
      new Option('--if-volume-exists <how>', 'a volume that already holds data: fail (that member is refused) or preserve (kept aside, then restored)')
        .choices(['fail', 'preserve'])
        .default('fail'),
    )
    .option('--env-file <path>', "host file with recreated containers' environment values")
    .option('-y, --yes', 'recover without asking (required when stdin is not a terminal, and with --json)')
    .option('--timeout <seconds>', 'how long to wait for the end', intArg('--timeout', 1, 172_800), 14_400)
    .action(async (source: string, flags: RecoverFlags) => {
      // As restore: only a person at a terminal is asked; a script, a pipe or --json says --yes.
      // Checked before anything is opened or asked (local mode's state, a plan from the API).
      json = globals().json ?? false;
      if (!flags.dryRun && !flags.yes && (json || !io.stdin.isTTY))
        throw new CliError(
          EXIT.usage,
          `recover restores every protected volume of ${source} and asks first, but ${json ? '--json was given' : 'stdin is not a terminal'}: add --yes to recover without asking`,
          'the same with --dry-run shows the plan; nothing was sent',
        );
      const b = await connect();
      const request = await recoveryRequest(b, source, flags);
      const plan: RecoveryPlan = await b.recoveryPlan({ ...request, dryRun: true });
      if (flags.dryRun) {
        if (json) emit(JsonOutput.recoveryPlan, { plan });
        else
          print(
            `${recoveryPlanText(plan)}\n\nThis was a plan; nothing was started.${plan.problems.length > 0 ? ' A recovery would be refused until the problems are fixed.' : ' Run the same without --dry-run to recover.'}`,
          );
        code = plan.problems.length > 0 ? EXIT.refused : EXIT.ok;
        return;
      }
      if (!json) {
        say(`Lifeboat: ${b.description}`);
        say(recoveryPlanText(plan));
      }
      if (plan.problems.length > 0)
        throw new CliError(
          EXIT.refused,
          `the recovery plan has problems; nothing was started: ${plan.problems.join('; ')}`,
          'fix them and run again (--dry-run shows the plan)',
        );
      if (!json && !flags.yes && io.stdin.isTTY) {
        const count = plan.waves.reduce((n, w) => n + w.members.length, 0);
        const rl = createInterface({ input: io.stdin, output: io.stderr });
        const answer = await rl.question(`Recover ${count.toString()} volume${count === 1 ? '' : 's'} of ${source} now? [y/N] `);
        rl.close();
        if (!/^y(es)?$/i.test(answer.trim())) {
          say('Nothing was done.');
          code = EXIT.failed;
          return;
        }
      }
      const started = await b.recover(request);
      const ref = { recoveryId: started.recoveryId, source };
      if (!json) say(`Recovery ${started.recoveryId} started (${started.executionArn}).`);
      const t0 = Date.now();
      const startedAt = new Map<string, number>();
      const onProgress = (event: RecoveryProgress): void => {
        if (event.type === 'memberStarted') startedAt.set(event.volume, Date.now());
        const since = event.type === 'memberEnded' ? startedAt.get(event.volume) : undefined;
        if (!json)
          say(
            `[${((Date.now() - t0) / 1000).toFixed(1).padStart(7)} s] recover ${source}: ${recoveryProgressText(event, since === undefined ? undefined : (Date.now() - since) / 1000)}`,
          );
      };
      // API mode: Ctrl-C stops waiting; the recovery goes on in Step Functions. (Local mode: see connect.)
      const stopWaiting = (): void => {
        say(`\nStopped waiting. The recovery goes on: lifeboat status ${ref.recoveryId} --source ${source}`);
        process.exit(130);
      };
      if (!isLocal(b)) process.once('SIGINT', stopWaiting);
      try {
        const record = await b.waitRecovery(ref, onProgress, flags.timeout);
        if (json) emit(JsonOutput.recovery, { recoveryId: started.recoveryId, executionArn: started.executionArn, plan: started.plan, record });
        else print(recoveryReportText(record));
        code = record.state === 'succeeded' ? EXIT.ok : EXIT.failed;
      } finally {
        process.removeListener('SIGINT', stopWaiting);
      }
    });

  program
    .command('status')
    .description('what became of a restore, or of a backup run through a deployed Lifeboat (its SSM command id)')
    .argument('<id>', "the restore id (r-…), or a backup's SSM command id", statusIdArg)
    .option(
      '--source <name>',
      'the source the restore or backup belongs to (required with a deployed Lifeboat, which keeps them under their source)',
      sourceArg,
    )
    .option('--watch', 'wait until it is over, showing its state (restores)')
    .option('--timeout <seconds>', 'how long --watch waits', intArg('--timeout', 1, 86_400), 7200)
    .action(async (id: string, flags: { source?: string; watch?: boolean; timeout: number }) => {
      const b = await connect();
      if (RECOVERY_ID_PATTERN.test(id)) {
        if (flags.source === undefined)
          throw new CliError(EXIT.usage, `--source is required to find recovery ${id}`, 'a recovery is kept under its source: add --source <name>');
        const record = await b.recoveryStatus({ recoveryId: id, source: flags.source });
        if (json) emit(JsonOutput.recoveryStatus, { record });
        else print(recoveryReportText(record));
        code = ['succeeded', 'planned', 'launching', 'running'].includes(record.state) ? EXIT.ok : EXIT.failed;
        return;
      }
      if (COMMAND_ID_PATTERN.test(id)) {
        if (flags.source === undefined)
          throw new CliError(
            EXIT.usage,
            `--source is required to find backup command ${id}`,
            'the API keeps each backup under its source: add --source <name>, as `lifeboat backup` printed',
          );
        const status = await b.backupStatus(flags.source, id);
        if (json) emit(JsonOutput.backupStatus, { status });
        else print(backupStatusText(status));
        code = status.done && status.result?.outcome !== 'succeeded' ? EXIT.failed : EXIT.ok;
        return;
      }
      const ref = { restoreId: id, source: flags.source };
      let record = await b.status(ref);
      if (flags.watch && !['succeeded', 'failed', 'cancelled'].includes(record.state)) {
        const sink = progress(`restore ${id}`);
        record = await b.wait(ref, sink, flags.timeout);
        stopProgress();
      }
      if (json) emit(JsonOutput.status, { record });
      else print(recordText(record));
      code = record.state === 'failed' || record.state === 'cancelled' ? EXIT.failed : EXIT.ok;
    });

  program
    .command('cancel')
    .description('stop a restore or drill: the host puts things back as they were, then it is cancelled and its volume free')
    .argument('<id>', 'the restore id (r-…)', restoreIdArg)
    .option('--source <name>', 'the source the restore belongs to (required with a deployed Lifeboat)', sourceArg)
    .action(async (id: string, flags: { source?: string }) => {
      const ref = { restoreId: id, source: flags.source };
      json = globals().json ?? false;
      // Local mode: the restore runs inside the lifeboat process that started it, which holds the state folder.
      const home = localHome(globals(), io.env);
      const outcome = (home !== undefined ? await (await import('./local.ts')).requestCancel(home, ref) : undefined) ?? (await (await connect()).cancel(ref));
      if (json) emit(JsonOutput.cancel, outcome);
      else print(outcome.message);
      if (!json && outcome.state === 'cancelling') print(`Follow it with: ${followUp('status', ref)} --watch`);
    });

  program
    .command('backup')
    .description('archive a volume with the backup runbook: here (local mode), or on a host through SSM (a deployed Lifeboat, --to)')
    .argument('<volume>', 'the Docker volume', volumeArg)
    .option('--container <name>', 'the database container (local mode default: the one container using the volume; API mode: none, a live copy)')
    .option(
      '--source <name>',
      'host or application name in the archive key (local mode default: this host name; API mode default: the only source the catalog knows for the volume)',
      sourceArg,
    )
    .option('--to <instance>', 'a deployed Lifeboat: the instance that holds the volume (e.g. i-0123456789abcdef0)')
    .addOption(
      new Option('--consistency <how>', 'pause (crash-consistent), stop (clean shutdown) or none (live copy)')
        .choices(['pause', 'stop', 'none'])
        .default('pause'),
    )
    .option('--no-wait', 'a deployed Lifeboat: return once the command is sent')
    .option('--timeout <seconds>', 'a deployed Lifeboat: how long to wait for the end', intArg('--timeout', 1, 86_400), 3600)
    .action(
      async (
        volume: string,
        flags: { container?: string; source?: string; to?: string; consistency: 'pause' | 'stop' | 'none'; wait: boolean; timeout: number },
      ) => {
        const b = await connect();
        if (flags.container !== undefined) pattern(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/, '--container')(flags.container);
        if (isLocal(b)) {
          if (flags.to !== undefined && flags.to !== 'local')
            throw new CliError(
              EXIT.usage,
              '--to is for a deployed Lifeboat: local mode backs up this machine',
              'pass --api (or LIFEBOAT_API_URL) to back up another host',
            );
          const sink = progress(`backup ${volume}`, 'preflight');
          const outcome = await b.backup({ volume, source: flags.source ?? defaultSource(), container: flags.container, consistency: flags.consistency }, sink);
          stopProgress();
          if (json) emit(JsonOutput.backup, { result: outcome.result, archive: outcome.archive, container: outcome.container });
          else print(backupText(outcome.result, outcome.container));
          return;
        }
        // A deployed Lifeboat: the request is judged here first, each problem named by its flag.
        if (flags.to === undefined)
          throw new CliError(EXIT.usage, `--to is required: the instance that holds volume ${volume} (e.g. i-0123456789abcdef0)`, 'nothing was sent');
        const source = flags.source ?? (await backupSourceFor(b, volume));
        const parsed = BackupRequest.safeParse({
          source,
          volume,
          instanceId: flags.to.trim(),
          containerName: flags.container,
          consistency: flags.consistency,
        });
        if (!parsed.success) throw usageFrom(parsed.error, { instanceId: '--to', consistency: '--consistency' });
        const request = parsed.data;
        if (!json && request.containerName === undefined)
          say(`No --container: ${volume} is copied live (nothing paused); name the database container for a consistent copy.`);
        const sink = progress(`backup ${volume}`, 'sending');
        const outcome = await b.backup(
          {
            volume,
            source,
            container: request.containerName,
            consistency: request.consistency,
            instanceId: request.instanceId,
            wait: flags.wait,
            timeoutSeconds: flags.timeout,
            onSent: (started) => {
              if (!json) say(`Backup ${started.backupId} sent to ${started.instanceId} (SSM command ${started.commandId}): ${started.destination}`);
            },
          },
          sink,
        );
        stopProgress();
        if (outcome.kind !== 'api') throw new CliError(EXIT.failed, 'unexpected: a deployed Lifeboat answered a local backup');
        const { started, status } = outcome;
        if (json) emit(JsonOutput.backupSent, { backup: started, status });
        else print(status === null ? `Follow it with: lifeboat status ${started.commandId} --source ${source}` : backupStatusText(status));
        if (status !== null) code = status.result?.outcome === 'succeeded' ? EXIT.ok : EXIT.failed;
      },
    );

  if (parseOnly) for (const command of program.commands) command.action(() => undefined);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return code;
  } catch (e) {
    stopProgress();
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.exitCode === 0) return EXIT.ok;
      // Commander has said it on stderr; a script asked for --json gets it as the one document on stdout.
      if (json) emit(JsonOutput.error, { error: usageErrorJson(e) });
      return EXIT.usage;
    }
    const error = toCliError(e);
    if (json)
      emit(JsonOutput.error, {
        error: { code: EXIT_NAME[error.exitCode], exitCode: error.exitCode, message: error.message, hint: error.hint, details: error.details },
      });
    // An error may quote a host's or a manifest's words: one line each.
    say(`lifeboat: ${terminalSafe(error.message)}`);
    if (error.hint) say(`  ${terminalSafe(error.hint)}`);
    return error.exitCode;
  } finally {
    process.removeListener('SIGINT', onInterrupt);
    await backend?.close();
  }
}
