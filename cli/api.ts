import { fromIni } from '@aws-sdk/credential-provider-ini';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import * as z from 'zod';
import { RestoreRecord, TERMINAL_STATES } from '#core/catalog/model.ts';
import type { BackupStatus } from '#core/backup/service.ts';
import type { CancelOutcome } from '#core/restore/cancel.ts';
import type { DrillRequest, RestoreRequest } from '#core/restore/schemas.ts';
import { FINAL_RECOVERY_STATES, RecoveryPlan, RecoveryRecord, type MemberState, type RecoveryRequest, type StartedRecovery } from '#core/recovery/model.ts';
import type { RestorePlan, StartedRestore } from '#core/restore/service.ts';
import {
  ArchiveListItemSchema,
  BackupStatusSchema,
  CancelOutcomeSchema,
  RestorePlanSchema,
  StartedBackupSchema,
  StartedRecoverySchema,
  StartedRestoreSchema,
  VolumeViewSchema,
} from './schema.ts';
import type {
  ArchiveListItem,
  Backend,
  BackupOptions,
  ProgressSink,
  RecoveryProgress,
  RecoveryRef,
  RemoteBackupOutcome,
  RestoreRef,
  VolumeView,
} from './backend.ts';
import { CliError, EXIT, type ExitCode } from './errors.ts';
import { regionOf } from './targets.ts';

export { regionOf };

export interface ApiOptions {
  /** The stack's ApiUrl output, e.g. https://abc123.execute-api.eu-west-1.amazonaws.com/prod/ */
  readonly url: string;
  /** @default from the URL's host, else AWS_REGION */
  readonly region?: string;
  /** @default the standard AWS credential chain (env, profile, SSO, instance role…) */
  readonly credentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  /**
   * Exactly this profile of the shared config and credentials files (keys, a role to assume, SSO,
   * credential_process), never the environment's keys. Ignored with `credentials`.
   * @default the standard chain
   */
  readonly profile?: string;
  /** The stack this API belongs to, as the operator picked it (`LifeboatDr, replica`): named in `description`. */
  readonly stack?: string;
  /** Said when the API does not answer (network error, a 5xx): where else to turn (the DR stack's `--region`). */
  readonly unreachableHint?: string;
  /** Seconds between status polls while waiting. @default 2 */
  readonly pollSeconds?: number;
  readonly fetch?: typeof fetch;
}

const CODE_BY_STATUS: Record<number, ExitCode> = { 400: EXIT.usage, 403: EXIT.unavailable, 404: EXIT.notFound, 409: EXIT.refused, 422: EXIT.refused };
const ErrorBody = z.looseObject({
  error: z.string(),
  fields: z.array(z.object({ field: z.string(), problem: z.string() })).optional(),
  requestId: z.string().optional(),
});

const sourcePath = (source: string): string => `sources/${encodeURIComponent(source)}`;

/** Where the API keeps a restore: under its source, the part of the path IAM scopes. */
function restorePath(ref: RestoreRef): string {
  if (ref.source === undefined) {
    throw new CliError(
      EXIT.usage,
      `--source is required to find restore ${ref.restoreId} in a deployed Lifeboat`,
      'the API keeps each restore under its source (/sources/<source>/restores/<id>): add --source <name>, as `lifeboat restore` printed',
    );
  }
  return `${sourcePath(ref.source)}/restores/${encodeURIComponent(ref.restoreId)}`;
}

/** A deployed Lifeboat, through its IAM-authorized API, every request signed with SigV4. */
export class ApiBackend implements Backend {
  readonly description: string;
  private readonly base: URL;
  private readonly signer: SignatureV4;
  private readonly fetch: typeof fetch;

