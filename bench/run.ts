/**
 * Lifeboat benchmarks: `npm run bench` (full, minutes) or `npm run bench -- --smoke` (seconds, in npm test).
 *
 * Every comparison runs side by side in this one run, on the same data, alternating
 * the contenders, median of --runs (≥ 3 outside smoke mode); results are ratios
 * against a baseline measured here, because this machine is shared and noisy.
 * Writes bench/results.json (or --out) and prints a table; a full run into
 * bench/results.json also rewrites the table in docs/benchmarks.md (bench/table.ts).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { BatchWriteCommand } from '@aws-sdk/lib-dynamodb';
import { S3ArchiveStore } from '#core/archive-store.ts';
import { DynamoDbCatalog } from '#core/catalog/dynamodb-catalog.ts';
import { ingestCreated } from '#core/catalog/ingest.ts';
import { startLocalDynamo } from '#core/local/dynamodb.ts';
import { localRestore } from '#core/local/restore.ts';
import { startLocalS3, type LocalS3 } from '#core/local/s3.ts';
import { ROOT } from '#core/paths.ts';
import { RestorePolicy } from '#core/policy.ts';
import { loadDocument } from '#core/runbooks/document.ts';
import { runDocument } from '#core/runbooks/local-runner.ts';
import { BackupResult, RestoreResult } from '#core/runbooks/results.ts';
import { buildCli } from '../scripts/build-cli.ts';
import { bundleEnv, synthBundles } from '../test/support/bundles.ts';
import { updateBenchPage } from './table.ts';
import { BenchResults, type BenchResult } from './results.ts';
import { restoreAtScale } from './restore-at-scale.ts';
import { median, seconds, sh, sideBySide as sideBySideRuns, type Contender } from './support/measure.ts';

const { values: args } = parseArgs({
  options: {
    smoke: { type: 'boolean', default: false },
    scale: { type: 'string' },
    runs: { type: 'string' },
    'catalog-size': { type: 'string' },
    /** Where results.json goes; with --only, nowhere unless given. @default bench/results.json */
    out: { type: 'string' },
    /**
     * `bundles`: only the Lambda bundles' sizes and init times (no Docker needed);
     * `restore-at-scale`: only the several-GB restore through the throttled S3 stand-in.
     * Printed, and written only to an explicit --out.
     */
    only: { type: 'string' },
    /** restore-at-scale: GB of data in the generated volume. @default 3.5 (smoke 0.128) */
    'scale-gb': { type: 'string' },
    /** restore-at-scale: the stand-in's cap per connection, MB/s. @default 85 */
    'connection-mbps': { type: 'string' },
    /** restore-at-scale: the stand-in's first-byte latency, ms. @default 30 */
    'first-byte-ms': { type: 'string' },
  },
});
const ONLY = ['bundles', 'restore-at-scale'];
if (args.only !== undefined && !ONLY.includes(args.only)) throw new Error(`--only ${args.only}: the parts that run alone are ${ONLY.join(', ')}`);
const OUT = args.out ?? (args.only === undefined ? join(ROOT, 'bench/results.json') : undefined);
const SMOKE = args.smoke;
const SCALE = Number(args.scale ?? (SMOKE ? 1 : 40));
const RUNS = Number(args.runs ?? (SMOKE ? 1 : 3));
const CATALOG_SIZE = Number(args['catalog-size'] ?? (SMOKE ? 200 : 100_000));
const SCALE_GB = Number(args['scale-gb'] ?? (SMOKE ? 0.128 : 3.5));
const CONNECTION_MBPS = Number(args['connection-mbps'] ?? 85);
const FIRST_BYTE_MS = Number(args['first-byte-ms'] ?? 30);
for (const [name, v] of Object.entries({ SCALE_GB, CONNECTION_MBPS, FIRST_BYTE_MS, RUNS }))
  if (!Number.isFinite(v) || v < 0 || (name !== 'FIRST_BYTE_MS' && v === 0)) throw new Error(`${name}: ${String(v)} is not a usable number`);
const HELPER = process.env.LIFEBOAT_HELPER_IMAGE ?? 'local/lifeboat-helper:1';
const POSTGRES = process.env.LIFEBOAT_POSTGRES_IMAGE ?? 'local/postgres:15';
const PGDATA = '/var/lib/postgresql/data';
const P = 'lifeboat-bench';
const SRC = `${P}-src`;
const DB = `${P}-db`;

