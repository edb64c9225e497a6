/**
 * The API contract, from the zod schemas the handler parses with: the request bodies as
 * JSON Schema 2020-12 (docs/openapi.json, scripts/openapi.ts) and as JSON Schema draft-04,
 * the only dialect API Gateway REST API models accept (lib/restore-api.ts attaches one per
 * body route, so a body of the wrong shape is refused before the function runs).
 *
 * What JSON Schema cannot say stays in the handler, which checks every body again with the
 * same schemas: the `superRefine` rules (a request's verification rules, a backup's "exactly
 * one of volume and hostPath") and the path's source (a body's `source` must equal it).
 */
import * as z from 'zod';
import { BackupRequest } from '#core/backup/schemas.ts';
import { RecoveryRequest } from '#core/recovery/model.ts';
import { DrillRequest, RestoreRequest } from '#core/restore/schemas.ts';

/** A JSON Schema document (any dialect) as plain JSON. */
export type JsonSchemaObject = Record<string, unknown>;

/** Every route with a JSON body, and the schema the handler parses that body with. */
export const BODY_ROUTES = {
  'POST /sources/{source}/restores': { name: 'RestoreRequest', schema: RestoreRequest },
  'POST /sources/{source}/drills': { name: 'DrillRequest', schema: DrillRequest },
  'POST /sources/{source}/backups': { name: 'BackupRequest', schema: BackupRequest },
  'POST /sources/{source}/recoveries': { name: 'RecoveryRequest', schema: RecoveryRequest },
} as const satisfies Record<string, { name: string; schema: z.ZodType }>;
export type BodyRoute = keyof typeof BODY_ROUTES;

/** Said of a body's `source`: the handler fills it from the path. */
export const BODY_SOURCE_NOTE = 'Optional: the source in the path. A body naming another source is refused (400).';

/**
 * The body as a caller may send it: every body schema requires `source`, but the handler
 * gives a body without one the path's (and refuses one naming another), so it is optional.
 */
function sourceFromPath(schema: JsonSchemaObject): JsonSchemaObject {
  const properties = schema.properties as Record<string, JsonSchemaObject> | undefined;
  const required = schema.required as string[] | undefined;
  if (properties?.source === undefined || required === undefined) throw new Error('a body schema must be an object with a source property');
  return {
    ...schema,
    properties: { ...properties, source: { ...properties.source, description: BODY_SOURCE_NOTE } },
    required: required.filter((name) => name !== 'source'),
  };
}

/**
 * The body schema for the OpenAPI 3.1 document (JSON Schema 2020-12, the input side: defaults
 * are shown, fields with defaults are optional). `unrepresentable: 'throw'`: a transform added
 * to a request schema fails generation instead of documenting "anything".
 */
export function openApiBodySchema(schema: z.ZodType): JsonSchemaObject {
  const json = z.toJSONSchema(schema, { target: 'draft-2020-12', io: 'input', unrepresentable: 'throw' }) as JsonSchemaObject;
  return sourceFromPath(withoutDialect(json));
}

/** The schema without its `$schema` line. */
export function withoutDialect(schema: JsonSchemaObject): JsonSchemaObject {
  const copy = { ...schema };
  delete copy.$schema;
  return copy;
}

/** Removes `format` everywhere (the keyword only; a property named format stays). */
function withoutFormat(value: unknown, inProperties = false): unknown {
  if (Array.isArray(value)) return value.map((v) => withoutFormat(v));
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([key]) => inProperties || key !== 'format')
      .map(([key, v]) => [key, withoutFormat(v, !inProperties && (key === 'properties' || key === 'patternProperties'))]),
  );
}

/**
 * The body schema as an API Gateway model: JSON Schema draft-04, the same schema. Differences,
 * each only ever letting more through (the handler checks again): `source` is optional (see
 * {@link sourceFromPath}); `format` is dropped (which date-time forms API Gateway's validator
 * takes is not documented; zod's own date-time pattern, kept, is the rule the handler applies);
 * `superRefine` rules are not in it (zod cannot emit them).
 */
export function requestModelSchema(schema: z.ZodType, title: string): JsonSchemaObject {
  const json = z.toJSONSchema(schema, { target: 'draft-04', io: 'input', unrepresentable: 'throw' }) as JsonSchemaObject;
  return { $schema: 'http://json-schema.org/draft-04/schema#', title, ...withoutDialect(sourceFromPath(withoutFormat(json) as JsonSchemaObject)) };
}
