import { type IdempotencyConfig, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import type { BasePersistenceLayer } from '@aws-lambda-powertools/idempotency/persistence';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import * as z from 'zod';
import { SOURCE_PATTERN, VOLUME_PATTERN } from '#core/archive-key.ts';
import { BackupRequest, COMMAND_ID_PATTERN } from '#core/backup/schemas.ts';
import type { BackupService, StartedBackup } from '#core/backup/service.ts';
import type { Catalog } from '#core/catalog/model.ts';
import { cancelRestore } from '#core/restore/cancel.ts';
import { ClientError, NotFoundError } from '#core/restore/errors.ts';
import type { CommandRunner } from '#core/restore/ports.ts';
import { DrillRequest, RestoreRequest } from '#core/restore/schemas.ts';
import type { RestoreService, StartedRestore } from '#core/restore/service.ts';
import { RECOVERY_ID_PATTERN, RecoveryRequest, type RecoveryApi, type StartedRecovery } from '#core/recovery/model.ts';
import { ALL_VOLUMES_ROUTE, RECOVERY_ROUTES, SOURCE_ROUTES } from './routes.ts';
import { json } from '../commons/http-errors.ts';

/** What the idempotent start is keyed on: the caller and their Idempotency-Key. */
export interface StartInput {
  readonly principal: string;
  readonly key: string;
  readonly request: RestoreRequest;
}

/** What the idempotent backup start is keyed on: the caller and their Idempotency-Key. */
export interface StartBackupInput {
  readonly principal: string;
  readonly key: string;
  readonly request: BackupRequest;
}

/** What the idempotent recovery start is keyed on: the caller and their Idempotency-Key. */
export interface StartRecoveryInput {
  readonly principal: string;
  readonly key: string;
  readonly request: RecoveryRequest;
}

/** Whole-host recoveries (`POST /sources/{source}/recoveries`) and their records. */
export interface RecoveryApiDeps {
  readonly service: RecoveryApi;
  /** `service.start` made idempotent (Powertools) for requests with an Idempotency-Key. */
  readonly startIdempotent: (input: StartRecoveryInput) => Promise<StartedRecovery>;
}

/** Backups now (`POST /sources/{source}/backups`) and what became of them. */
export interface BackupApiDeps {
  readonly service: BackupService;
  /** `service.start` made idempotent (Powertools) for requests with an Idempotency-Key. */
  readonly startIdempotent: (input: StartBackupInput) => Promise<StartedBackup>;
}

export interface ApiDeps {
  readonly service: RestoreService;
  readonly catalog: Catalog;
  /** Where restores run: cancel asks it to stop a command. */
  readonly runner: CommandRunner;
  /** `service.start` made idempotent (Powertools) for requests with an Idempotency-Key. */
  readonly startIdempotent: (input: StartInput) => Promise<StartedRestore>;
  readonly now?: () => Date;
  /** Counts restores and drills started (the dashboard's "restores started"). */
  readonly started?: (mode: 'restore' | 'drill' | 'backup' | 'recovery') => void;
  /** Backups now. @default none: the backup routes answer 404 */
  readonly backups?: BackupApiDeps;
  /** Whole-host recoveries. @default none: the recovery routes answer 404 */
  readonly recoveries?: RecoveryApiDeps;
}

/**
 * A start (`(request, principal) => answer`) made idempotent per (caller, Idempotency-Key) with
 * Powertools: a retry gets the stored answer and never sends a second command; the same key with
 * another body is refused. The stored answer is plain JSON.
 */
function idempotentJson<R, T>(
  start: (request: R, principal: string) => Promise<T>,
  persistenceStore: BasePersistenceLayer,
  config: IdempotencyConfig,
  keyPrefix?: string,
): (input: { request: R; principal: string }) => Promise<T> {
  return makeIdempotent(async (input: { request: R; principal: string }) => JSON.parse(JSON.stringify(await start(input.request, input.principal))) as T, {
    persistenceStore,
    config,
    ...(keyPrefix === undefined ? {} : { keyPrefix }),
  });
}

/** `service.start` made idempotent (see {@link idempotentJson}). */
export function idempotentStart(
  service: RestoreService,
  persistenceStore: BasePersistenceLayer,
  config: IdempotencyConfig,
): (input: StartInput) => Promise<StartedRestore> {
  return idempotentJson((request: StartInput['request'], principal) => service.start(request, principal), persistenceStore, config);
}

/**
 * `backups.start` made idempotent. Its keys have their own prefix (the restore's are the
 * function name alone), so that a key used for a restore and for a backup are two keys; give
 * it its own persistence layer (Powertools keeps the prefix on the layer).
 */
export function idempotentBackup(
  service: BackupService,
  persistenceStore: BasePersistenceLayer,
  config: IdempotencyConfig,
): (input: StartBackupInput) => Promise<StartedBackup> {
  return idempotentJson(
    (request: StartBackupInput['request'], principal) => service.start(request, principal),
    persistenceStore,
    config,
    `${process.env.AWS_LAMBDA_FUNCTION_NAME ?? 'lifeboat'}.backup`,
  );
}

/**
 * `recoveries.start` made idempotent: a retry gets the same recovery and starts no second
 * execution. Its keys have their own prefix (as backups'), so give it its own persistence layer.
 */
export function idempotentRecovery(
  service: RecoveryApi,
  persistenceStore: BasePersistenceLayer,
  config: IdempotencyConfig,
): (input: StartRecoveryInput) => Promise<StartedRecovery> {
  return idempotentJson(
    (request: StartRecoveryInput['request'], principal) => service.start(request, principal),
    persistenceStore,
    config,
    `${process.env.AWS_LAMBDA_FUNCTION_NAME ?? 'lifeboat'}.recovery`,
  );
}

const IdempotencyKey = z.string().regex(/^[A-Za-z0-9_.:-]{1,128}$/, { error: 'Idempotency-Key must be 1-128 of A-Z a-z 0-9 _ . : -' });
const RestoreId = z.string().regex(/^r-[a-z0-9]{1,16}-[a-f0-9]{8}$/, { error: 'must be a restore id such as r-mfx2k1a0-1a2b3c4d' });
const ArchivesQuery = z.strictObject({
  volume: z.string().regex(VOLUME_PATTERN, { error: `must match ${VOLUME_PATTERN.source}` }),
  before: z.iso.datetime({ offset: true, error: 'must be an ISO 8601 time' }).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
});

function header(event: APIGatewayProxyEvent, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [k, v] of Object.entries(event.headers)) if (k.toLowerCase() === wanted) return v;
  return undefined;
}