const results: BenchResult[] = [];
const log = (text: string): void => {
  process.stderr.write(`[bench] ${text}\n`);
};
const docker = (...a: string[]): string =>
  execFileSync('docker', a, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024 }).trim();
const quiet = (...a: string[]): void => void spawnSync('docker', a, { stdio: 'ignore' });
const record = (r: Omit<BenchResult, 'ratio'> & { ratio?: number | null }): void => {
  const full = { ratio: null, ...r };
  results.push(full);
  const target = r.target ? ` target ${r.target.op} ${r.target.value.toString()}: ${r.target.pass ? 'met' : 'MISSED'}` : '';
  log(`${r.name}: ${r.value.toFixed(3)} ${r.unit}${full.ratio === null ? '' : ` (${full.ratio.toFixed(2)}× ${r.baseline})`}${target}`);
};

/** Alternates the contenders run by run (RUNS rounds); each gets a fresh target first (not timed). */
const sideBySide = (contenders: Record<string, Contender>): Promise<Record<string, number[]>> => sideBySideRuns(RUNS, contenders);

function freshVolume(name: string): void {
  quiet('volume', 'rm', '-f', name);
  docker('volume', 'create', name);
}
const volumeDir = (name: string): string => docker('volume', 'inspect', '-f', '{{.Mountpoint}}', name);

function cleanup(): void {
  quiet('rm', '-f', DB);
  for (const v of docker('volume', 'ls', '-q', '--filter', `name=${P}`).split('\n').filter(Boolean)) quiet('volume', 'rm', '-f', v);
}

