/**
 * docs/openapi.json is the API as it is: regenerated here from the routes and the zod schemas,
 * it must equal the committed file (run `npm run openapi` after changing a route or a schema),
 * and every route the API has is in it with its method, parameters and IAM (SigV4) security.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ALL_VOLUMES_ROUTE, RECOVERY_ROUTES, SOURCE_ROUTES } from '#root/functions/restore-api/routes.ts';
import { BODY_ROUTES, openApiBodySchema } from '#root/lib/api-contract.ts';
import { SLACK_ROUTES } from '#root/lib/slack.ts';
import { OPENAPI_FILE, openApiDocument, openApiText } from '#root/scripts/openapi.ts';

interface Operation {
  parameters?: { name: string; in: string; required: boolean }[];
  requestBody?: { content: Record<string, { schema: { $ref: string } }> };
  responses: Record<string, unknown>;
  security?: unknown[];
}
interface Doc {
  openapi: string;
  security: Record<string, unknown[]>[];
  paths: Record<string, Record<string, Operation>>;
  components: {
    schemas: Record<string, { properties?: Record<string, unknown>; required?: string[] }>;
    securitySchemes: Record<string, Record<string, unknown>>;
  };
}

const committedText = readFileSync(OPENAPI_FILE, 'utf8');
const committed = JSON.parse(committedText) as Doc;

describe('docs/openapi.json', () => {
  it('is what scripts/openapi.ts generates from the current schemas and routes (else: npm run openapi)', async () => {
    expect(committed, 'docs/openapi.json is stale: run npm run openapi').toEqual(openApiDocument());
    expect(committedText).toBe(await openApiText());
  });

  it('is OpenAPI 3.1 with SigV4 as the security of every route but Slack’s', () => {
    expect(committed.openapi).toBe('3.1.0');
    expect(committed.components.securitySchemes.sigv4).toMatchObject({
      type: 'apiKey',
      in: 'header',
      name: 'Authorization',
      'x-amazon-apigateway-authtype': 'awsSigv4',
    });
    expect(committed.security).toEqual([{ sigv4: [] }]);
    for (const route of SLACK_ROUTES) expect(committed.paths[`/slack/${route}`]?.post?.security, route).toEqual([]);
  });

  it('has every route the API has, with its method, and no other', () => {
    const routes = [...SOURCE_ROUTES, ...RECOVERY_ROUTES, ALL_VOLUMES_ROUTE].map((r) => `${r.method} ${r.path}`);
    const documented = Object.entries(committed.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`));
    expect(documented.sort()).toEqual([...routes, ...SLACK_ROUTES.map((r) => `POST /slack/${r}`)].sort());
    for (const route of routes) {
      const [method = '', path = ''] = route.split(' ');
      const op = committed.paths[path]?.[method.toLowerCase()];
      // Every path parameter is declared, required.
      for (const name of [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]))
        expect(op?.parameters, `${route}: {${name ?? ''}}`).toContainEqual(expect.objectContaining({ name, in: 'path', required: true }));
      // The error shape on every route: validation (400), IAM (403), not found, throttling, internal.
      for (const code of ['400', '403', '404', '429', '500']) expect(op?.responses, `${route} ${code}`).toHaveProperty(code);
    }
    expect(committed.paths['/sources/{source}/archives']?.get?.parameters).toContainEqual(
      expect.objectContaining({ name: 'volume', in: 'query', required: true }),
    );
  });

  it('each body route’s request body is the schema the handler parses it with; the path supplies source', () => {
    for (const [route, body] of Object.entries(BODY_ROUTES)) {
      const [method = '', path = ''] = route.split(' ');
      expect(committed.paths[path]?.[method.toLowerCase()]?.requestBody?.content['application/json']?.schema, route).toEqual({
        $ref: `#/components/schemas/${body.name}`,
      });
      const schema = committed.components.schemas[body.name];
      expect(schema, body.name).toEqual(openApiBodySchema(body.schema));
      // Every field of the zod schema is documented; source is optional (the handler fills it from the path).
      const fields = Object.keys(body.schema.shape);
      expect(fields.length, body.name).toBeGreaterThan(3);
      expect(Object.keys(schema?.properties ?? {}).sort(), body.name).toEqual(fields.sort());
      expect(schema?.required, body.name).not.toContain('source');
      expect(schema?.required, body.name).toContain(fields.includes('instanceId') ? 'instanceId' : 'target');
    }
    // Defaults are documented as the input side (what a caller may leave out).
    expect(committed.components.schemas.RestoreRequest?.properties?.archive).toMatchObject({ default: 'latest' });
  });
});
