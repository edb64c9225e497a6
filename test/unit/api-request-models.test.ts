/**
 * Threat: a body of the wrong shape reaches (and bills) the function; or, worse, the request
 * model refuses a body the function would take, and a restore cannot be started in a disaster.
 * Each body route's API Gateway model is draft-04 made from the zod schema the handler parses
 * with: checked here with a draft-04 validator (ajv, draft-04 meta-schema) on the model as
 * synthesized, over a table of valid and invalid bodies and over generated ones (whatever the
 * handler's schema accepts, the model accepts).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import Ajv from 'ajv';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { BODY_ROUTES, type BodyRoute, requestModelSchema } from '#root/lib/api-contract.ts';
import { LifeboatStack } from '#root/lib/lifeboat-stack.ts';
import { BAD_REQUEST_BODY_TEMPLATE } from '#root/lib/restore-api.ts';
import { ErrorBody } from '#root/scripts/openapi.ts';

const INSTANCE = 'i-0123456789abcdef0';
const SOURCE = 'db1';

/** Bodies the handler takes (with the path's source `db1`), per body route. */
const VALID: Record<BodyRoute, Record<string, unknown>[]> = {
  'POST /sources/{source}/restores': [
    { volume: 'pgdata', instanceId: INSTANCE },
    {
      source: SOURCE,
      volume: 'pgdata',
      instanceId: 'mi-0123456789abcdef0',
      archive: 'latest',
      containerName: 'db',
      engine: 'postgres',
      check: 'select count(*) from users',
      expectMinimum: 1,
    },
    {
      volume: 'pgdata',
      archive: { before: '2026-11-27T03:00:00.123456+02:00' },
      instanceId: INSTANCE,
      containerName: 'db',
      mountPath: '/var/lib/postgresql/data',
      ifVolumeExists: 'preserve',
      containerEnvFile: '/etc/lifeboat/env/db1',
      volumeDriver: 'local',
      volumeDriverOpts: { type: 'nfs', o: 'addr=10.0.0.5,rw', device: ':/exports/pg' },
      allowUnverified: true,
      uncompressedBytes: 1024,
      dryRun: true,
    },
    { volume: 'pgdata', archive: { key: 'archives/db1/pgdata/2026-11-27T030000Z.tar.zst' }, instanceId: INSTANCE, containerName: 'db', engine: 'custom' },
    { volume: 'cache', archive: { before: '2026-11-27T03:00:00Z' }, instanceId: INSTANCE, containerName: 'redis', engine: 'redis', check: 'DBSIZE' },
    { volume: 'pgdata', instanceId: INSTANCE, engine: 'none' },
  ],
  'POST /sources/{source}/drills': [
    { volume: 'pgdata', instanceId: INSTANCE },
    {
      source: SOURCE,
      volume: 'pgdata',
      archive: { before: '2026-11-27T03:00:00Z' },
      instanceId: INSTANCE,
      engine: 'postgres',
      check: 'select 1',
      expectMinimum: 1,
    },
    { volume: 'pgdata', instanceId: INSTANCE, containerEnvFile: '/etc/lifeboat/env/db1', allowUnverified: true, uncompressedBytes: 2 ** 40 },
  ],
  'POST /sources/{source}/backups': [
    { volume: 'pgdata', instanceId: INSTANCE },
    { source: SOURCE, hostPath: '/srv/pgdata', instanceId: INSTANCE, containerName: 'db', mountPath: '/var/lib/postgresql/data', consistency: 'stop' },
    { volume: 'pgdata', instanceId: INSTANCE, containerName: 'db', consistency: 'none' },
  ],
  'POST /sources/{source}/recoveries': [
    { target: { instanceId: INSTANCE } },
    {
      source: SOURCE,
      target: { volumes: { pgdata: INSTANCE, cache: 'mi-0123456789abcdef0' } },
      at: '2026-12-01T03:00:00Z',
      ifVolumeExists: 'preserve',
      parallel: 10,
      dryRun: true,
    },
    { target: { launchTemplate: { id: 'lt-0123456789abcdef0', version: '$Latest' } }, containerEnvFile: '/etc/lifeboat/env/db1' },
  ],
};

