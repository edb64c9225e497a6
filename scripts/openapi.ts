/**
 * Writes docs/openapi.json (`npm run openapi`): the restore API as OpenAPI 3.1, generated from
 * the routes (functions/restore-api/routes.ts, lib/slack.ts) and the zod schemas the handler
 * parses bodies with and answers from (zod 4's own JSON Schema, 2020-12: OpenAPI 3.1's dialect).
 * test/unit/openapi.test.ts regenerates it in memory and fails when the committed file differs.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { format, resolveConfig } from 'prettier';
import * as z from 'zod';
import { SOURCE_PATTERN, VOLUME_PATTERN } from '#core/archive-key.ts';
import { COMMAND_ID_PATTERN } from '#core/backup/schemas.ts';
import { ArchiveEntry, RestoreRecord, VolumeSummary } from '#core/catalog/model.ts';
import { ROOT } from '#core/paths.ts';
import { RECOVERY_ID_PATTERN, RecoveryRecord } from '#core/recovery/model.ts';
import { ALL_VOLUMES_ROUTE, RECOVERY_ROUTES, SOURCE_ROUTES } from '../functions/restore-api/routes.ts';
import { BODY_ROUTES, type BodyRoute, openApiBodySchema, withoutDialect } from '../lib/api-contract.ts';
import { SLACK_ROUTES } from '../lib/slack.ts';

export const OPENAPI_FILE = join(ROOT, 'docs/openapi.json');

/** The restore id in a path (the handler's pattern, functions/restore-api/app.ts). */
const RESTORE_ID_PATTERN = /^r-[a-z0-9]{1,16}-[a-f0-9]{8}$/;

type Json = Record<string, unknown>;

/** An answer's schema (the output side of a zod schema), without its dialect line. */
function answer(schema: z.ZodType): Json {
  return withoutDialect(z.toJSONSchema(schema, { target: 'draft-2020-12', io: 'output', unrepresentable: 'throw' }));
}

/**
 * What the handler's error mapper answers (functions/commons/http-errors.ts), and API Gateway for a
 * body its request model refused (lib/restore-api.ts BAD_REQUEST_BODY_TEMPLATE: error, code, requestId).
 */
export const ErrorBody = z.object({
  error: z.string().meta({ description: 'What is wrong, and what was (not) done.' }),
  fields: z
    .array(z.object({ field: z.string(), problem: z.string() }))
    .optional()
    .meta({ description: 'On a 400: each field refused and what is allowed ("(body)" for the body itself).' }),
  code: z
    .enum(['BAD_REQUEST_BODY'])
    .optional()
    .meta({ description: 'BAD_REQUEST_BODY: API Gateway refused the body against the route’s request model; the function never ran.' }),
  requestId: z.string().optional(),
});
/** What API Gateway itself answers otherwise: a signature refused by IAM, throttling, its own 5xx. */
const GatewayErrorBody = z.object({ message: z.string() });

/** A started restore, drill, backup or recovery: the id and where to poll (the rest is as the CLI shows it). */
const started = (id: string, extra: Record<string, z.ZodType> = {}) =>
  z.looseObject({ [id]: z.string(), state: z.string().optional(), commandId: z.string().optional(), statusUrl: z.string(), ...extra });

const ref = (name: string): Json => ({ $ref: `#/components/schemas/${name}` });
const jsonContent = (schema: Json): Json => ({ content: { 'application/json': { schema } } });
const errorRefs = (...codes: number[]): Json => Object.fromEntries(codes.map((code) => [String(code), { $ref: `#/components/responses/E${String(code)}` }]));

const sourceParam = { name: 'source', in: 'path', required: true, schema: { type: 'string', pattern: SOURCE_PATTERN.source } };
const idParam = (pattern: RegExp, description: string): Json => ({
  name: 'id',
  in: 'path',
  required: true,
  description,
  schema: { type: 'string', pattern: pattern.source },
});
const idempotencyKey = {
  name: 'Idempotency-Key',
  in: 'header',
  required: false,
  description: 'A retry with the same key (same caller, same body) answers the first request’s answer and sends nothing again; another body with it is a 422.',
  schema: { type: 'string', pattern: '^[A-Za-z0-9_.:-]{1,128}$' },
};

