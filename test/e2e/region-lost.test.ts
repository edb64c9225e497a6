import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalCommandRunner } from '#core/adapters/local-runner.ts';
import { S3ArchiveStore } from '#core/archive-store.ts';
import { DynamoDbCatalog } from '#core/catalog/dynamodb-catalog.ts';
import { ingestCreated, reconcile } from '#core/catalog/ingest.ts';
import { startLocalDynamo, type LocalDynamo } from '#core/local/dynamodb.ts';
import { localRestore } from '#core/local/restore.ts';
import { startLocalS3, type LocalS3 } from '#core/local/s3.ts';
import { ROOT } from '#core/paths.ts';
import { RestorePolicy } from '#core/policy.ts';
import { REPLICA_STACK_ID, replicaBucketName } from '#core/replication.ts';
import { JsonOutput } from '#root/cli/schema.ts';
import { localApi, routeEvent } from '../support/api.ts';
import { replicate } from '../support/replication.ts';
import {
  HELPER_IMAGE,
  PGDATA,
  POSTGRES_IMAGE,
  docker,
  initPostgresVolume,
  psql,
  removeAll,
  rowsFingerprint,
  seedRows,
  startPostgres,
  uniqueName,
  waitForPostgres,
} from './support/docker.ts';
import { exec, type ExecResult } from './support/exec.ts';
import { backup, explain } from './support/runbooks.ts';

// docs/region-lost.md, followed on one machine as far as it runs locally. Two "regions", each
// an S3-compatible server + a DynamoDB-compatible catalog + the restore API served over HTTP
// on 127.0.0.1 (the requests' SigV4 scope must name that region), the local runner standing in
// for SSM on the real Docker engine. The primary's archives reach the DR region through the
// replication emulator (test/support/replication.ts) and the DR catalog's ingest, as S3
// Replication and the DR stack's "Object Created" rule would. The CLI is the real program
// (bin/lifeboat.mjs) reading a `cdk deploy --all` outputs file that names both stacks.
// Each test is a section of the runbook, in its order; each needs the ones before it.

// The Node.js these tests run on (.nvmrc's major), not whatever `node` the PATH has.
const NODE = process.execPath;
const CLI = join(ROOT, 'bin/lifeboat.mjs');
const PRIMARY = 'eu-central-1';
const DR = 'eu-west-1';
const ACCOUNT = '123456789012';
/** The runbook's DR host, as its examples name it. */
const DR_HOST = 'i-0fedcba9876543210';
const SOURCE = 'app1';
const CREDENTIALS = { AWS_ACCESS_KEY_ID: 'AKIDLIFEBOATE2E', AWS_SECRET_ACCESS_KEY: 'lifeboat-e2e-secret' };

/** One region's Lifeboat: bucket, catalog, the restore API over HTTP. */
interface Region {
  readonly name: string;
  readonly s3: LocalS3;
  readonly dynamo: LocalDynamo;
  readonly catalog: DynamoDbCatalog;
  readonly store: S3ArchiveStore;
  readonly runner: LocalCommandRunner;
  readonly apiUrl: string;
  /** Requests the API answered: method, path and the SigV4 scope's region. */
  readonly asked: string[];
  close(): Promise<void>;
}

