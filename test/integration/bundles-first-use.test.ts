import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbCatalog } from '#core/catalog/dynamodb-catalog.ts';
import { startLocalDynamo, type LocalDynamo } from '#core/local/dynamodb.ts';
import { bundleEnv, synthBundles, type Bundles } from '../support/bundles.ts';

const run = promisify(execFile);
const NAMES = ['restore-api', 'catalog', 'command-finished', 'drill', 'freshness', 'slack', 'slack-worker', 'sweeper'] as const;

/** Runs `script` (an ES module body with `m`, the imported bundle) in a fresh Node.js process in the bundle's folder. */
async function inBundle(dir: string, script: string, env: Record<string, string>): Promise<string> {
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', `const m = await import('./index.mjs');\n${script}`], {
    cwd: dir,
    env,
    encoding: 'utf8',
  });
  // The function's own logs (JSON lines) come first; the script prints its answer last.
  return stdout.trim().split('\n').pop() ?? '';
}

// Module init loads no clients, SDK or schemas: each function's wiring loads on its first
// invocation (functions/commons/first-use.ts). These prove that deferred load works in the
// bundles as the stack builds them, and still refuses a bad environment.
describe('Lambda bundles: the wiring loads on first use', () => {
  let bundles: Bundles;
  let dynamo: LocalDynamo;

  beforeAll(async () => {
    bundles = synthBundles();
    dynamo = await startLocalDynamo();
  }, 180_000);
  afterAll(async () => {
    bundles.close();
    await dynamo.close();
  });

  it('no bundle imports an SDK package at load (each is required on first use)', () => {
    for (const name of NAMES) {
      const code = readFileSync(join(bundles.assets[name] ?? '', 'index.mjs'), 'utf8');
      expect(code.match(/(?:import|from)\s*["']@aws-sdk\/[^"']+["']/g) ?? [], name).toEqual([]);
    }
  });

  it.each(NAMES)('%s loads its wiring (clients, SDK, environment) in a fresh Node.js process', async (name) => {
    const dir = bundles.assets[name] ?? '';
    expect(await inBundle(dir, "await m.ready(); console.log('wired');", bundleEnv(dir))).toBe('wired');
  });

  it('the freshness function answers from DynamoDB through the SDK it required on its first invocation', async () => {
    const table = await dynamo.createCatalogTable();
    const takenAt = new Date(Date.now() - 600_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    await new DynamoDbCatalog(dynamo.doc, table).putArchive({
      key: `archives/db1/pgdata/${takenAt.replace(/[-:]/g, '')}.tar.zst`,
      source: 'db1',
      volume: 'pgdata',
      takenAt,
      compression: 'zstd',
      size: 1000,
      catalogedAt: takenAt,
    });
    const dir = bundles.assets.freshness ?? '';
    const env = {
      ...bundleEnv(dir),
      AWS_ENDPOINT_URL: dynamo.endpoint,
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      TABLE_NAME: table,
    };
    const check = { volumes: [{ source: 'db1', volume: 'pgdata', rpoSeconds: 3600 }] };
    const out = JSON.parse(
      await inBundle(dir, `console.log(JSON.stringify(await m.handler(${JSON.stringify(check)}, { functionName: 'freshness', awsRequestId: 'r1' })));`, env),
    ) as { source: string; volume: string; overdue: boolean; ageSeconds: number }[];
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({ source: 'db1', volume: 'pgdata', overdue: false });
    expect(out[0]?.ageSeconds).toBeGreaterThanOrEqual(600);
    expect(out[0]?.ageSeconds).toBeLessThan(3600);
  });

  it('a missing environment variable fails the first invocation, naming it (the import itself succeeds)', async () => {
    const dir = bundles.assets.catalog ?? '';
    const env: Record<string, string> = { ...bundleEnv(dir) };
    delete env.TABLE_NAME;
    const out = await inBundle(
      dir,
      "try { await m.handler({}, {}); console.log('answered'); } catch (e) { console.log(`refused: ${e instanceof Error ? e.message : String(e)}`.replace(/\\n/g, ' ')); }",
      env,
    );
    expect(out).toMatch(/^refused: /);
    expect(out).toContain('TABLE_NAME');
  });
});