/** The route-specific part of each operation (what every route shares is added in {@link openApiDocument}). */
const OPERATIONS: Record<string, Json> = {
  'POST /sources/{source}/restores': {
    summary: 'Restore an archive into a volume on a host',
    parameters: [idempotencyKey],
    responses: {
      '200': {
        description: 'dryRun: the plan (nothing was sent)',
        ...jsonContent({ type: 'object', properties: { dryRun: { const: true }, plan: { type: 'object' } } }),
      },
      '202': { description: 'Started', headers: { location: { schema: { type: 'string' } } }, ...jsonContent(ref('StartedRestore')) },
      ...errorRefs(409, 422),
    },
  },
  'POST /sources/{source}/drills': {
    summary: 'Drill an archive: restored under throwaway names, verified, removed',
    responses: {
      '202': { description: 'Started', headers: { location: { schema: { type: 'string' } } }, ...jsonContent(ref('StartedRestore')) },
      ...errorRefs(409, 422),
    },
  },
  'GET /sources/{source}/restores/{id}': {
    summary: 'A restore’s or drill’s record',
    parameters: [idParam(RESTORE_ID_PATTERN, 'The restore id (r-…)')],
    responses: { '200': { description: 'The record', ...jsonContent(ref('RestoreRecord')) } },
  },
  'DELETE /sources/{source}/restores/{id}': {
    summary: 'Cancel a restore (the host puts things back)',
    parameters: [idParam(RESTORE_ID_PATTERN, 'The restore id (r-…)')],
    responses: {
      '200': { description: 'Already over, or cancelled before it reached the host', ...jsonContent({ type: 'object' }) },
      '202': { description: 'cancelling: the record turns cancelled once the host has reported', ...jsonContent({ type: 'object' }) },
      ...errorRefs(409),
    },
  },
  'GET /sources/{source}/archives': {
    summary: 'A volume’s archives, newest first',
    parameters: [
      { name: 'volume', in: 'query', required: true, schema: { type: 'string', pattern: VOLUME_PATTERN.source } },
      { name: 'before', in: 'query', required: false, description: 'Archives taken at or before this time', schema: { type: 'string', format: 'date-time' } },
      { name: 'limit', in: 'query', required: false, schema: { type: 'integer', minimum: 1, maximum: 100, default: 20 } },
    ],
    responses: {
      '200': {
        description: 'The archives',
        ...jsonContent({
          type: 'object',
          properties: { source: { type: 'string' }, volume: { type: 'string' }, archives: { type: 'array', items: ref('ArchiveListing') } },
        }),
      },
    },
  },
  'GET /sources/{source}/volumes': {
    summary: 'The source’s volumes with their newest archive',
    responses: { '200': { description: 'The volumes', ...jsonContent(ref('Volumes')) } },
  },
  'POST /sources/{source}/backups': {
    summary: 'Back up a volume (or host directory) now, through SSM',
    parameters: [idempotencyKey],
    responses: {
      '202': { description: 'Sent', headers: { location: { schema: { type: 'string' } } }, ...jsonContent(ref('StartedBackup')) },
      ...errorRefs(409, 422),
    },
  },
  'GET /sources/{source}/backups/{id}': {
    summary: 'What became of a backup',
    parameters: [idParam(COMMAND_ID_PATTERN, 'The SSM command id POST …/backups answered')],
    responses: { '200': { description: 'SSM status, done, and once done the host’s result', ...jsonContent({ type: 'object' }) } },
  },
  'POST /sources/{source}/recoveries': {
    summary: 'Recover every protected volume of the source, in waves (only with the recovery state machine)',
    parameters: [idempotencyKey],
    responses: {
      '200': {
        description: 'dryRun: the plan (nothing was started)',
        ...jsonContent({ type: 'object', properties: { dryRun: { const: true }, plan: { type: 'object' } } }),
      },
      '202': { description: 'Started', headers: { location: { schema: { type: 'string' } } }, ...jsonContent(ref('StartedRecovery')) },
      ...errorRefs(409, 422),
    },
  },
  'GET /sources/{source}/recoveries/{id}': {
    summary: 'A recovery’s record (only with the recovery state machine)',
    parameters: [idParam(RECOVERY_ID_PATTERN, 'The recovery id (rc-…)')],
    responses: { '200': { description: 'The record', ...jsonContent(ref('RecoveryRecord')) } },
  },
  'GET /volumes': { summary: 'Every source’s volumes (for operators)', responses: { '200': { description: 'The volumes', ...jsonContent(ref('Volumes')) } } },
};