async function dataPaths(s3: LocalS3, work: string): Promise<void> {
  log(`making a PostgreSQL volume with pgbench -i -s ${SCALE.toString()}`);
  docker('volume', 'create', SRC);
  docker('run', '--rm', '--network', 'none', '-v', `${SRC}:${PGDATA}`, POSTGRES, 'initdb', '-D', PGDATA, '-A', 'trust', '-U', 'postgres');
  docker('run', '-d', '--name', DB, '--network', 'none', '--shm-size', '256m', '-v', `${SRC}:${PGDATA}`, POSTGRES);
  for (let i = 0; i < 120 && spawnSync('docker', ['exec', DB, 'pg_isready', '-q', '-h', '/var/run/postgresql']).status !== 0; i++)
    await new Promise((r) => setTimeout(r, 250));
  docker('exec', DB, 'pgbench', '-i', '-q', '-s', String(SCALE), '-h', '/var/run/postgresql', '-U', 'postgres', 'postgres');
  docker('exec', DB, 'psql', '-h', '/var/run/postgresql', '-U', 'postgres', '-XAtqc', 'checkpoint');
  docker('stop', DB);
  const dataBytes = Number(docker('run', '--rm', '-v', `${SRC}:/d:ro`, HELPER, 'du', '-sb', '/d').split(/\s+/)[0]);
  log(`source volume: ${(dataBytes / 1e6).toFixed(0)} MB`);

  // ---- backup: Lifeboat's document vs the classic tar czf through the helper
  const backupDoc = loadDocument('backup-volume');
  let archiveKey = '';
  let archiveSha = '';
  const backupPhases: Record<string, number[]> = {};
  const srcDir = volumeDir(SRC);
  const backups = await sideBySide({
    lifeboat: {
      run: async () => {
        let out: Awaited<ReturnType<typeof runDocument<BackupResult>>> | undefined;
        const t = await seconds(async () => {
          out = await runDocument(
            backupDoc,
            {
              BackupId: `bench-${Date.now().toString()}`,
              VolumeName: SRC,
              ContainerName: DB,
              Consistency: 'none',
              Bucket: s3.bucket,
              Source: 'bench',
              S3EndpointUrl: s3.endpoint,
              HelperImage: HELPER,
            },
            BackupResult,
            { env: s3.hostEnv },
          );
        });
        if (out?.result?.outcome !== 'succeeded') throw new Error(`backup failed: ${out?.result?.error ?? out?.stderr.slice(-400) ?? ''}`);
        archiveKey = out.result.archiveKey ?? '';
        archiveSha = out.result.sha256 ?? '';
        for (const [k, v] of Object.entries(out.result.phases)) (backupPhases[k] ??= []).push(v);
        return t;
      },
    },
    classic: {
      run: () =>
        seconds(() => {
          docker(
            'run',
            '--rm',
            '--network',
            'none',
            '-v',
            `${SRC}:/data:ro`,
            '-v',
            `${work}:/backup`,
            HELPER,
            'tar',
            'czf',
            '/backup/classic.tar.gz',
            '-C',
            '/data',
            '.',
          );
        }),
    },
    // What this machine can do at all: the same tar | zstd | sha256 on the host, no container, no upload.
    floor: {
      run: () => seconds(() => sh(`tar -C "${srcDir}" -b 2048 -c -f - --numeric-owner . | zstd -q -c -T0 -3 | sha256sum >/dev/null`)),
    },
  });
  record({
    name: 'backup.classic_tar_czf',
    value: median(backups.classic ?? []),
    unit: 's',
    baseline: 'backup.lifeboat',
    ratio: median(backups.classic ?? []) / median(backups.lifeboat ?? []),
    samples: backups.classic ?? [],
  });
  record({
    name: 'backup.lifeboat',
    value: median(backups.lifeboat ?? []),
    unit: 's',
    baseline: 'backup.classic_tar_czf',
    ratio: median(backups.classic ?? []) / median(backups.lifeboat ?? []),
    samples: backups.lifeboat ?? [],
  });
  const lbBackup = median(backups.lifeboat ?? []);
  record({
    name: 'backup.floor_tar_zstd_host',
    value: median(backups.floor ?? []),
    unit: 's',
    baseline: 'backup.lifeboat',
    ratio: lbBackup / median(backups.floor ?? []),
    samples: backups.floor ?? [],
  });
  for (const [k, v] of Object.entries(backupPhases).filter(([, xs]) => xs.some((x) => x > 0)))
    record({ name: `backup.lifeboat.phase.${k}`, value: median(v), unit: 's', baseline: 'backup.lifeboat', ratio: median(v) / lbBackup, samples: v });
  const classicBytes = statSync(join(work, 'classic.tar.gz')).size;
  // The floor's input: the same tar stream, already decompressed, on local disk.
  log('restores: Lifeboat (presigned URL, streaming) vs classic (download, then tar xzf) vs floor (GNU tar, plain stream)');
  await sh(`gzip -dc "${work}/classic.tar.gz" > "${work}/plain.tar"`);
  await s3.put('bench/classic.tar.gz', readFileSync(join(work, 'classic.tar.gz')));

  // ---- restore data path: Lifeboat (presigned URL, streaming) vs classic (download, then tar xzf) vs floor
  const restoreDoc = loadDocument('restore-volume');
  const phases: Record<string, number[]> = {};
  const target = `${P}-target`;
  const restores = await sideBySide({
    lifeboat: {
      prepare: () => {
        quiet('volume', 'rm', '-f', target);
      },
      run: async () => {
        const url = await s3.presignGet(archiveKey);
        let out: Awaited<ReturnType<typeof runDocument<RestoreResult>>> | undefined;
        const t = await seconds(async () => {
          out = await runDocument(
            restoreDoc,
            {
              RestoreId: `bench-${Date.now().toString()}`,
              ArchiveUrl: url,
              ExpectedSha256: archiveSha,
              VolumeName: target,
              ContainerName: '',
              Verify: 'none',
              HelperImage: HELPER,
            },
            RestoreResult,
            {
              ...(process.env.BENCH_VERBOSE ? { onStderr: (c: string) => process.stderr.write(c) } : {}),
            },
          );
        });
        if (out?.result?.outcome !== 'succeeded') throw new Error(`restore failed: ${out?.result?.error ?? out?.stderr.slice(-400) ?? ''}`);
        for (const [k, v] of Object.entries(out.result.phases)) (phases[k] ??= []).push(v);
        return t;
      },
    },
    classic: {
      prepare: () => {
        freshVolume(target);
        rmSync(join(work, 'download.tar.gz'), { force: true });
      },
      run: async () => {
        const url = await s3.presignGet('bench/classic.tar.gz');
        return seconds(async () => {
          await sh(`curl -fsS -o "${work}/download.tar.gz" "$URL"`, { URL: url });
          docker(
            'run',
            '--rm',
            '--network',
            'none',
            '-v',
            `${target}:/data`,
            '-v',
            `${work}:/backup`,
            HELPER,
            'tar',
            'xzf',
            '/backup/download.tar.gz',
            '-C',
            '/data',
          );
        });
      },
    },
    floor: {
      prepare: () => {
        freshVolume(target);
      },
      // A stream (the archive arrives over the network, never as a local file), with the same 1 MiB records Lifeboat reads.
      run: () =>
        seconds(() =>
          sh(`cat "${work}/plain.tar" | tar -x -b 2048 -f - -C "${volumeDir(target)}" --numeric-owner --same-owner -p && sync -f "${volumeDir(target)}"`),
        ),
    },
  });
  const lb = median(restores.lifeboat ?? []);
  record({
    name: 'restore.lifeboat',
    value: lb,
    unit: 's',
    baseline: 'restore.classic',
    ratio: median(restores.classic ?? []) / lb,
    samples: restores.lifeboat ?? [],
  });
  record({
    name: 'restore.classic',
    value: median(restores.classic ?? []),
    unit: 's',
    baseline: 'restore.lifeboat',
    ratio: median(restores.classic ?? []) / lb,
    samples: restores.classic ?? [],
  });
  record({
    name: 'restore.floor_gnu_tar_plain',
    value: median(restores.floor ?? []),
    unit: 's',
    baseline: 'restore.lifeboat',
    ratio: lb / median(restores.floor ?? []),
    samples: restores.floor ?? [],
  });
  // Phases that do not apply to this restore (swap onto an absent volume, a drill's cleanup) stay out.
  for (const [k, v] of Object.entries(phases).filter(([, xs]) => xs.some((x) => x > 0)))
    record({ name: `restore.lifeboat.phase.${k}`, value: median(v), unit: 's', baseline: 'restore.lifeboat', ratio: median(v) / lb, samples: v });
  record({ name: 'data.volume_bytes', value: dataBytes, unit: 'B', baseline: 'none', samples: [dataBytes] });
  record({
    name: 'data.archive_bytes.lifeboat_zstd',
    value: (await s3.client.send(new (await import('@aws-sdk/client-s3')).HeadObjectCommand({ Bucket: s3.bucket, Key: archiveKey }))).ContentLength ?? 0,
    unit: 'B',
    baseline: 'data.archive_bytes.classic_gzip',
    ratio: null,
    samples: [],
  });
  record({ name: 'data.archive_bytes.classic_gzip', value: classicBytes, unit: 'B', baseline: 'none', samples: [classicBytes] });
  quiet('volume', 'rm', '-f', target);
}