function bodyOf(event: APIGatewayProxyEvent): unknown {
  const text = event.isBase64Encoded && event.body ? Buffer.from(event.body, 'base64').toString('utf8') : (event.body ?? '');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new ClientError(400, 'the body must be a JSON object');
  }
}

/** The source in the path: what IAM authorized (`execute-api:Invoke` on `…/sources/<source>/*`). */
const PathSource = z.string().regex(SOURCE_PATTERN, { error: `must be a source name (${SOURCE_PATTERN.source})` });

/**
 * The body with the path's source: a body naming another source is refused (a caller
 * allowed /sources/a/… must not act on b's archives), one naming none gets the path's.
 */
function withPathSource(body: unknown, source: string): unknown {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return body;
  const named = (body as Record<string, unknown>).source;
  if (named !== undefined && named !== source) {
    throw new ClientError(
      400,
      `the body's source ${((JSON.stringify(named) as string | undefined) ?? 'a non-JSON value').slice(0, 80)} is not the path's source ${source}; nothing was done`,
      {
        fields: [{ field: 'source', problem: `must be ${source} (the source in the path /sources/${source}/…) or left out` }],
      },
    );
  }
  return { ...body, source };
}

/** A restore record, only through its own source's path (another source's is not found there). */
async function recordOf(deps: ApiDeps, source: string, id: string) {
  const record = await deps.service.get(id);
  if (record.source !== source) throw new NotFoundError(`no restore ${id} of source ${source}`);
  return record;
}

const statusUrl = (source: string, id: string): string => `/sources/${source}/restores/${id}`;
const backupStatusUrl = (source: string, commandId: string): string => `/sources/${source}/backups/${commandId}`;
const CommandId = z.string().regex(COMMAND_ID_PATTERN, { error: 'must be an SSM command id (a UUID), as POST /sources/{source}/backups answered' });

function backupsOf(deps: ApiDeps): BackupApiDeps {
  if (deps.backups === undefined) throw new NotFoundError('this Lifeboat API runs no backups');
  return deps.backups;
}

function recoveriesOf(deps: ApiDeps): RecoveryApiDeps {
  if (deps.recoveries === undefined)
    throw new NotFoundError('this Lifeboat API runs no whole-host recoveries (it was deployed without the recovery state machine)');
  return deps.recoveries;
}

const recoveryUrl = (source: string, id: string): string => `/sources/${source}/recoveries/${id}`;
const RecoveryId = z.string().regex(RECOVERY_ID_PATTERN, { error: 'must be a recovery id such as rc-20261201030000-1a2b3c4d' });

/**
 * Routes one API Gateway (REST, IAM-authorized) request. Everything that reads or acts on
 * a source's archives and restores is under `/sources/{source}/…`, so that plain IAM
 * (`execute-api:Invoke` on `…/v1/POST/sources/team-a/restores`) scopes a caller to its
 * sources. Errors propagate to the one error mapper.
 */