async function startRegion(name: string, bucket: string, s3Directory?: string): Promise<Region> {
  const s3 = await startLocalS3(bucket, s3Directory === undefined ? {} : { directory: s3Directory });
  const dynamo = await startLocalDynamo();
  const catalog = new DynamoDbCatalog(dynamo.doc, await dynamo.createCatalogTable());
  const store = new S3ArchiveStore(s3.client, s3.bucket);
  const local = localRestore({
    catalog,
    store,
    instanceId: DR_HOST,
    helperImage: HELPER_IMAGE,
    policy: RestorePolicy.parse({ allowedImages: ['local/postgres'] }),
  });
  const api = await localApi(local.service, catalog, dynamo, local.runner);
  const asked: string[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (c: string) => (body += c));
    req.on('end', () => {
      void (async () => {
        const url = new URL(req.url ?? '/', 'http://127.0.0.1');
        // API Gateway in this region: a request signed for another region is refused.
        const scope = /Credential=[^/]+\/\d{8}\/([^/]+)\/execute-api\/aws4_request/.exec(req.headers.authorization ?? '')?.[1];
        asked.push(`${req.method ?? ''} ${url.pathname} ${scope ?? 'unsigned'}`);
        if (scope !== name) {
          res
            .writeHead(403, { 'content-type': 'application/json' })
            .end(JSON.stringify({ message: `Credential should be scoped to a valid region (${name})` }));
          return;
        }
        const answer = await api(
          routeEvent(req.method ?? 'GET', url.pathname.replace(/^\/prod/, ''), {
            queryStringParameters: url.search ? Object.fromEntries(url.searchParams) : null,
            headers: Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)])),
            body: body === '' ? null : body,
          }),
        );
        res.writeHead(answer.statusCode, { 'content-type': 'application/json' }).end(answer.body);
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    name,
    s3,
    dynamo,
    catalog,
    store,
    runner: local.runner,
    apiUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port.toString()}/prod/`,
    asked,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await local.runner.settled();
      await s3.close();
      await dynamo.close();
    },
  };
}

describe('docs/region-lost.md, followed on real Docker with two regions on 127.0.0.1', () => {
  const volume = uniqueName('pgdata');
  const db = uniqueName('app1-db');
  const drDb = uniqueName('app1-db-dr');
  let dir: string;
  let primaryS3Dir: string;
  let primary: Region | undefined;
  let dr: Region;
  let rows: string;
  let replicatedKey: string;
  let drArchiveKey: string;
  const closed = new Set<Region>();

  /** `cdk deploy --all --outputs-file cdk-outputs.json`: both stacks, in the folder the CLI runs in. */
  const writeOutputs = (primaryUrl: string): Promise<void> =>
    writeFile(
      join(dir, 'cdk-outputs.json'),
      JSON.stringify({
        Lifeboat: { ApiUrl: primaryUrl, Region: PRIMARY, Role: 'primary', ArchiveBucketName: 'lifeboat-archives' },
        [REPLICA_STACK_ID]: { ApiUrl: dr.apiUrl, Region: DR, Role: 'replica', ArchiveBucketName: replicaBucketName(ACCOUNT, DR) },
      }),
    );
  const lifeboat = (args: string[], extra: NodeJS.ProcessEnv = {}): Promise<ExecResult> => {
    const clean = Object.fromEntries(
      Object.entries(process.env).filter(
        ([k]) => !['LIFEBOAT_API_URL', 'LIFEBOAT_OUTPUTS', 'LIFEBOAT_REGION', 'AWS_ENDPOINT_URL', 'AWS_PROFILE', 'AWS_SESSION_TOKEN'].includes(k),
      ),
    );
    return exec(NODE, [CLI, ...args], { cwd: dir, env: { ...clean, ...CREDENTIALS, AWS_EC2_METADATA_DISABLED: 'true', ...extra }, timeoutMs: 280_000 });
  };
  const said = (r: ExecResult): string => `exit ${r.code.toString()}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
  /** The DR stack's catalog hears each replicated object ("Object Created" in the replica bucket). */
  const replicateToDr = (from: Region): Promise<string[]> =>
    replicate(from.s3, dr.s3, {
      onCreated: async (key) => {
        await ingestCreated({ store: dr.store, catalog: dr.catalog }, key, { decoded: true });
      },
    });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lifeboat-region-lost-'));
    primaryS3Dir = await mkdtemp(join(tmpdir(), 'lifeboat-region-lost-primary-s3-'));
    primary = await startRegion(PRIMARY, 'lifeboat-archives', primaryS3Dir);
    dr = await startRegion(DR, replicaBucketName(ACCOUNT, DR));
    await writeOutputs(primary.apiUrl);

    // Production in the primary region: app1's database, backed up by the backup runbook to the primary bucket.
    await initPostgresVolume(volume);
    await startPostgres(db, volume);
    await seedRows(db, 2500);
    rows = await rowsFingerprint(db);
    const made = await backup(primary.s3, { VolumeName: volume, ContainerName: db, Consistency: 'pause', Source: SOURCE });
    expect(made.result?.outcome, explain(made)).toBe('succeeded');
    replicatedKey = made.result?.archiveKey ?? '';
    await ingestCreated(primary, replicatedKey, { decoded: true });
    await ingestCreated(primary, made.result?.manifestKey ?? '', { decoded: true });
    // S3 Replication copies archives/ to the replica bucket; the DR catalog ingests what arrives.
    const copied = await replicateToDr(primary);
    expect(copied).toEqual([replicatedKey, made.result?.manifestKey]);
  });

  afterAll(async () => {
    await removeAll([db, drDb], [volume]);
    for (const region of [primary, dr]) if (region !== undefined && !closed.has(region)) await region.close();
    await rm(dir, { recursive: true, force: true });
    await rm(primaryS3Dir, { recursive: true, force: true });
  });

  it('Before the day: the outputs file holds both stacks; without --region the CLI uses the primary and says how to reach the DR stack', async () => {
    const r = await lifeboat(['--json', 'volumes']);
    expect(r.code, said(r)).toBe(0);
    expect(r.stderr).toContain(`using the primary, Lifeboat (${PRIMARY}, primary). For the DR stack: --region ${DR}`);
    expect(JsonOutput.volumes.parse(JSON.parse(r.stdout)).volumes).toContainEqual(
      expect.objectContaining({ source: SOURCE, volume, newestKey: replicatedKey }),
    );
    expect(primary?.asked).toEqual([`GET /prod/volumes ${PRIMARY}`]);
  });

  it('1. How you know: the primary region is lost; the CLI fails with exit 5 and hints --region <dr>', async () => {
    // The region goes: its API, its bucket and its catalog; the host with it.
    if (primary === undefined) throw new Error('no primary');
    await primary.close();
    closed.add(primary);
    await removeAll([db], [volume]);
    const r = await lifeboat(['volumes']);
    expect(r.code, said(r)).toBe(5);
    expect(r.stderr).toMatch(/the Lifeboat API at http:\/\/127\.0\.0\.1:\d+ did not answer/);
    expect(r.stderr).toContain(`if its region is down, use another stack from the outputs file: --region ${DR} (${REPLICA_STACK_ID} (${DR}, replica))`);
  });

  it('2. Decide: `lifeboat --region <dr> volumes` shows the volume and its age (the RPO the DR copy gives), signed for the DR region', async () => {
    const r = await lifeboat(['--region', DR, '--json', 'volumes']);
    expect(r.code, said(r)).toBe(0);
    expect(r.stderr).toBe('');
    const [view] = JsonOutput.volumes.parse(JSON.parse(r.stdout)).volumes.filter((v) => v.volume === volume);
    expect(view).toMatchObject({ source: SOURCE, volume, newestKey: replicatedKey });
    expect(view?.newestAgeSeconds).toBeGreaterThanOrEqual(0);
    expect(view?.newestAgeSeconds).toBeLessThan(600);
    const text = await lifeboat(['--region', DR, 'volumes']);
    expect(text.stdout).toMatch(new RegExp(`${SOURCE}\\s+${volume}\\s+\\S+\\s+\\d+ (s|min)`));
    const archives = await lifeboat(['--region', DR, '--json', 'archives', volume, '--source', SOURCE, '--limit', '5']);
    expect(JsonOutput.archives.parse(JSON.parse(archives.stdout)).archives.map((a) => [a.key, a.hasManifest])).toEqual([[replicatedKey, true]]);
    expect(dr.asked.every((a) => a.endsWith(` ${DR}`))).toBe(true);
  });

  it('3–4. Prepare a host in the DR region and restore: `lifeboat --region <dr> restore … --yes` brings the database back with exactly its rows', async () => {
    // The DR host: the database container defined, its volume empty (as a host built from the AMI would be).
    await docker('create', '--name', drDb, '--network', 'none', '--shm-size', '256m', '--mount', `type=volume,src=${volume},dst=${PGDATA}`, POSTGRES_IMAGE);
    const r = await lifeboat(['--region', DR, 'restore', volume, '--source', SOURCE, '--to', DR_HOST, '--container', drDb, '--yes']);
    expect(r.code, said(r)).toBe(0);
    expect(r.stderr).toContain(`Lifeboat: the Lifeboat API at ${dr.apiUrl} (${DR}, stack ${REPLICA_STACK_ID}, replica)`);
    expect(r.stdout).toMatch(/^Restore r-[a-z0-9]+-[a-f0-9]{8}: SUCCEEDED$/m);
    expect(r.stdout).toContain(`archive ${replicatedKey}`);
    await waitForPostgres(drDb);
    expect(await rowsFingerprint(drDb)).toBe(rows);
  });

  it('5. Backups during the outage: an archive taken in the DR region lands in the replica bucket and the DR catalog', async () => {
    // What `lifeboat --region <dr> backup` has the host do: the backup runbook, to the DR stack's bucket.
    await psql(drDb, "insert into lifeboat_test values (100001, 'written in the DR region'); checkpoint;");
    rows = await rowsFingerprint(drDb);
    const made = await backup(dr.s3, { VolumeName: volume, ContainerName: drDb, Consistency: 'pause', Source: SOURCE });
    expect(made.result?.outcome, explain(made)).toBe('succeeded');
    drArchiveKey = made.result?.archiveKey ?? '';
    await ingestCreated(dr, drArchiveKey, { decoded: true });
    await ingestCreated(dr, made.result?.manifestKey ?? '', { decoded: true });
    const r = await lifeboat(['--region', DR, '--json', 'archives', volume, '--source', SOURCE, '--limit', '3']);
    expect(JsonOutput.archives.parse(JSON.parse(r.stdout)).archives.map((a) => a.key)).toEqual([drArchiveKey, replicatedKey]);
  });

  it('6. Fail back: the archives written in DR are copied to the returning primary, reconcile catalogs them, the primary’s newest is the DR archive', async () => {
    // The primary region returns: its bucket as it was (the same objects), its catalog empty until reconciled.
    primary = await startRegion(PRIMARY, 'lifeboat-archives', primaryS3Dir);
    // The API's URL is the same stack output in AWS; here a new port, so the file is written again.
    await writeOutputs(primary.apiUrl);
    const up = await lifeboat(['--region', PRIMARY, '--json', 'volumes']);
    expect(up.code, said(up)).toBe(0);
    // `aws s3 sync … --size-only`: only what the primary does not have (the replicated archive is there already).
    const copied = await replicate(dr.s3, primary.s3);
    expect(copied).toEqual([drArchiveKey, `${drArchiveKey}.manifest.json`]);
    // Invoke the primary's ReconcileFunctionName.
    const report = await reconcile(primary);
    expect(report).toMatchObject({ listed: 4, cataloged: 2 });
    const archives = await lifeboat(['--region', PRIMARY, '--json', 'archives', volume, '--source', SOURCE, '--limit', '3']);
    expect(archives.code, said(archives)).toBe(0);
    expect(JsonOutput.archives.parse(JSON.parse(archives.stdout)).archives.map((a) => a.key)).toEqual([drArchiveKey, replicatedKey]);
    // Switch the CLI back: no --region is the primary again, whose newest is the archive taken in DR.
    const volumes = await lifeboat(['--json', 'volumes']);
    expect(volumes.stderr).toContain('using the primary');
    expect(JsonOutput.volumes.parse(JSON.parse(volumes.stdout)).volumes).toContainEqual(expect.objectContaining({ volume, newestKey: drArchiveKey }));
    // Replication flows again: the copies are already in the replica bucket, nothing is missing there.
    expect(await replicateToDr(primary)).toEqual([]);
    expect(rows).toMatch(/^2501 /);
  });
});
