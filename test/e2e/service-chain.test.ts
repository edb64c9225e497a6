import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3ArchiveStore } from '#core/archive-store.ts';
import type { LocalCommandRunner } from '#core/adapters/local-runner.ts';
import { DynamoDbCatalog } from '#core/catalog/dynamodb-catalog.ts';
import { ingestCreated } from '#core/catalog/ingest.ts';
import type { CompletionOutcome } from '#core/restore/completion.ts';
import { apiEvent, localApi } from '../support/api.ts';
import { startLocalDynamo, type LocalDynamo } from '#core/local/dynamodb.ts';
import { localRestore } from '#core/local/restore.ts';
import { startLocalS3, type LocalS3 } from '#core/local/s3.ts';
import { HELPER_IMAGE, POSTGRES_IMAGE, docker, recipeArchive, removeAll, rowsFingerprint, stoppedDatabase, uniqueName } from './support/docker.ts';
import { snapshotHost } from './support/host.ts';

// The whole service chain, with the local runner standing in for SSM: an archive
// lands in S3 -> catalog event -> POST /restores -> the restore document runs on
// the real engine -> completion event -> the record tells the truth.
describe('the service chain on real Docker', () => {
  const INSTANCE = 'i-0000000000000000a';
  const source = uniqueName('src');
  const sourceDb = uniqueName('srcdb');
  const volume = uniqueName('pgdata');
  const db = uniqueName('db');
  let s3: LocalS3;
  let dynamo: LocalDynamo;
  let catalog: DynamoDbCatalog;
  let runner: LocalCommandRunner;
  let api: (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult>;
  let rows: string;
  let dir: string;
  const completions: CompletionOutcome[] = [];

  beforeAll(async () => {
    s3 = await startLocalS3();
    dynamo = await startLocalDynamo();
    dir = await mkdtemp(join(tmpdir(), 'lifeboat-chain-'));
    catalog = new DynamoDbCatalog(dynamo.doc, await dynamo.createCatalogTable());
    const store = new S3ArchiveStore(s3.client, s3.bucket);
    const local = localRestore({ catalog, store, instanceId: INSTANCE, helperImage: HELPER_IMAGE, onCompleted: (outcome) => completions.push(outcome) });
    runner = local.runner;
    const service = local.service;
    api = await localApi(service, catalog, dynamo);

    rows = await stoppedDatabase(source, sourceDb, 4000);
    await recipeArchive(source, dir, 'a.tar.gz');
    const archive = await readFile(join(dir, 'a.tar.gz'));
    await s3.put(`archives/old-host/${volume}/20261127T010000Z.tar.gz`, archive);
    await s3.put(`archives/old-host/${volume}/20261127T020000Z.tar.gz`, archive.subarray(0, 1000)); // the newest is corrupt
    for (const key of [`archives/old-host/${volume}/20261127T010000Z.tar.gz`, `archives/old-host/${volume}/20261127T020000Z.tar.gz`]) {
      await ingestCreated({ store, catalog }, key); // the "Object Created" events
    }
    // A replacement host: the database container is defined (these archives carry no manifest to recreate it), its volume is empty.
    await docker(
      'create',
      '--name',
      db,
      '--network',
      'none',
      '--shm-size',
      '256m',
      '--mount',
      `type=volume,src=${volume},dst=/var/lib/postgresql/data`,
      POSTGRES_IMAGE,
    );
  });

  afterAll(async () => {
    await removeAll([sourceDb, db], [source, volume]);
    await s3.close();
    await dynamo.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function restore(archive: unknown): Promise<{ restoreId: string; commandId: string }> {
    const res = await api(
      apiEvent({
        // Made by the classic recipe: no manifest, so no checksum; the request says so.
        bodyJson: {
          source: 'old-host',
          volume,
          archive,
          instanceId: INSTANCE,
          containerName: db,
          mountPath: '/var/lib/postgresql/data',
          allowUnverified: true,
        },
      }),
    );
    expect(res.statusCode, res.body).toBe(202);
    const answer = JSON.parse(res.body) as { restoreId: string; commandId: string };
    await runner.finished(answer.commandId);
    return answer;
  }

  it('a corrupt newest archive: the record says failed with the reason, the lock is released, the host is untouched', async () => {
    const before = await snapshotHost([volume]);
    const { restoreId } = await restore('latest');
    const record = await catalog.getRestore(restoreId);
    expect(record).toMatchObject({ state: 'failed', failedPhase: 'extract', commandStatus: 'Failed' });
    expect(record?.error).toMatch(/extract failed/);
    expect(await snapshotHost([volume])).toEqual(before); // still there, still empty
    expect(completions.at(-1)).toMatchObject({ action: 'finished', restoreId });
  });

  it('the archive before it restores onto the replacement host: succeeded with phase timings, rows back, lock released', async () => {
    const { restoreId } = await restore({ before: '2026-11-27T01:30:00Z' });
    const record = await catalog.getRestore(restoreId);
    expect(record, JSON.stringify(record)).toMatchObject({
      state: 'succeeded',
      commandStatus: 'Success',
      archiveKey: `archives/old-host/${volume}/20261127T010000Z.tar.gz`,
    });
    expect(record?.totalSeconds).toBeGreaterThan(0);
    expect(Object.keys(record?.phases ?? {})).toEqual(['preflight', 'download', 'extract', 'swap', 'start', 'verify', 'cleanup']);
    expect(record?.bytes).toBeGreaterThan(1000);
    expect(await rowsFingerprint(db)).toBe(rows);
    // The lock is free: a plan for the same volume is accepted again (dry run sends nothing).
    const again = await api(
      apiEvent({ bodyJson: { source: 'old-host', volume, instanceId: INSTANCE, containerName: db, allowUnverified: true, dryRun: true } }),
    );
    expect(again.statusCode).toBe(200);
    await expect(catalog.acquireLock(INSTANCE, volume, 'probe', 1)).resolves.toBeUndefined();
  });
});