/** Bodies of the wrong shape: refused by the model (and by the handler). */
const INVALID: Record<BodyRoute, [string, unknown][]> = {
  'POST /sources/{source}/restores': [
    ['no instanceId', { volume: 'pgdata' }],
    ['an unknown field', { volume: 'pgdata', instanceId: INSTANCE, volumeName: 'x' }],
    ['volume a number', { volume: 42, instanceId: INSTANCE }],
    ['a volume name Docker refuses', { volume: '../etc', instanceId: INSTANCE }],
    ['archive neither latest nor before/key', { volume: 'pgdata', instanceId: INSTANCE, archive: 'newest' }],
    ['archive before not a time', { volume: 'pgdata', instanceId: INSTANCE, archive: { before: 'yesterday' } }],
    ['ifVolumeExists not fail/preserve', { volume: 'pgdata', instanceId: INSTANCE, ifVolumeExists: 'overwrite' }],
    ['uncompressedBytes 0', { volume: 'pgdata', instanceId: INSTANCE, uncompressedBytes: 0 }],
    ['an env file outside /etc/lifeboat/env', { volume: 'pgdata', instanceId: INSTANCE, containerEnvFile: '/root/.env' }],
    ['an array', [{ volume: 'pgdata', instanceId: INSTANCE }]],
    ['a string', 'restore please'],
  ],
  'POST /sources/{source}/drills': [
    ['a restore-only field', { volume: 'pgdata', instanceId: INSTANCE, containerName: 'db' }],
    ['expectMinimum negative', { volume: 'pgdata', instanceId: INSTANCE, expectMinimum: -1 }],
    ['engine unknown', { volume: 'pgdata', instanceId: INSTANCE, engine: 'oracle' }],
  ],
  'POST /sources/{source}/backups': [
    ['consistency unknown', { volume: 'pgdata', instanceId: INSTANCE, consistency: 'freeze' }],
    ['hostPath of one segment', { hostPath: '/srv', instanceId: INSTANCE }],
    ['instanceId not an instance', { volume: 'pgdata', instanceId: 'web-1' }],
  ],
  'POST /sources/{source}/recoveries': [
    ['no target', {}],
    ['an empty target', { target: {} }],
    ['parallel above 10', { target: { instanceId: INSTANCE }, parallel: 11 }],
    ['parallel not whole', { target: { instanceId: INSTANCE }, parallel: 1.5 }],
  ],
};

/** Junk a generated body may carry in any field. */
const JUNK: unknown[] = ['', 'x', 0, -1, 1.5, 2 ** 51, null, true, {}, [], 'latest', '2026-13-01T00:00:00Z', '/etc/lifeboat/env/../x'];

/** A draft-04 validator, as API Gateway models are (ajv 6 with the draft-04 meta-schema). */
function draft04(): Ajv.Ajv {
  const ajv = new Ajv({ schemaId: 'id', meta: false, allErrors: true, unknownFormats: 'ignore' });
  const require = createRequire(import.meta.url);
  ajv.addMetaSchema(JSON.parse(readFileSync(require.resolve('ajv/lib/refs/json-schema-draft-04.json'), 'utf8')) as object);
  return ajv;
}

/** What the handler does with a body: the path's source in it (a body naming another is refused), then its schema. */
const handlerTakes = (route: BodyRoute, body: unknown): boolean => {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return false;
  const named = (body as Record<string, unknown>).source;
  if (named !== undefined && named !== SOURCE) return false;
  return BODY_ROUTES[route].schema.safeParse({ ...body, source: SOURCE }).success;
};

