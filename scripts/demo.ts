/**
 * The Docker persistence guide's story, told by Lifeboat on the local engine:
 * a PostgreSQL database on a named volume, backed up with Lifeboat's backup
 * runbook, the host lost (container and volume deleted), then restored through
 * Lifeboat's own restore service and runbook, with the rows checked and the
 * measured timeline shown. Uses embedded S3- and DynamoDB-compatible servers on
 * 127.0.0.1; needs only Docker (and the AWS CLI the backup runbook uploads with).
 *
 *   npm run demo            # cleans up afterwards
 *   npm run demo -- --keep  # leaves the restored database running
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { S3ArchiveStore } from '#core/archive-store.ts';
import { DynamoDbCatalog } from '#core/catalog/dynamodb-catalog.ts';
import { ingestCreated } from '#core/catalog/ingest.ts';
import { ROOT } from '#core/paths.ts';
import { describe } from '#core/restore/completion.ts';
import { RestorePolicy } from '#core/policy.ts';
import { loadDocument } from '#core/runbooks/document.ts';
import { runDocument } from '#core/runbooks/local-runner.ts';
import { BackupResult } from '#core/runbooks/results.ts';
import { startLocalDynamo } from '#core/local/dynamodb.ts';
import { localRestore } from '#core/local/restore.ts';
import { startLocalS3 } from '#core/local/s3.ts';

const VOLUME = 'lifeboat-demo-pgdata';
const DB = 'lifeboat-demo-db';
const HELPER = process.env.LIFEBOAT_HELPER_IMAGE ?? 'local/lifeboat-helper:1';
const POSTGRES = process.env.LIFEBOAT_POSTGRES_IMAGE ?? 'local/postgres:15';
const INSTANCE = 'i-0000000000000demo';
const ROWS = 10_000;
const keep = process.argv.includes('--keep');
const t0 = Date.now();

const say = (text: string): void => {
  console.log(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(5)} s] ${text}`);
};
const docker = (...args: string[]): string => execFileSync('docker', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
const quiet = (...args: string[]): void => void spawnSync('docker', args, { stdio: 'ignore' });
const psql = (sql: string): string => docker('exec', DB, 'psql', '-h', '/var/run/postgresql', '-U', 'postgres', '-XAtq', '-c', sql);
const FINGERPRINT = "select count(*) || ' rows, md5 ' || md5(string_agg(item, ',' order by id)) from orders";

async function waitForDb(): Promise<void> {
  for (let i = 0; i < 120; i++) {
    if (spawnSync('docker', ['exec', DB, 'pg_isready', '-q', '-h', '/var/run/postgresql']).status === 0) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error('PostgreSQL did not start within 30 s');
}

function preflight(): void {
  if (spawnSync('docker', ['info'], { stdio: 'ignore' }).status !== 0) {
    console.error('Docker is not running. Start it (e.g. `dockerd &`, or `bash .ci/run` on Debian) and run `npm run demo` again.');
    process.exit(2);
  }
  if (
    spawnSync('docker', ['image', 'inspect', HELPER], { stdio: 'ignore' }).status !== 0 ||
    spawnSync('docker', ['image', 'inspect', POSTGRES], { stdio: 'ignore' }).status !== 0
  ) {
    say('building the local images (no registry needed)…');
    execFileSync('bash', [join(ROOT, 'scripts/test-images.sh')], { stdio: 'inherit' });
  }
  if (spawnSync('aws', ['--version'], { stdio: 'ignore' }).status !== 0) {
    console.error('The backup runbook uploads with the AWS CLI, which is not installed (apt-get install awscli).');
    process.exit(2);
  }
}

function cleanup(): void {
  quiet('rm', '-f', DB);
  quiet('volume', 'rm', '-f', VOLUME);
}

async function main(): Promise<void> {
  preflight();
  cleanup();
  const s3 = await startLocalS3('lifeboat-demo');
  const dynamo = await startLocalDynamo();
  try {
    const catalog = new DynamoDbCatalog(dynamo.doc, await dynamo.createCatalogTable());
    const store = new S3ArchiveStore(s3.client, s3.bucket);

    say(`1. A PostgreSQL container "${DB}" keeps its data in the named volume "${VOLUME}".`);
    docker('volume', 'create', VOLUME);
    docker(
      'run',
      '--rm',
      '--network',
      'none',
      '-v',
      `${VOLUME}:/var/lib/postgresql/data`,
      POSTGRES,
      'initdb',
      '-D',
      '/var/lib/postgresql/data',
      '-A',
      'trust',
      '-U',
      'postgres',
    );
    docker(
      'run',
      '-d',
      '--name',
      DB,
      '--network',
      'none',
      '--shm-size',
      '256m',
      '--restart',
      'unless-stopped',
      '-v',
      `${VOLUME}:/var/lib/postgresql/data`,
      POSTGRES,
    );
    await waitForDb();
    psql(`create table orders(id int primary key, item text); insert into orders select g, 'order-' || g from generate_series(1, ${ROWS}) g;`);
    const before = psql(FINGERPRINT);
    say(`   the database holds ${before}`);

    say('2. Lifeboat backs it up (backup-volume runbook: paused container, zstd, sha256, manifest) to S3.');
    const backup = await runDocument(
      loadDocument('backup-volume'),
      {
        BackupId: `demo-${Date.now()}`,
        VolumeName: VOLUME,
        ContainerName: DB,
        Consistency: 'pause',
        Bucket: s3.bucket,
        Source: 'demo-host',
        S3EndpointUrl: s3.endpoint,
        HelperImage: HELPER,
      },
      BackupResult,
      { env: s3.hostEnv },
    );
    if (!backup.result || backup.result.outcome !== 'succeeded' || !backup.result.archiveKey)
      throw new Error(`backup failed: ${backup.result?.error ?? backup.stderr.slice(-500)}`);
    say(
      `   ${backup.result.archiveKey}: ${backup.result.bytes} bytes from ${backup.result.uncompressedBytes}, container frozen ${backup.result.containerFrozenSeconds.toFixed(2)} s`,
    );
    await ingestCreated({ store, catalog }, backup.result.archiveKey, { decoded: true });
    await ingestCreated({ store, catalog }, `${backup.result.archiveKey}.manifest.json`, { decoded: true });

    say('3. The host is gone: the container and its volume are deleted.');
    docker('rm', '-f', DB);
    docker('volume', 'rm', VOLUME);
    say(
      `   docker volume inspect ${VOLUME}: ${spawnSync('docker', ['volume', 'inspect', VOLUME], { stdio: 'ignore' }).status === 0 ? 'still there?!' : 'no such volume'}`,
    );

    say('4. Lifeboat restores the latest archive (restore service + restore-volume runbook on this Docker engine).');
    let finished: (() => void) | undefined;
    const done = new Promise<void>((resolve) => (finished = resolve));
    const { service } = localRestore({
      catalog,
      store,
      instanceId: INSTANCE,
      helperImage: HELPER,
      policy: RestorePolicy.parse({ allowedImages: ['local/postgres'] }),
      onCompleted: () => finished?.(),
    });
    const started = await service.start(
      {
        source: 'demo-host',
        volume: VOLUME,
        archive: 'latest',
        instanceId: INSTANCE,
        containerName: DB,
        ifVolumeExists: 'fail',
        allowUnverified: false,
        dryRun: false,
      },
      'demo',
    );
    say(`   restore ${started.restoreId} sent: ${started.plan.missingContainer}`);
    await done;
    const record = await service.get(started.restoreId);
    console.log(describe(record).replace(/^/gm, '          '));
    if (record.state !== 'succeeded') throw new Error(`restore ${record.state}: ${record.error ?? ''}`);

    await waitForDb();
    const after = psql(FINGERPRINT);
    say(`5. The database answers again: ${after}`);
    say(after === before ? `   restored rows: ${ROWS} — identical to before the loss.` : `   MISMATCH: before ${before}`);
    if (after !== before) process.exitCode = 1;
    say(
      `Timeline: restore took ${(record.totalSeconds ?? 0).toFixed(1)} s on the host (${Object.entries(record.phases ?? {})
        .map(([k, v]) => `${k} ${v.toFixed(1)} s`)
        .join(', ')}).`,
    );
  } finally {
    await s3.close();
    await dynamo.close();
    if (keep) say(`--keep: "${DB}" is still running on volume "${VOLUME}".`);
    else cleanup();
  }
}

main().catch((e: unknown) => {
  console.error(`demo failed: ${e instanceof Error ? e.message : String(e)}`);
  cleanup();
  process.exit(1);
});
