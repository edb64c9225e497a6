/**
 * The routes people read about (docs/api.md's table) are the routes the API has
 * (SOURCE_ROUTES, declared once): a route added without a row, or a row for a route
 * that is gone, fails here.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '#core/paths.ts';
import { ALL_VOLUMES_ROUTE, RECOVERY_ROUTES, SOURCE_ROUTES } from '#root/functions/restore-api/routes.ts';

const doc = readFileSync(join(ROOT, 'docs/api.md'), 'utf8');
/** Every `METHOD /path` named in the first cell of a table row. */
const documented = doc
  .split('\n')
  .filter((line) => line.startsWith('| `'))
  .flatMap((line) => [...(line.split('|')[1] ?? '').matchAll(/`(GET|POST|DELETE|PUT) ([^`?]+)(\?[^`]*)?`/g)].map((m) => `${m[1] ?? ''} ${m[2] ?? ''}`));

describe('docs/api.md: the route table is the routes', () => {
  it('every route has a row', () => {
    for (const r of [...SOURCE_ROUTES, ...RECOVERY_ROUTES, ALL_VOLUMES_ROUTE]) expect(documented, `${r.method} ${r.path}`).toContain(`${r.method} ${r.path}`);
  });
  it('every row is a route', () => {
    const routes = [...SOURCE_ROUTES, ...RECOVERY_ROUTES, ALL_VOLUMES_ROUTE].map((r) => `${r.method} ${r.path}`);
    for (const d of documented) expect(routes, d).toContain(d);
  });
});