/** Request → database answering through the core with local adapters; minus the host's own time = orchestration. */
async function orchestration(s3: LocalS3): Promise<void> {
  const dynamo = await startLocalDynamo();
  try {
    const catalog = new DynamoDbCatalog(dynamo.doc, await dynamo.createCatalogTable());
    const store = new S3ArchiveStore(s3.client, s3.bucket);
    for (const o of (await s3.client.send(new (await import('@aws-sdk/client-s3')).ListObjectsV2Command({ Bucket: s3.bucket, Prefix: 'archives/' })))
      .Contents ?? []) {
      if (o.Key) await ingestCreated({ store, catalog }, o.Key, { decoded: true });
    }
    const INSTANCE = 'i-00000000000be4c4';
    let done: (() => void) | undefined;
    const { service } = localRestore({
      catalog,
      store,
      instanceId: INSTANCE,
      helperImage: HELPER,
      policy: RestorePolicy.parse({ allowedImages: ['local/postgres'] }),
      onCompleted: () => done?.(),
    });
    const totals: number[] = [];
    const overheads: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      quiet('rm', '-f', DB);
      quiet('volume', 'rm', '-f', SRC);
      const finished = new Promise<void>((resolve) => (done = resolve));
      const t = performance.now();
      const started = await service.start(
        {
          source: 'bench',
          volume: SRC,
          archive: 'latest',
          instanceId: INSTANCE,
          containerName: DB,
          ifVolumeExists: 'fail',
          allowUnverified: false,
          dryRun: false,
        },
        'bench',
      );
      await finished;
      const wall = (performance.now() - t) / 1000;
      const rec = await service.get(started.restoreId);
      if (rec.state !== 'succeeded') throw new Error(`orchestrated restore ${rec.state}: ${rec.error ?? ''}`);
      totals.push(wall);
      overheads.push(wall - (rec.totalSeconds ?? 0));
    }
    record({ name: 'e2e.request_to_database_answering', value: median(totals), unit: 's', baseline: 'none', samples: totals });
    record({
      name: 'e2e.orchestration_overhead',
      value: median(overheads),
      unit: 's',
      baseline: 'target 1 s',
      ratio: median(overheads) / 1,
      samples: overheads,
    });
  } finally {
    await dynamo.close();
  }
}