export async function handleApi(deps: ApiDeps, event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> {
  const principal = event.requestContext.identity.userArn ?? event.requestContext.identity.caller ?? 'unknown';
  const route = `${event.httpMethod} ${event.resource}`;
  if (route === `${ALL_VOLUMES_ROUTE.method} ${ALL_VOLUMES_ROUTE.path}`) {
    // Every source's volumes: grant it to operators, not to teams scoped to their sources.
    const now = (deps.now?.() ?? new Date()).getTime();
    const volumes = await deps.catalog.listVolumes();
    return json(200, { volumes: volumes.map((v) => ({ ...v, newestAgeSeconds: Math.round((now - Date.parse(v.newestTakenAt)) / 1000) })) });
  }
  if (![...SOURCE_ROUTES, ...RECOVERY_ROUTES].some((r) => route === `${r.method} ${r.path}`)) throw new NotFoundError(`no route ${route}`);
  const source = z.object({ source: PathSource }).parse(event.pathParameters ?? {}).source;
  const id = (): string => RestoreId.parse(event.pathParameters?.id ?? '');
  switch (route) {
    case 'POST /sources/{source}/restores': {
      const request = RestoreRequest.parse(withPathSource(bodyOf(event), source));
      if (request.dryRun) return json(200, { dryRun: true, plan: await deps.service.plan(request) });
      const key = header(event, 'Idempotency-Key');
      const started =
        key === undefined ? await deps.service.start(request, principal) : await deps.startIdempotent({ principal, key: IdempotencyKey.parse(key), request });
      deps.started?.('restore');
      const url = statusUrl(source, started.restoreId);
      return json(202, { ...started, statusUrl: url }, { location: url });
    }
    case 'POST /sources/{source}/drills': {
      // A drill on demand: the archive restored under throwaway names, verified and removed.
      const started = await deps.service.drill(DrillRequest.parse(withPathSource(bodyOf(event), source)), principal);
      deps.started?.('drill');
      const url = statusUrl(source, started.restoreId);
      return json(202, { ...started, statusUrl: url }, { location: url });
    }
    case 'GET /sources/{source}/restores/{id}':
      return json(200, await recordOf(deps, source, id()));
    case 'DELETE /sources/{source}/restores/{id}': {
      const outcome = await cancelRestore({ catalog: deps.catalog, runner: deps.runner, now: deps.now }, id(), principal, { sources: [source] });
      return json(outcome.state === 'cancelling' ? 202 : 200, { ...outcome, statusUrl: statusUrl(source, outcome.restoreId) });
    }
    case 'GET /sources/{source}/archives': {
      const q = ArchivesQuery.parse(event.queryStringParameters ?? {});
      const archives = await deps.catalog.listArchives(source, q.volume, { atOrBefore: q.before, limit: q.limit });
      return json(200, { source, volume: q.volume, archives: archives.map(({ manifest, ...a }) => ({ ...a, hasManifest: manifest !== undefined })) });
    }
    case 'GET /sources/{source}/volumes': {
      const now = (deps.now?.() ?? new Date()).getTime();
      const volumes = (await deps.catalog.listVolumes()).filter((v) => v.source === source);
      return json(200, { volumes: volumes.map((v) => ({ ...v, newestAgeSeconds: Math.round((now - Date.parse(v.newestTakenAt)) / 1000) })) });
    }
    case 'POST /sources/{source}/backups': {
      const backups = backupsOf(deps);
      const request = BackupRequest.parse(withPathSource(bodyOf(event), source));
      const key = header(event, 'Idempotency-Key');
      const started =
        key === undefined
          ? await backups.service.start(request, principal)
          : await backups.startIdempotent({ principal, key: IdempotencyKey.parse(key), request });
      deps.started?.('backup');
      const url = backupStatusUrl(source, started.commandId);
      return json(202, { ...started, statusUrl: url }, { location: url });
    }
    case 'GET /sources/{source}/backups/{id}': {
      const { id: commandId } = z.object({ id: CommandId }).parse({ id: event.pathParameters?.id ?? '' });
      return json(200, await backupsOf(deps).service.status(source, commandId));
    }
    case 'POST /sources/{source}/recoveries': {
      // Every protected volume of the source, in waves, on the recovery state machine.
      const recoveries = recoveriesOf(deps);
      const request = RecoveryRequest.parse(withPathSource(bodyOf(event), source));
      if (request.dryRun) return json(200, { dryRun: true, plan: await recoveries.service.plan(request) });
      const key = header(event, 'Idempotency-Key');
      const started =
        key === undefined
          ? await recoveries.service.start(request, principal)
          : await recoveries.startIdempotent({ principal, key: IdempotencyKey.parse(key), request });
      deps.started?.('recovery');
      const url = recoveryUrl(source, started.recoveryId);
      return json(202, { ...started, statusUrl: url }, { location: url });
    }
    case 'GET /sources/{source}/recoveries/{id}': {
      const recoveries = recoveriesOf(deps);
      const { id: recoveryId } = z.object({ id: RecoveryId }).parse({ id: event.pathParameters?.id ?? '' });
      const record = await recoveries.service.get(recoveryId);
      // Only through its own source's path: what IAM scoped the caller to.
      if (record.plan.source !== source) throw new NotFoundError(`no recovery ${recoveryId} of source ${source}`);
      return json(200, record);
    }
    default:
      throw new NotFoundError(`no route ${route}`);
  }
}
