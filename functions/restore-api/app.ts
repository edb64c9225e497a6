import { type IdempotencyConfig, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import type { BasePersistenceLayer } from '@aws-lambda-powertools/idempotency/persistence';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import * as z from 'zod';
import { SOURCE_PATTERN, VOLUME_PATTERN } from '../core/archive-key.ts';
import type { Catalog } from '../core/catalog/model.ts';
import { ClientError, NotFoundError } from '../core/restore/errors.ts';
import { DrillRequest, RestoreRequest } from '../core/restore/request.ts';
import type { RestoreService, StartedRestore } from '../core/restore/service.ts';
import { json } from '../commons/http-errors.ts';

/** What the idempotent start is keyed on: the caller and their Idempotency-Key. */
export interface StartInput {
  readonly principal: string;
  readonly key: string;
  readonly request: RestoreRequest;
}

export interface ApiDeps {
  readonly service: RestoreService;
  readonly catalog: Catalog;
  /** `service.start` made idempotent (Powertools) for requests with an Idempotency-Key. */
  readonly startIdempotent: (input: StartInput) => Promise<StartedRestore>;
  readonly now?: () => Date;
  /** Counts restores and drills started (the dashboard's "restores started"). */
  readonly started?: (mode: 'restore' | 'drill') => void;
}

/**
 * `service.start` made idempotent per (caller, Idempotency-Key) with Powertools:
 * a retry gets the stored answer and never sends a second command; the same key
 * with another body is refused. The stored answer is plain JSON.
 */
export function idempotentStart(service: RestoreService, persistenceStore: BasePersistenceLayer, config: IdempotencyConfig): (input: StartInput) => Promise<StartedRestore> {
  return makeIdempotent(async (input: StartInput) => JSON.parse(JSON.stringify(await service.start(input.request, input.principal))) as StartedRestore, {
    persistenceStore,
    config,
  });
}

const IdempotencyKey = z.string().regex(/^[A-Za-z0-9_.:-]{1,128}$/, { error: 'Idempotency-Key must be 1-128 of A-Z a-z 0-9 _ . : -' });
const RestoreId = z.string().regex(/^r-[a-z0-9]{1,16}-[a-f0-9]{8}$/, { error: 'must be a restore id such as r-mfx2k1a0-1a2b3c4d' });
const ArchivesQuery = z.strictObject({
  source: z.string().regex(SOURCE_PATTERN, { error: `must match ${SOURCE_PATTERN.source}` }),
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

/** Routes one API Gateway (REST, IAM-authorized) request. Errors propagate to the one error mapper. */
export async function handleApi(deps: ApiDeps, event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> {
  const principal = event.requestContext.identity.userArn ?? event.requestContext.identity.caller ?? 'unknown';
  const route = `${event.httpMethod} ${event.resource}`;
  switch (route) {
    case 'POST /restores': {
      const request = RestoreRequest.parse(bodyOf(event));
      if (request.dryRun) return json(200, { dryRun: true, plan: await deps.service.plan(request) });
      const key = header(event, 'Idempotency-Key');
      const started = key === undefined ? await deps.service.start(request, principal) : await deps.startIdempotent({ principal, key: IdempotencyKey.parse(key), request });
      deps.started?.('restore');
      return json(202, { ...started, statusUrl: `/restores/${started.restoreId}` }, { location: `/restores/${started.restoreId}` });
    }
    case 'POST /drills': {
      // A drill on demand: the archive restored under throwaway names, verified and removed.
      const started = await deps.service.drill(DrillRequest.parse(bodyOf(event)), principal);
      deps.started?.('drill');
      return json(202, { ...started, statusUrl: `/restores/${started.restoreId}` }, { location: `/restores/${started.restoreId}` });
    }
    case 'GET /restores/{id}': {
      const id = RestoreId.parse(event.pathParameters?.id ?? '');
      return json(200, await deps.service.get(id));
    }
    case 'GET /archives': {
      const q = ArchivesQuery.parse(event.queryStringParameters ?? {});
      const archives = await deps.catalog.listArchives(q.source, q.volume, { atOrBefore: q.before, limit: q.limit });
      return json(200, { source: q.source, volume: q.volume, archives: archives.map(({ manifest, ...a }) => ({ ...a, hasManifest: manifest !== undefined })) });
    }
    case 'GET /volumes': {
      const now = (deps.now?.() ?? new Date()).getTime();
      const volumes = await deps.catalog.listVolumes();
      return json(200, { volumes: volumes.map((v) => ({ ...v, newestAgeSeconds: Math.round((now - Date.parse(v.newestTakenAt)) / 1000) })) });
    }
    default:
      throw new NotFoundError(`no route ${route}`);
  }
}