/** The functions' bundles as the stack builds them, and module init in fresh Node.js processes. */
function bundles(): void {
  const built = synthBundles();
  try {
    const initRuns = SMOKE ? 3 : 10;
    for (const [name, dir] of Object.entries(built.assets)) {
      const size = statSync(join(dir, 'index.mjs')).size;
      record({ name: `lambda.${name}.bundle_bytes`, value: size, unit: 'B', baseline: 'target 300 KB', ratio: size / 300_000, samples: [size] });
      const inits: number[] = [];
      const firstUses: number[] = [];
      for (let i = 0; i < initRuns; i++) {
        // Init is the import; what the first invocation then adds is loading the function's
        // wiring (clients, the SDK, schemas: index.ts's ready()), measured in the same process.
        const out = execFileSync(
          process.execPath,
          [
            '--input-type=module',
            '-e',
            "const t = performance.now(); const m = await import('./index.mjs'); const i = performance.now() - t; const u = performance.now(); await m.ready?.(); console.log(i, performance.now() - u);",
          ],
          {
            cwd: dir,
            env: bundleEnv(dir),
            encoding: 'utf8',
          },
        );
        const [init, firstUse] = (out.trim().split('\n').pop() ?? '').split(' ').map(Number);
        inits.push(init ?? NaN);
        firstUses.push(firstUse ?? NaN);
      }
      record({ name: `lambda.${name}.init_ms`, value: median(inits), unit: 'ms', baseline: 'target 100 ms', ratio: median(inits) / 100, samples: inits });
      record({ name: `lambda.${name}.first_use_ms`, value: median(firstUses), unit: 'ms', baseline: 'none', samples: firstUses });
    }
  } finally {
    built.close();
  }
}

/** `lifeboat --help` as an operator starts it: a new Node.js process running bin/lifeboat.mjs, the compiled CLI. */
async function cliStart(): Promise<void> {
  await buildCli();
  const times: number[] = [];
  for (let i = 0; i < (SMOKE ? 3 : 10); i++) {
    const t = performance.now();
    execFileSync(process.execPath, [join(ROOT, 'bin/lifeboat.mjs'), '--help'], { stdio: 'ignore', env: { ...process.env, NODE_OPTIONS: '' } });
    times.push(performance.now() - t);
  }
  record({ name: 'cli.help_ms', value: median(times), unit: 'ms', baseline: 'target 500 ms', ratio: median(times) / 500, samples: times });
}

/** "latest" and "before T" with 10 and with CATALOG_SIZE archives: items read and time per lookup. */
async function catalogScale(): Promise<void> {
  const dynamo = await startLocalDynamo();
  try {
    const table = await dynamo.createCatalogTable();
    let itemsRead = 0;
    dynamo.doc.middlewareStack.add(
      (next) => async (input) => {
        const out = await next(input);
        itemsRead += (out.output as { ScannedCount?: number }).ScannedCount ?? 0;
        return out;
      },
      { step: 'initialize', name: 'countItemsRead' },
    );
    const catalog = new DynamoDbCatalog(dynamo.doc, table);
    const t0 = Date.parse('2020-01-01T00:00:00Z');
    const fill = async (volume: string, n: number): Promise<string> => {
      let middle = '';
      for (let i = 0; i < n; i += 25) {
        const items = [];
        for (let j = i; j < Math.min(n, i + 25); j++) {
          const takenAt = new Date(t0 + j * 3_600_000).toISOString().replace('.000Z', 'Z');
          const key = `archives/bench/${volume}/${takenAt.replace(/[-:]/g, '')}.tar.zst`;
          if (j === Math.floor(n / 2)) middle = takenAt;
          items.push({
            PutRequest: {
              Item: {
                pk: `ARCHIVES#bench#${volume}`,
                sk: `${takenAt}#${key}`,
                key,
                source: 'bench',
                volume,
                takenAt,
                compression: 'zstd',
                size: 1000 + j,
                catalogedAt: takenAt,
              },
            },
          });
        }
        await dynamo.doc.send(new BatchWriteCommand({ RequestItems: { [table]: items } }));
      }
      return middle;
    };
    for (const n of [10, CATALOG_SIZE]) {
      const volume = `v${n.toString()}`;
      log(`catalog: writing ${n.toString()} archives`);
      const middle = await fill(volume, n);
      for (const [kind, before] of [
        ['latest', undefined],
        ['before_t', middle],
      ] as const) {
        const times: number[] = [];
        const reads: number[] = [];
        for (let i = 0; i < (SMOKE ? 5 : 50); i++) {
          itemsRead = 0;
          times.push((await seconds(() => catalog.latestArchive('bench', volume, before))) * 1000);
          reads.push(itemsRead);
        }
        record({
          name: `catalog.${kind}.${n.toString()}.items_read`,
          value: median(reads),
          unit: 'items',
          baseline: `catalog.${kind}.10.items_read`,
          ratio: null,
          samples: reads,
        });
        record({ name: `catalog.${kind}.${n.toString()}.ms`, value: median(times), unit: 'ms', baseline: 'none', samples: times });
      }
    }
    for (const kind of ['latest', 'before_t']) {
      const small = results.find((r) => r.name === `catalog.${kind}.10.items_read`)?.value ?? 0;
      const big = results.find((r) => r.name === `catalog.${kind}.${CATALOG_SIZE.toString()}.items_read`);
      if (big) big.ratio = small > 0 ? big.value / small : null;
    }
  } finally {
    await dynamo.close();
  }
}