  constructor(private readonly options: ApiOptions) {
    let base: URL;
    try {
      base = new URL(options.url.endsWith('/') ? options.url : `${options.url}/`);
    } catch {
      throw new CliError(
        EXIT.usage,
        `the API URL ${JSON.stringify(options.url)} is not a URL`,
        'give the stack output ApiUrl, e.g. https://abc123.execute-api.eu-west-1.amazonaws.com/prod/',
      );
    }
    if (base.protocol !== 'https:' && !['127.0.0.1', 'localhost'].includes(base.hostname)) {
      throw new CliError(EXIT.usage, `the API URL must use https (got ${base.protocol})`);
    }
    const region = options.region ?? regionOf(base) ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
    if (!region) throw new CliError(EXIT.usage, `cannot tell the region of ${base.origin}`, 'pass --region or set AWS_REGION');
    this.base = base;
    this.description = `the Lifeboat API at ${base.href} (${options.stack === undefined ? region : `${region}, stack ${options.stack}`})`;
    this.signer = new SignatureV4({
      service: 'execute-api',
      region,
      sha256: Hash.bind(null, 'sha256'),
      credentials: options.credentials ?? this.credentialsFor(region, options.profile),
    });
    this.fetch = options.fetch ?? fetch;
  }

  /**
   * The SDK's providers call STS (assume role, web identity) and SSO in the profile's region, else
   * AWS_REGION, else us-east-1: when the primary region is down, that may be the region that is down.
   * Their clients are told the API's region instead, which answers whenever the API does.
   */
  private credentialsFor(region: string, profile: string | undefined): AwsCredentialIdentityProvider {
    const clientConfig = { region };
    return profile === undefined ? defaultProvider({ clientConfig }) : fromIni({ profile, clientConfig });
  }