/** The OpenAPI 3.1 document of the restore API. */
export function openApiDocument(): Json {
  const paths: Record<string, Record<string, Json>> = {};
  const routes = [...SOURCE_ROUTES, ...RECOVERY_ROUTES, ALL_VOLUMES_ROUTE];
  for (const r of routes) {
    const key = `${r.method} ${r.path}`;
    const op = OPERATIONS[key];
    if (op === undefined) throw new Error(`scripts/openapi.ts: no operation for ${key}: describe it in OPERATIONS`);
    const body = key in BODY_ROUTES ? BODY_ROUTES[key as BodyRoute] : undefined;
    const parameters = [...(r.path.includes('{source}') ? [sourceParam] : []), ...((op.parameters as Json[] | undefined) ?? [])];
    const item = (paths[r.path] ??= {});
    item[r.method.toLowerCase()] = {
      operationId: `${r.method.toLowerCase()}${r.path.replace(/\{(\w+)\}/g, 'By-$1').replace(/(^|[/-])(\w)/g, (_m, _s, c: string) => c.toUpperCase())}`,
      summary: op.summary,
      ...('access' in r ? { 'x-lifeboat-access': r.access } : {}),
      ...(parameters.length > 0 ? { parameters } : {}),
      ...(body === undefined ? {} : { requestBody: { required: true, ...jsonContent(ref(body.name)) } }),
      responses: { ...(op.responses as Json), ...errorRefs(400, 403, 404, 429, 500) },
    };
  }
  for (const route of SLACK_ROUTES) {
    paths[`/slack/${route}`] = {
      post: {
        operationId: `postSlack${route[0]?.toUpperCase() ?? ''}${route.slice(1)}`,
        summary: `Slack ${route === 'commands' ? 'slash command' : 'interactivity'} URL (only with Slack configured)`,
        description: 'Not IAM-authorized: the function checks the Slack signature (X-Slack-Signature, X-Slack-Request-Timestamp) before anything else.',
        security: [],
        requestBody: { required: true, content: { 'application/x-www-form-urlencoded': { schema: { type: 'object' } } } },
        responses: { '200': { description: 'The answer Slack shows' }, '401': { description: 'Signature missing, stale or wrong' } },
      },
    };
  }
  const errorResponse = (description: string, gateway: boolean): Json => ({
    description,
    ...jsonContent(gateway ? { oneOf: [ref('Error'), ref('GatewayError')] } : ref('Error')),
  });
  return {
    openapi: '3.1.0',
    info: {
      title: 'Lifeboat restore API',
      version: '1',
      description:
        'Generated from the zod schemas by scripts/openapi.ts (npm run openapi); do not edit. Every route but Slack’s is IAM-authorized (SigV4, service execute-api). Rules JSON Schema cannot state (a request’s verification rules, exactly one of volume and hostPath) are checked by the function: see docs/api.md.',
    },
    servers: [
      {
        url: 'https://{restApiId}.execute-api.{region}.amazonaws.com/v1',
        variables: { restApiId: { default: 'abcdef1234' }, region: { default: 'eu-west-1' } },
      },
    ],
    security: [{ sigv4: [] }],
    paths,
    components: {
      securitySchemes: {
        sigv4: {
          type: 'apiKey',
          name: 'Authorization',
          in: 'header',
          description: 'AWS Signature Version 4 (service execute-api); the caller needs execute-api:Invoke on the route (RestoreApi.grantSourceAccess).',
          'x-amazon-apigateway-authtype': 'awsSigv4',
        },
      },
      schemas: {
        ...Object.fromEntries(Object.values(BODY_ROUTES).map((b) => [b.name, openApiBodySchema(b.schema)])),
        RestoreRecord: answer(RestoreRecord),
        RecoveryRecord: answer(RecoveryRecord),
        ArchiveListing: answer(ArchiveEntry.omit({ manifest: true }).extend({ hasManifest: z.boolean() })),
        Volumes: answer(z.object({ volumes: z.array(VolumeSummary.extend({ newestAgeSeconds: z.number().int() })) })),
        StartedRestore: answer(started('restoreId', { plan: z.looseObject({}) })),
        StartedBackup: answer(started('backupId')),
        StartedRecovery: answer(started('recoveryId', { executionArn: z.string().optional(), plan: z.looseObject({}) })),
        Error: answer(ErrorBody),
        GatewayError: answer(GatewayErrorBody),
      },
      responses: {
        E400: errorResponse(
          'Invalid request: from the function, each field and what is allowed; from API Gateway (the request model refused the body), code BAD_REQUEST_BODY with the validator’s message in error',
          false,
        ),
        E403: errorResponse(
          'Not allowed: IAM denied execute-api:Invoke on this route (from API Gateway), or the target host does not declare the source (from the function)',
          true,
        ),
        E404: errorResponse('Not found (another source’s record is not found either)', false),
        E409: errorResponse('Conflict (e.g. the volume is being restored, the host is not online)', false),
        E422: errorResponse('Refused as asked (e.g. a recovery plan with problems; an Idempotency-Key used with another body)', false),
        E429: errorResponse('Too many requests; retry (retry-after)', true),
        E500: errorResponse('Internal error (with the request id)', true),
      },
    },
  };
}

/** docs/openapi.json as committed: the document, formatted as the repository formats JSON. */
export async function openApiText(): Promise<string> {
  const options = (await resolveConfig(OPENAPI_FILE)) ?? {};
  return format(JSON.stringify(openApiDocument()), { ...options, filepath: OPENAPI_FILE });
}

if (import.meta.main) {
  writeFileSync(OPENAPI_FILE, await openApiText());
  process.stderr.write(`wrote ${OPENAPI_FILE}\n`);
}