describe('API Gateway request models (draft-04, from the zod schemas)', () => {
  let models: Map<string, { schema: Record<string, unknown>; contentTypes: string[] }>;
  let validated: Map<string, boolean>;
  let gatewayResponses: Record<string, unknown>[];

  beforeAll(() => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new LifeboatStack(app, 'Models', { env: { account: '123456789012', region: 'eu-west-1' } });
    const resources = (Template.fromStack(stack).toJSON() as { Resources: Record<string, { Type: string; Properties: Record<string, unknown> }> }).Resources;
    const pathOf = (id: string): string => {
      const r = resources[id];
      if (!r) return '';
      const parent = r.Properties.ParentId as { Ref?: string };
      return `${parent.Ref ? pathOf(parent.Ref) : ''}/${String(r.Properties.PathPart)}`;
    };
    gatewayResponses = Object.values(resources)
      .filter((r) => r.Type === 'AWS::ApiGateway::GatewayResponse')
      .map((r) => r.Properties);
    models = new Map();
    validated = new Map();
    for (const m of Object.values(resources).filter((r) => r.Type === 'AWS::ApiGateway::Method')) {
      const route = `${String(m.Properties.HttpMethod)} ${pathOf((m.Properties.ResourceId as { Ref: string }).Ref)}`;
      const validator = resources[(m.Properties.RequestValidatorId as { Ref?: string } | undefined)?.Ref ?? ''];
      validated.set(route, validator?.Properties.ValidateRequestBody === true);
      const refs = (m.Properties.RequestModels ?? {}) as Record<string, { Ref: string }>;
      const ids = [...new Set(Object.values(refs).map((r) => r.Ref))];
      if (ids.length === 0) continue;
      expect(ids, `${route}: one model for every content type`).toHaveLength(1);
      models.set(route, { schema: resources[ids[0] ?? '']?.Properties.Schema as Record<string, unknown>, contentTypes: Object.keys(refs).sort() });
    }
  });

  it('each body route has its model (the schema made from its zod schema), for every content type, with body validation on', () => {
    expect([...models.keys()].sort()).toEqual(Object.keys(BODY_ROUTES).sort());
    for (const [route, body] of Object.entries(BODY_ROUTES)) {
      const model = models.get(route);
      expect(model?.schema, route).toEqual(requestModelSchema(body.schema, body.name));
      expect(model?.schema.$schema).toBe('http://json-schema.org/draft-04/schema#');
      expect(model?.contentTypes, route).toEqual(['$default', 'application/json']);
      expect(validated.get(route), `${route}: the validator checks the body`).toBe(true);
    }
  });

  it('a refused body is answered in Lifeboat’s error shape, with the validator’s words naming the property and the route', () => {
    const refused = gatewayResponses.filter((r) => r.ResponseType === 'BAD_REQUEST_BODY');
    expect(refused).toHaveLength(1);
    expect(refused[0]).toMatchObject({ StatusCode: '400', ResponseTemplates: { 'application/json': BAD_REQUEST_BODY_TEMPLATE } });
    // What API Gateway substitutes (simple $context substitution; the validator's message comes with
    // its quotes escaped, as API Gateway's documented examples show): still one JSON document.
    const answered = BAD_REQUEST_BODY_TEMPLATE.replace('$context.httpMethod', 'POST')
      .replace('$context.resourcePath', '/sources/{source}/restores')
      .replace('$context.error.validationErrorString', '[object has missing required properties ([\\"volume\\"])]')
      .replace('$context.requestId', 'c0ffee');
    const body = JSON.parse(answered) as { error: string; code: string; requestId: string };
    expect(body.error).toBe(
      'the request body does not match the schema of POST /sources/{source}/restores (docs/openapi.json): [object has missing required properties (["volume"])]',
    );
    expect(body).toMatchObject({ code: 'BAD_REQUEST_BODY', requestId: 'c0ffee' });
    // It is what the contract (docs/openapi.json, components.schemas.Error) says a 400 is.
    expect(ErrorBody.strict().safeParse(body).success).toBe(true);
  });

  it('every model is a valid draft-04 schema', () => {
    const ajv = draft04();
    for (const [route, model] of models) expect(ajv.validateSchema(model.schema), `${route}: ${ajv.errorsText()}`).toBe(true);
  });

  it('accepts every body the handler takes (a table), and refuses bodies of the wrong shape', () => {
    const ajv = draft04();
    for (const route of Object.keys(BODY_ROUTES) as BodyRoute[]) {
      const check = ajv.compile(models.get(route)?.schema ?? {});
      for (const body of VALID[route]) {
        expect(handlerTakes(route, body), `${route} ${JSON.stringify(body)}: the table's body is valid`).toBe(true);
        expect(check(body), `${route} ${JSON.stringify(body)}: ${ajv.errorsText(check.errors)}`).toBe(true);
      }
      for (const [what, body] of INVALID[route]) {
        expect(handlerTakes(route, body), `${route}: ${what} (the handler refuses it too)`).toBe(false);
        expect(check(body), `${route}: ${what} must be refused by the model`).toBe(false);
      }
    }
  });

  it('never refuses what the handler takes (generated bodies: fields from valid bodies, junk, or absent)', () => {
    const ajv = draft04();
    for (const route of Object.keys(BODY_ROUTES) as BodyRoute[]) {
      const check = ajv.compile(models.get(route)?.schema ?? {});
      const values = new Map<string, unknown[]>();
      for (const body of VALID[route]) for (const [k, v] of Object.entries(body)) values.set(k, [...(values.get(k) ?? []), v]);
      const KEEP = Symbol('keep');
      const DROP = Symbol('drop');
      // Each field of a valid body kept, dropped, or replaced (by another valid body's value or junk).
      const change = (k: string) =>
        fc.oneof(
          { weight: 4, arbitrary: fc.constant<unknown>(KEEP) },
          { weight: 1, arbitrary: fc.constant<unknown>(DROP) },
          { weight: 1, arbitrary: fc.constantFrom(...(k === 'source' ? [SOURCE, 'db2', 7] : (values.get(k) ?? [])), ...JUNK) },
        );
      const keys = [...new Set([...values.keys(), 'source'])];
      const bodies = fc.tuple(fc.constantFrom(...VALID[route]), fc.tuple(...keys.map(change))).map(([base, changes]) => {
        const body: Record<string, unknown> = {};
        keys.forEach((k, i) => {
          const c = changes[i];
          if (c === KEEP) {
            if (k in base) body[k] = base[k];
          } else if (c !== DROP) body[k] = c;
        });
        return body;
      });
      let taken = 0;
      fc.assert(
        fc.property(bodies, (body) => {
          if (!handlerTakes(route, body)) return true;
          taken += 1;
          return check(body) === true;
        }),
        { numRuns: 400 },
      );
      // Not vacuous: many generated bodies were valid, many were not. (The restore route has the most
      // fields, so the fewest all-valid bodies: about 6 % of 400, sd ≈ 5; 8 is over 3 sd below.)
      expect(taken, route).toBeGreaterThan(8);
      expect(taken, route).toBeLessThan(380);
    }
  });
});