  private async call<T>(
    method: 'GET' | 'POST' | 'DELETE',
    path: string,
    schema: z.ZodType<T>,
    options: { query?: Record<string, string | undefined>; body?: unknown } = {},
  ): Promise<T> {
    const url = new URL(path, this.base);
    const query: Record<string, string> = {};
    for (const [k, v] of Object.entries(options.query ?? {})) if (v !== undefined) query[k] = v;
    const body = options.body === undefined ? undefined : JSON.stringify(options.body);
    const request = new HttpRequest({
      method,
      protocol: url.protocol,
      hostname: url.hostname,
      port: url.port ? Number(url.port) : undefined,
      path: url.pathname,
      query,
      headers: { host: url.host, accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body,
    });
    let headers: Record<string, string>;
    try {
      headers = (await this.signer.sign(request)).headers;
    } catch (e) {
      throw new CliError(
        EXIT.unavailable,
        `no AWS credentials to sign the request: ${e instanceof Error ? e.message : String(e)}`,
        'configure credentials (--profile <name>, AWS_PROFILE, `aws sso login`, or environment variables) for an identity allowed to call the Lifeboat API',
      );
    }
    const target = new URL(url.pathname, url);
    for (const [k, v] of Object.entries(query)) target.searchParams.set(k, v);
    let response: Response;
    try {
      response = await this.fetch(target, { method, headers, body, signal: AbortSignal.timeout(30_000) });
    } catch (e) {
      throw new CliError(
        EXIT.unavailable,
        `the Lifeboat API at ${this.base.origin} did not answer: ${e instanceof Error ? e.message : String(e)}`,
        ['check the URL (stack output ApiUrl) and your network', this.options.unreachableHint].filter(Boolean).join('; '),
      );
    }
    const text = await response.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    if (!response.ok) {
      const error = ErrorBody.safeParse(json);
      const fields = error.success && error.data.fields ? `: ${error.data.fields.map((f) => `${f.field} ${f.problem}`).join('; ')}` : '';
      // Not Lifeboat's error shape: say what the answer was rather than only its status.
      const raw = text.trim().replace(/\s+/g, ' ').slice(0, 300);
      const message = error.success ? `${error.data.error}${fields}` : `HTTP ${response.status.toString()}${raw === '' ? '' : `: ${raw}`}`;
      // A 403 from API Gateway (no Lifeboat error body) is IAM saying no; one from Lifeboat is a refusal (a target that does not receive the source).
      const denied = response.status === 403 && !error.success;
      const hint = denied
        ? `the API refused these credentials: the identity needs execute-api:Invoke on this route of the Lifeboat API (${method} ${url.pathname}; per-source grants cover /sources/<source>/…)`
        : [
            error.success && error.data.requestId ? `request id ${error.data.requestId}` : undefined,
            // A 5xx: the service (or its region) is failing; a stack elsewhere may answer.
            response.status >= 500 ? this.options.unreachableHint : undefined,
          ]
            .filter(Boolean)
            .join('; ') || undefined;
      const code =
        response.status === 403 && !denied ? EXIT.refused : (CODE_BY_STATUS[response.status] ?? (response.status >= 500 ? EXIT.unavailable : EXIT.failed));
      throw new CliError(code, message, hint);
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success)
      throw new CliError(
        EXIT.unavailable,
        `the API at ${this.base.origin} answered ${path} with something unexpected`,
        'is this a Lifeboat API of a compatible version?',
      );
    return parsed.data;
  }

  /** Every source's volumes (an operator's view; a team scoped to its sources lists with --source). */
  async volumes(source?: string): Promise<VolumeView[]> {
    const out = await this.call('GET', source === undefined ? 'volumes' : `${sourcePath(source)}/volumes`, z.object({ volumes: z.array(VolumeViewSchema) }));
    return out.volumes;
  }

  async archives(source: string, volume: string, options: { before?: string; limit: number }): Promise<ArchiveListItem[]> {
    const out = await this.call('GET', `${sourcePath(source)}/archives`, z.object({ archives: z.array(ArchiveListItemSchema) }), {
      query: { volume, before: options.before, limit: String(options.limit) },
    });
    return out.archives;
  }

  async plan(request: RestoreRequest): Promise<RestorePlan> {
    const out = await this.call('POST', `${sourcePath(request.source)}/restores`, z.object({ plan: RestorePlanSchema }), {
      body: { ...request, dryRun: true },
    });
    return out.plan;
  }

  async start(request: RestoreRequest, progress: ProgressSink): Promise<StartedRestore> {
    const started = await this.call('POST', `${sourcePath(request.source)}/restores`, StartedRestoreSchema, { body: { ...request, dryRun: false } });
    progress.state(started.state);
    return started;
  }

  async drill(request: DrillRequest, progress: ProgressSink): Promise<StartedRestore> {
    const started = await this.call('POST', `${sourcePath(request.source)}/drills`, StartedRestoreSchema, { body: request });
    progress.state(started.state);
    return started;
  }

  async wait(ref: RestoreRef, progress: ProgressSink, timeoutSeconds: number): Promise<RestoreRecord> {
    const { restoreId } = ref;
    const deadline = Date.now() + timeoutSeconds * 1000;
    const poll = (this.options.pollSeconds ?? 2) * 1000;
    for (;;) {
      const record = await this.status(ref);
      progress.state(record.state);
      if (TERMINAL_STATES.includes(record.state)) return record;
      if (Date.now() + poll > deadline) {
        throw new CliError(
          EXIT.unavailable,
          `restore ${restoreId} is still ${record.state} after ${timeoutSeconds.toString()} s of waiting`,
          `it goes on without the CLI: lifeboat status ${restoreId} --source ${ref.source ?? '<source>'} --watch`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, poll));
    }
  }

  status(ref: RestoreRef): Promise<RestoreRecord> {
    return this.call('GET', restorePath(ref), RestoreRecord);
  }

  cancel(ref: RestoreRef): Promise<CancelOutcome> {
    return this.call('DELETE', restorePath(ref), CancelOutcomeSchema);
  }

  /**
   * Runs the backup document on the host now (`POST /sources/{source}/backups`), then, unless
   * told not to, polls its status until it ends or `timeoutSeconds` pass.
   */
  async backup(options: BackupOptions, progress: ProgressSink): Promise<RemoteBackupOutcome> {
    if (options.instanceId === undefined) {
      throw new CliError(EXIT.usage, `--to is required: the instance that holds volume ${options.volume} (e.g. i-0123456789abcdef0)`, 'nothing was sent');
    }
    const started = await this.call('POST', `${sourcePath(options.source)}/backups`, StartedBackupSchema, {
      body: {
        source: options.source,
        volume: options.volume,
        instanceId: options.instanceId,
        ...(options.container === undefined ? {} : { containerName: options.container }),
        consistency: options.consistency,
      },
    });
    progress.state('sent');
    options.onSent?.(started);
    if (options.wait === false) return { kind: 'api', started, status: null };
    const timeoutSeconds = options.timeoutSeconds ?? 3600;
    const deadline = Date.now() + timeoutSeconds * 1000;
    const poll = (this.options.pollSeconds ?? 2) * 1000;
    for (;;) {
      const status = await this.backupStatus(options.source, started.commandId);
      progress.state(status.status);
      if (status.done) return { kind: 'api', started, status };
      if (Date.now() + poll > deadline) {
        throw new CliError(
          EXIT.unavailable,
          `backup ${started.backupId} (SSM command ${started.commandId}) is still ${status.status} after ${timeoutSeconds.toString()} s of waiting`,
          `it goes on without the CLI: lifeboat status ${started.commandId} --source ${options.source}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, poll));
    }
  }

  backupStatus(source: string, commandId: string): Promise<BackupStatus> {
    return this.call('GET', `${sourcePath(source)}/backups/${encodeURIComponent(commandId)}`, BackupStatusSchema);
  }

  async recoveryPlan(request: RecoveryRequest): Promise<RecoveryPlan> {
    const { source, ...body } = request;
    const out = await this.call('POST', `${sourcePath(source)}/recoveries`, z.object({ plan: RecoveryPlan }), { body: { ...body, dryRun: true } });
    return out.plan;
  }

  async recover(request: RecoveryRequest): Promise<StartedRecovery> {
    const { source, ...body } = request;
    return this.call('POST', `${sourcePath(source)}/recoveries`, StartedRecoverySchema, { body: { ...body, dryRun: false } });
  }

  recoveryStatus(ref: RecoveryRef): Promise<RecoveryRecord> {
    return this.call('GET', `${sourcePath(ref.source)}/recoveries/${encodeURIComponent(ref.recoveryId)}`, RecoveryRecord);
  }

  /**
   * Polls the recovery's record (every pollSeconds, at most timeoutSeconds) and tells each
   * member's start and end as its state changes between two answers.
   */
  async waitRecovery(ref: RecoveryRef, progress: (event: RecoveryProgress) => void, timeoutSeconds: number): Promise<RecoveryRecord> {
    const deadline = Date.now() + timeoutSeconds * 1000;
    const poll = (this.options.pollSeconds ?? 2) * 1000;
    const seen = new Map<string, MemberState>();
    for (;;) {
      const record = await this.recoveryStatus(ref);
      for (const event of memberChanges(seen, record)) progress(event);
      if (FINAL_RECOVERY_STATES.includes(record.state)) return record;
      if (Date.now() + poll > deadline) {
        throw new CliError(
          EXIT.unavailable,
          `recovery ${ref.recoveryId} is still ${record.state} after ${timeoutSeconds.toString()} s of waiting`,
          `it goes on without the CLI (it runs on Step Functions): lifeboat status ${ref.recoveryId} --source ${ref.source}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, poll));
    }
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

const MEMBER_FINAL: readonly MemberState[] = ['succeeded', 'failed', 'skipped'];

/** The members' starts and ends since the last answer (`seen` is updated): what a poll of the record can tell. */
export function memberChanges(seen: Map<string, MemberState>, record: RecoveryRecord): RecoveryProgress[] {
  const events: RecoveryProgress[] = [];
  for (const [volume, member] of Object.entries(record.members)) {
    const before = seen.get(volume) ?? 'pending';
    seen.set(volume, member.state);
    if (before === member.state) continue;
    const started = member.startedAt !== undefined || member.restoreId !== undefined;
    if (before === 'pending' && started) events.push({ type: 'memberStarted', volume });
    if (MEMBER_FINAL.includes(member.state) && !MEMBER_FINAL.includes(before)) {
      const seconds =
        member.totalSeconds ??
        (member.startedAt !== undefined && member.endedAt !== undefined ? (Date.parse(member.endedAt) - Date.parse(member.startedAt)) / 1000 : undefined);
      events.push({
        type: 'memberEnded',
        volume,
        outcome: member.state as 'succeeded' | 'failed' | 'skipped',
        started,
        ...(seconds === undefined ? {} : { seconds }),
        error: member.error ?? null,
      });
    }
  }
  return events;
}
