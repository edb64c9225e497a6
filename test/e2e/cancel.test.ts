import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalCommandRunner } from '#core/adapters/local-runner.ts';
import { S3ArchiveStore, type ArchiveStore } from '#core/archive-store.ts';
import { DynamoDbCatalog } from '#core/catalog/dynamodb-catalog.ts';
import { ingestCreated } from '#core/catalog/ingest.ts';
import { LockHeldError } from '#core/catalog/model.ts';
import { apiEvent, localApi, routeEvent } from '../support/api.ts';
import { startLocalDynamo, type LocalDynamo } from '#core/local/dynamodb.ts';
import { localRestore } from '#core/local/restore.ts';
import { startLocalS3, type LocalS3 } from '#core/local/s3.ts';
import {
  HELPER_IMAGE,
  POSTGRES_IMAGE,
  containersWithLabel,
  docker,
  initPostgresVolume,
  recipeArchive,
  removeAll,
  uniqueName,
  volumesWithLabel,
} from './support/docker.ts';
import { snapshotHost } from './support/host.ts';
import { slowArchiveServer, type SlowArchiveServer } from './support/slow-server.ts';

// Threat: a restore that must be stopped keeps writing, or its volume is unlocked while
// the host may still be writing. Cancel through the API, the local runner standing in for
// SSM (TERM to the runbook's process group): the host is put back, then the record says
// cancelled and the volume is free; not before.
describe('cancel a restore mid-download (DELETE /sources/{source}/restores/{id}) on real Docker', () => {
  const INSTANCE = 'i-0000000000000000c';
  const SOURCE = 'old-host';
  const seed = uniqueName('seed');
  const volume = uniqueName('pgdata');
  const db = uniqueName('db');
  let s3: LocalS3;
  let dynamo: LocalDynamo;
  let catalog: DynamoDbCatalog;
  let runner: LocalCommandRunner;
  let api: (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult>;
  let slow: SlowArchiveServer;
  let dir: string;
  let downloading: Promise<void>;

  beforeAll(async () => {
    s3 = await startLocalS3();
    dynamo = await startLocalDynamo();
    dir = await mkdtemp(join(tmpdir(), 'lifeboat-cancel-'));
    catalog = new DynamoDbCatalog(dynamo.doc, await dynamo.createCatalogTable());
    await initPostgresVolume(seed);
    await recipeArchive(seed, dir, 'a.tar.gz');
    const archive = await readFile(join(dir, 'a.tar.gz'));
    const key = `archives/${SOURCE}/${volume}/20261127T010000Z.tar.gz`;
    await s3.put(key, archive);

    // The archive served at ~16 KiB every 250 ms: the download lasts far longer than the test.
    let started: () => void = () => undefined;
    downloading = new Promise((resolve) => {
      started = resolve;
    });
    slow = await slowArchiveServer(archive, () => {
      started();
    });
    const slowUrl = slow.url(key);

    // The real store, except that the host is handed the slow URL.
    const real = new S3ArchiveStore(s3.client, s3.bucket);
    const store: ArchiveStore = {
      head: (k) => real.head(k),
      getText: (k, max) => real.getText(k, max),
      listKeys: (prefix) => real.listKeys(prefix),
      presignGet: () => Promise.resolve(slowUrl),
    };
    await ingestCreated({ store, catalog }, key);
    const local = localRestore({ catalog, store, instanceId: INSTANCE, helperImage: HELPER_IMAGE });
    runner = local.runner;
    const service = local.service;
    api = await localApi(service, catalog, dynamo, runner);
    // The target: the database container defined, its volume empty (a replacement host).
    await docker('create', '--name', db, '--network', 'none', '--mount', `type=volume,src=${volume},dst=/var/lib/postgresql/data`, POSTGRES_IMAGE);
  });

  afterAll(async () => {
    runner.cancelAll();
    await runner.settled();
    await slow.close();
    await removeAll([db], [seed, volume]);
    await s3.close();
    await dynamo.close();
    await rm(dir, { recursive: true, force: true });
  });

  const volumeLocked = async (): Promise<boolean> => {
    try {
      await catalog.acquireLock(INSTANCE, volume, 'probe', 1);
      await catalog.releaseLock(INSTANCE, volume, 'probe');
      return false;
    } catch (e) {
      if (e instanceof LockHeldError) return true;
      throw e;
    }
  };

  it('ends cancelled, the target as before, and the lock free only once the host has put things back', async () => {
    const before = await snapshotHost([volume]);
    const res = await api(
      apiEvent({
        // Made by the classic recipe: no manifest, so no checksum; the request says so.
        bodyJson: { source: SOURCE, volume, instanceId: INSTANCE, containerName: db, mountPath: '/var/lib/postgresql/data', allowUnverified: true },
      }),
    );
    expect(res.statusCode, res.body).toBe(202);
    const { restoreId, commandId } = JSON.parse(res.body) as { restoreId: string; commandId: string };
    await downloading;
    await new Promise((r) => setTimeout(r, 1000)); // some bytes are in the volume by now

    const started = Date.now();
    const cancel = await api(routeEvent('DELETE', `/sources/${SOURCE}/restores/${restoreId}`));
    expect(cancel.statusCode, cancel.body).toBe(202);
    expect(JSON.parse(cancel.body)).toMatchObject({ restoreId, state: 'cancelling' });
    // The host may still be writing: the volume is free only if the record already says cancelled
    // (completion records first, then releases the lock).
    const lockedMeanwhile = await volumeLocked();
    expect(lockedMeanwhile || (await catalog.getRestore(restoreId))?.state === 'cancelled').toBe(true);
    // Asked again while the host is putting things back: the same answer.
    const again = await api(routeEvent('DELETE', `/sources/${SOURCE}/restores/${restoreId}`));
    expect(['cancelling', 'cancelled']).toContain((JSON.parse(again.body) as { state: string }).state); // cancelled if the host was already done

    await runner.finished(commandId);
    expect(Date.now() - started).toBeLessThan(30_000); // the transfer alone would take minutes
    const record = await catalog.getRestore(restoreId);
    expect(record, JSON.stringify(record)).toMatchObject({ state: 'cancelled', commandStatus: 'Cancelled', cancelRequestedBy: expect.any(String) as unknown });
    expect(record?.error).toContain('interrupted by a signal');
    expect(await snapshotHost([volume])).toEqual(before);
    expect(await volumesWithLabel(`lifeboat.restore-id=${restoreId}`)).toEqual([]);
    expect(await containersWithLabel(`lifeboat.restore-id=${restoreId}`)).toEqual([]);
    expect(await volumeLocked()).toBe(false);

    const status = await api(routeEvent('GET', `/sources/${SOURCE}/restores/${restoreId}`));
    expect(JSON.parse(status.body)).toMatchObject({ state: 'cancelled' });
  });
});