/** The several-GB restore through the throttled stand-in (bench/restore-at-scale.ts). */
const atScale = (): Promise<void> =>
  restoreAtScale({
    volumeBytes: Math.round(SCALE_GB * 1e9),
    runs: RUNS,
    bytesPerSecond: CONNECTION_MBPS * 1e6,
    firstByteMs: FIRST_BYTE_MS,
    helperImage: HELPER,
    record,
    log,
  });

async function main(): Promise<void> {
  const started = new Date();
  if (args.only === 'bundles') {
    bundles();
    finish(started);
    return;
  }
  if (spawnSync('docker', ['info'], { stdio: 'ignore' }).status !== 0)
    throw new Error('Docker is not running: the benchmark needs it (bash .ci/run starts it).');
  for (const image of [HELPER, POSTGRES]) {
    if (spawnSync('docker', ['image', 'inspect', image], { stdio: 'ignore' }).status !== 0)
      throw new Error(`image ${image} is missing: bash scripts/test-images.sh`);
  }
  if (args.only === 'restore-at-scale') {
    if (spawnSync('/usr/bin/aws', ['--version'], { stdio: 'ignore' }).status !== 0)
      throw new Error('/usr/bin/aws (AWS CLI v2) is missing: the classic recipe needs it');
    await atScale();
    finish(started);
    return;
  }
  const work = mkdtempSync(join(tmpdir(), 'lifeboat-bench-'));
  const s3 = await startLocalS3('lifeboat-bench');
  cleanup();
  try {
    await dataPaths(s3, work);
    await atScale();
    log('orchestration: request → database answering');
    await orchestration(s3);
    log('lambda bundles');
    bundles();
    log('cli start: lifeboat --help');
    await cliStart();
    await catalogScale();
  } finally {
    cleanup();
    await s3.close();
    rmSync(work, { recursive: true, force: true });
  }
  finish(started);
}

/** results.json (to OUT, if any) and the table; a full run into bench/results.json also rewrites docs/benchmarks.md. */
function finish(started: Date): void {
  const out = BenchResults.parse({
    lifeboat: 'bench-results',
    version: 1,
    startedAt: started.toISOString(),
    finishedAt: new Date().toISOString(),
    machine: { cpus: cpus().length, node: process.version, smoke: SMOKE, scale: SCALE, runs: RUNS, catalogSize: CATALOG_SIZE },
    results,
  });
  if (OUT !== undefined) {
    mkdirSync(join(OUT, '..'), { recursive: true });
    writeFileSync(OUT, `${JSON.stringify(out, null, 2)}\n`);
  }
  console.log(table(out.results));
  if (!SMOKE && args.only === undefined && OUT === join(ROOT, 'bench/results.json')) updateBenchPage();
}

export function table(rs: readonly BenchResult[]): string {
  const rows = rs.map((r) => [
    r.name,
    `${r.unit === 'B' ? (r.value / 1000).toFixed(0) : r.value.toFixed(r.unit === 'items' ? 0 : 2)} ${r.unit === 'B' ? 'KB' : r.unit}`,
    r.baseline,
    r.ratio === null ? '' : `${r.ratio.toFixed(2)}×`,
    String(r.samples.length),
  ]);
  const head = ['name', 'value', 'baseline', 'ratio', 'samples'];
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  return [head, ...rows]
    .map((r) => `| ${r.map((c, i) => c.padEnd(w[i] ?? 0)).join(' | ')} |`)
    .join('\n')
    .replace(/\n/, `\n|${w.map((x) => '-'.repeat(x + 2)).join('|')}|\n`);
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  main().catch((e: unknown) => {
    cleanup();
    console.error(`bench failed: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  });
}
