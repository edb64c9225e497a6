/**
 * Restore speed at scale (issue 19): a volume of several GB, mostly incompressible so the
 * archive is as large as the data and the download dominates, served by the throttled S3
 * stand-in (bench/support/throttled-s3.ts: 85 MB/s and a first-byte latency per connection,
 * as S3 serves one connection). Side by side in one run, alternating, median of the runs:
 *
 * - Lifeboat's restore-volume with its default DownloadConnections (ranges in parallel);
 * - the same with DownloadConnections=1 (one stream, as before issue 19);
 * - the same with one connection cut mid-range once (what a reset costs);
 * - the same on the recipe's gzip archive (its decompressor is the one the recipe uses);
 * - the same with half the connections: its download floor is above the extract floor here,
 *   so it shows whether Lifeboat keeps to the floor when the download is the limit (not a target);
 * - the classic recipe: `aws s3 cp` (AWS CLI v2, ranges over its 10 connections) to a file,
 *   then the helper’s `tar xzf` into a fresh volume, then sync (Lifeboat’s restore ends
 *   with the data on disk too);
 * - the extract floor: the same zstd archive from a local file (page cache) through zstd and
 *   GNU tar into a fresh volume, on the host, written back as it comes (a `sync -f` every 0.2 s,
 *   a 1 MiB pipe to tar: the helper's own extraction, without the download), then sync;
 * - the extract floor as measured before (extract into the page cache, then one sync): not the
 *   floor, since the extraction above beats it; kept to read earlier results by;
 * - this machine's download ceiling: the same archive as one range per connection, each
 *   `curl` writing to /dev/null (nothing hashed, kept or extracted): what the stand-in and
 *   curl deliver here when the host does nothing else with the bytes;
 * - this machine's floor for a checked restore: the work a restore cannot skip, each piece on its
 *   own and all at once, nothing chained: the download ceiling's curls, the archive's SHA-256
 *   (`openssl dgst`, the OpenSSL that fetch.py's hashlib uses) and the extract floor's
 *   extraction. Not the floor (that leaves out the hash and models a host where the
 *   download and the extraction do not share two CPUs with the stand-in): what Lifeboat's chain
 *   costs beyond the work itself.
 *
 * The parallel, ceiling and extract-floor runs also record how busy all the CPUs were
 * (/proc/stat), so the figures say whether the network model or the machine set the pace.
 *
 * The floor is max(archive bytes ÷ the aggregate bandwidth of the connections Lifeboat uses,
 * the extract floor). Lifeboat restores its own archive format (tar | zstd -T0 -3, as
 * backup-volume makes it); the recipe restores its own (tar | gzip) of the same files; both
 * are the same size within a percent. The prediction (functions/core/predict.ts) is fed a
 * warm-up restore of a quarter of the files, and then the earlier timed runs, as the service
 * records them (RestoreRateSample), and its error on the next run is reported.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { RestoreRateSample } from '#core/catalog/model.ts';
import { predictRestore } from '#core/predict.ts';
import { loadDocument } from '#core/runbooks/document.ts';
import { runDocument } from '#core/runbooks/local-runner.ts';
import { RestoreResult } from '#core/runbooks/results.ts';
import type { BenchResult } from './results.ts';
import { median, seconds, sh, sideBySide } from './support/measure.ts';
import { startThrottledS3, type ThrottledS3 } from './support/throttled-s3.ts';

export interface AtScaleOptions {
  /** Bytes of data in the generated volume (90 % random, 10 % text). */
  readonly volumeBytes: number;
  readonly runs: number;
  /** The stand-in's cap per connection, bytes/s. @default 85_000_000 */
  readonly bytesPerSecond: number;
  /** The stand-in's first-byte latency. @default 30 */
  readonly firstByteMs: number;
  readonly helperImage: string;
  readonly record: (r: Omit<BenchResult, 'ratio'> & { ratio?: number | null }) => void;
  readonly log: (text: string) => void;
}

const AWS = '/usr/bin/aws';
const P = 'lifeboat-bench-scale';
const BUCKET = 'lifeboat-bench';
/** fetch.sh's range size: a range's time at the cap is what a cut may cost (the target). */
const RANGE_BYTES = 32 << 20;
const RANDOM_SHARE = 0.9;

/** Bash: the archive at $URL ($SIZE bytes) as one range per connection ($N), each `curl` to /dev/null; their pids in `pids`. */
const CURL_RANGES = `pids=(); for (( i = 0; i < N; i++ )); do
  curl --globoff --fail --silent --show-error -r "$(( i * SIZE / N ))-$(( (i + 1) * SIZE / N - 1 ))" -o /dev/null -- "$URL" & pids+=($!)
done`;
const WAIT_RANGES = `for p in "\${pids[@]}"; do wait "$p" || exit 1; done`;
/**
 * Bash (under pipefail): the zstd archive $F through zstd and GNU tar into the directory $D, as the
 * helper extracts (runbooks/restore-volume/helper.sh: write-back every 0.2 s, a 1 MiB pipe), then
 * sync; its status in `st`.
 */
const EXTRACT = `while :; do sleep 0.2 & sync -f "$D" || break; wait || :; done & flusher=$!
zstd -dcq <"$F" | perl -e 'fcntl(STDIN, 1031, 1 << 20); exec { $ARGV[0] } @ARGV or die "$ARGV[0]: $!\\n"' -- \\
  tar -x -b 2048 -f - -C "$D" --numeric-owner --same-owner -p
st=$?; kill "$flusher"; wait "$flusher" 2>/dev/null; sync -f "$D"`;

const docker = (...a: string[]): string => execFileSync('docker', a, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
const quiet = (...a: string[]): void => void spawnSync('docker', a, { stdio: 'ignore' });
const volumeDir = (name: string): string => docker('volume', 'inspect', '-f', '{{.Mountpoint}}', name);

/** Busy and total CPU time of all cores so far (/proc/stat's first line; idle and iowait are not busy). */
/** /proc/stat's first line: busy includes steal (time the hypervisor gave to other guests while this one waited to run). */
function cpuTimes(): { busy: number; steal: number; total: number } {
  const fields = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/).slice(1, 9).map(Number);
  const total = fields.reduce((a, b) => a + b, 0);
  return { busy: total - (fields[3] ?? 0) - (fields[4] ?? 0), steal: fields[7] ?? 0, total };
}
/** Runs `fn`, and pushes to `into` the share of all CPUs' time that was busy meanwhile (0..1), and to `stolen` the share stolen. */
async function busyWhile<T>(into: number[], fn: () => Promise<T>, stolen?: number[]): Promise<T> {
  const a = cpuTimes();
  const out = await fn();
  const b = cpuTimes();
  into.push(b.total > a.total ? (b.busy - a.busy) / (b.total - a.total) : 0);
  stolen?.push(b.total > a.total ? (b.steal - a.steal) / (b.total - a.total) : 0);
  return out;
}
function freshVolume(name: string): void {
  quiet('volume', 'rm', '-f', name);
  docker('volume', 'create', name);
}
const sha256File = (file: string): Promise<string> =>
  new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(file, { highWaterMark: 1 << 20 })
      .on('data', (d) => h.update(d))
      .on('error', reject)
      .on('end', () => {
        resolve(h.digest('hex'));
      });
  });
const round2 = (x: number): number => Math.round(x * 100) / 100;

/** The files: random (incompressible, like compressed or encrypted pages) in up to 256 MiB files, a text file, small files. */
async function makeVolumeFiles(dir: string, bytes: number): Promise<{ warmup: string[] }> {
  const fileBytes = Math.max(1 << 20, Math.min(256 << 20, Math.floor((bytes * RANDOM_SHARE) / 8)));
  const count = Math.max(4, Math.round((bytes * RANDOM_SHARE) / fileBytes));
  mkdirSync(join(dir, 'base'), { recursive: true });
  const textBytes = Math.floor(bytes * (1 - RANDOM_SHARE));
  await sh(
    // No pipefail: head ends seq early on purpose.
    `set -Eeu; cd "$DIR"
     for (( i = 0; i < COUNT; i++ )); do head -c "$FILE_BYTES" /dev/urandom >"base/r$(printf %04d "$i")"; done
     seq -f 'row %.0f,2026-12-02T08:00:00Z,lifeboat,restore-at-scale,some text that compresses' 1 100000000 | head -c "$TEXT_BYTES" >base/text
     for (( i = 0; i < 300; i++ )); do head -c $(( (i * 37) % 8192 + 1 )) /dev/urandom >"base/s$(printf %03d "$i")"; done
     printf '15\\n' >PG_VERSION`,
    { DIR: dir, COUNT: count.toString(), FILE_BYTES: fileBytes.toString(), TEXT_BYTES: textBytes.toString() },
  );
  const names = readdirSync(join(dir, 'base')).sort();
  // A quarter of the random files and all the small ones: the warm-up restore's data.
  const warmup = [...names.filter((n) => n.startsWith('r')).slice(0, Math.ceil(count / 4)), ...names.filter((n) => n.startsWith('s'))].map(
    (n) => `./base/${n}`,
  );
  return { warmup: ['./PG_VERSION', ...warmup] };
}

interface Archive {
  readonly file: string;
  readonly bytes: number;
  readonly sha256: string;
  /** What the restore is told to expect (ExpectedUncompressedBytes), as the service tells it: tar's total plus 4 KiB a file. */
  readonly expectedUncompressed: number;
}
async function archive(src: string, file: string, compress: 'zstd' | 'gzip', paths: readonly string[] = ['.']): Promise<Archive> {
  const list = `${file}.files`;
  writeFileSync(list, `${paths.join('\n')}\n`);
  // As backup-volume's helper runs tar (1 MiB records, numeric owners), piped into the compressor.
  const compressor = compress === 'zstd' ? 'zstd' : 'gzip -1 -c';
  // --totals: the manifest's uncompressedBytes, as backup-volume records it.
  const totals = `${file}.totals`;
  await sh(`set -Eeuo pipefail; tar -C "$SRC" -b 2048 -c -f - --numeric-owner --totals -T "$LIST" 2>"$TOTALS" | ${compressor} >"$OUT"`, {
    SRC: src,
    OUT: file,
    LIST: list,
    TOTALS: totals,
  });
  const tarBytes = Number(/Total bytes written: (\d+)/.exec(readFileSync(totals, 'utf8'))?.[1] ?? NaN);
  // Every entry of the source (for the warm-up's subset a looser bound than the service would give).
  const files = readdirSync(src, { recursive: true }).length;
  rmSync(list);
  rmSync(totals);
  if (!Number.isSafeInteger(tarBytes)) throw new Error(`tar --totals gave no total for ${file}`);
  // The service's expected size (restore/service.ts expectedSize): the manifest's uncompressed bytes plus 4 KiB a file.
  return { file, bytes: statSync(file).size, sha256: await sha256File(file), expectedUncompressed: tarBytes + files * 4096 };
}

export async function restoreAtScale(o: AtScaleOptions): Promise<void> {
  const { record, log } = o;
  const doc = loadDocument('restore-volume');
  const connections = Number(doc.parameters.DownloadConnections?.default ?? '8');
  const load = (): number => round2(loadavg()[0] ?? 0);
  const loadAtStart = load();
  const work = mkdtempSync(join(tmpdir(), 'lifeboat-bench-scale-'));
  const servers: ThrottledS3[] = [];
  const target = `${P}-target`;
  const quietVolumes = (): void => {
    for (const v of docker('volume', 'ls', '-q', '--filter', `name=${P}`).split('\n').filter(Boolean)) quiet('volume', 'rm', '-f', v);
  };
  quietVolumes();
  try {
    log(`restore at scale: generating ${(o.volumeBytes / 1e9).toFixed(2)} GB of files (90 % random) and their archives (load ${loadAtStart.toString()})`);
    const src = join(work, 'src');
    const { warmup: warmupPaths } = await makeVolumeFiles(src, o.volumeBytes);
    const zst = await archive(src, join(work, 'archive.tar.zst'), 'zstd');
    const warm = await archive(src, join(work, 'warmup.tar.zst'), 'zstd', warmupPaths);
    // The recipe's `tar czf` is gzip -6; on random data every level stores the same blocks, -1 only makes them sooner.
    const gz = await archive(src, join(work, 'archive.tar.gz'), 'gzip');
    const dataBytes = Number(execFileSync('du', ['-sb', src], { encoding: 'utf8' }).split(/\s+/)[0]);
    rmSync(src, { recursive: true, force: true });
    // fetch.sh uses ranges from 3 chunks on (a last partial one counts).
    if (zst.bytes <= 2 * RANGE_BYTES) throw new Error(`the archive (${zst.bytes.toString()} bytes) is 2 ranges or fewer: restore-volume would not use ranges`);
    log(`archives: zstd ${(zst.bytes / 1e6).toFixed(0)} MB, gzip ${(gz.bytes / 1e6).toFixed(0)} MB, warm-up ${(warm.bytes / 1e6).toFixed(0)} MB`);

    const serve = async (a: Archive, key: string): Promise<ThrottledS3> => {
      const s = await startThrottledS3({ file: a.file, bucket: BUCKET, key, bytesPerSecond: o.bytesPerSecond, firstByteMs: o.firstByteMs });
      servers.push(s);
      return s;
    };
    const zstS3 = await serve(zst, 'archives/bench/scale/archive.tar.zst');
    const warmS3 = await serve(warm, 'archives/bench/scale/warmup.tar.zst');
    const gzS3 = await serve(gz, 'archives/bench/scale/archive.tar.gz');

    /** restore-volume as the service sends it (the archive’s size and sha256 and the expected uncompressed size, from the catalog), into a volume it creates. */
    const lifeboat = async (s3: ThrottledS3, a: Archive, conns: number): Promise<{ wall: number; result: RestoreResult }> => {
      let result: RestoreResult | undefined;
      let stderr = '';
      const wall = await seconds(async () => {
        const out = await runDocument(
          doc,
          {
            RestoreId: `bench-scale-${Date.now().toString()}`,
            ArchiveUrl: s3.url,
            ExpectedSha256: a.sha256,
            ExpectedArchiveBytes: a.bytes.toString(),
            ExpectedUncompressedBytes: a.expectedUncompressed.toString(),
            VolumeName: target,
            ContainerName: '',
            Verify: 'none',
            HelperImage: o.helperImage,
            DownloadConnections: conns.toString(),
          },
          RestoreResult,
          process.env.BENCH_VERBOSE ? { onStderr: (c: string) => process.stderr.write(c) } : {},
        );
        result = out.result;
        stderr = out.stderr;
      });
      if (result?.outcome !== 'succeeded') throw new Error(`restore failed: ${result?.error ?? stderr.slice(-400)}`);
      return { wall, result };
    };
    const sample = (r: RestoreResult): RestoreRateSample =>
      RestoreRateSample.parse({ at: new Date().toISOString(), mode: 'restore', bytes: r.bytes, totalSeconds: r.totalSeconds, phases: r.phases });

    // ---- warm-up: a smaller restore of the same volume's files, the prediction's first sample
    log('restore at scale: warm-up restore (a quarter of the files), for the prediction');
    const noTarget = (): void => {
      quiet('volume', 'rm', '-f', target);
    };
    /** A fresh target, and the archive in the page cache: only the extraction is timed. */
    const freshTargetArchiveCached = async (): Promise<void> => {
      freshVolume(target);
      await sh(`cat "$F" >/dev/null`, { F: zst.file });
    };
    // The data and archives just written are still being written back: not the warm-up's to wait for.
    execFileSync('sync');
    const warmRun = await lifeboat(warmS3, warm, connections);
    const samples: RestoreRateSample[] = [sample(warmRun.result)];
    const fromWarmup = predictRestore({ source: 'bench', volume: 'scale' }, zst.bytes, samples);

    const parallelResults: RestoreResult[] = [];
    const rolling: { predicted: number; measured: number }[] = [];
    const cutAt = Math.floor(zst.bytes / RANGE_BYTES / 2) * RANGE_BYTES;
    const cutAfter = RANGE_BYTES / 2;
    const oneResults: RestoreResult[] = [];
    const busy: Record<'parallel' | 'ceiling' | 'extract' | 'unchained', number[]> = { parallel: [], ceiling: [], extract: [], unchained: [] };
    const stolen: number[] = [];
    const download = join(work, 'download.tar.gz');
    const awsEnv = {
      AWS_ACCESS_KEY_ID: 'bench',
      AWS_SECRET_ACCESS_KEY: 'bench',
      AWS_DEFAULT_REGION: 'us-east-1',
      AWS_CONFIG_FILE: '/dev/null',
      AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_PAGER: '',
    };
    // Half the connections: a download floor above the extract floor on a machine like this one, so
    // the download is the limit (as on a host with more cores than this one's 2); not the target's case.
    const halfConnections = Math.max(1, Math.floor(connections / 2));
    log(`restore at scale: ${o.runs.toString()} alternating runs of 10 contenders`);
    const runs = await sideBySide(
      o.runs,
      {
        parallel: {
          prepare: noTarget,
          run: async () => {
            // The prediction from every earlier sample, before this run, as a planner would make it.
            const predicted = parallelResults.length ? predictRestore({ source: 'bench', volume: 'scale' }, zst.bytes, [...samples].reverse()).seconds : null;
            const { wall, result } = await busyWhile(busy.parallel, () => lifeboat(zstS3, zst, connections), stolen);
            if (predicted !== null) rolling.push({ predicted, measured: result.totalSeconds });
            parallelResults.push(result);
            samples.push(sample(result));
            return wall;
          },
        },
        one_connection: {
          prepare: noTarget,
          run: async () => {
            const { wall, result } = await lifeboat(zstS3, zst, 1);
            oneResults.push(result);
            return wall;
          },
        },
        parallel_range_cut: {
          prepare: () => {
            noTarget();
            zstS3.cutOnce(cutAt, cutAfter);
          },
          run: async () => {
            const before = zstS3.requests.length;
            const { wall } = await lifeboat(zstS3, zst, connections);
            const cut = zstS3.requests.slice(before).filter((r) => r.cut);
            if (cut.length !== 1) throw new Error(`the injected cut did not happen once (${cut.length.toString()})`);
            return wall;
          },
        },
        parallel_gzip: { prepare: noTarget, run: async () => (await lifeboat(gzS3, gz, connections)).wall },
        download_bound: { prepare: noTarget, run: async () => (await lifeboat(zstS3, zst, halfConnections)).wall },
        recipe: {
          prepare: () => {
            freshVolume(target);
            rmSync(download, { force: true });
          },
          run: () =>
            seconds(async () => {
              await sh(
                `"${AWS}" s3 cp --no-progress --only-show-errors "s3://${BUCKET}/archives/bench/scale/archive.tar.gz" "$OUT" --endpoint-url "$ENDPOINT"`,
                {
                  ...awsEnv,
                  OUT: download,
                  ENDPOINT: gzS3.endpoint,
                },
              );
              docker(
                'run',
                '--rm',
                '--network',
                'none',
                '-v',
                `${target}:/data`,
                '-v',
                `${work}:/backup`,
                o.helperImage,
                'sh',
                '-c',
                'tar xzf /backup/download.tar.gz -C /data && sync -f /data',
              );
            }),
        },
        download_ceiling: {
          run: () =>
            busyWhile(busy.ceiling, () =>
              seconds(() => sh(`${CURL_RANGES}\n${WAIT_RANGES}`, { N: connections.toString(), SIZE: zst.bytes.toString(), URL: zstS3.url })),
            ),
        },
        extract_floor: {
          prepare: freshTargetArchiveCached,
          run: () => busyWhile(busy.extract, () => seconds(() => sh(`set -o pipefail\n${EXTRACT}\nexit "$st"`, { F: zst.file, D: volumeDir(target) }))),
        },
        // The download, the hash and the extraction at once, each on its own (inputs from the page cache).
        checked_unchained: {
          prepare: freshTargetArchiveCached,
          run: () =>
            busyWhile(busy.unchained, () =>
              seconds(() =>
                sh(`set -o pipefail\n${CURL_RANGES}\nopenssl dgst -sha256 -r "$F" >/dev/null & pids+=($!)\n${EXTRACT}\n${WAIT_RANGES}\nexit "$st"`, {
                  N: connections.toString(),
                  SIZE: zst.bytes.toString(),
                  URL: zstS3.url,
                  F: zst.file,
                  D: volumeDir(target),
                }),
              ),
            ),
        },
        extract_then_sync: {
          prepare: freshTargetArchiveCached,
          run: () =>
            seconds(() =>
              sh(`set -o pipefail; zstd -dcq <"$F" | tar -x -b 2048 -f - -C "$D" --numeric-owner --same-owner -p && sync -f "$D"`, {
                F: zst.file,
                D: volumeDir(target),
              }),
            ),
        },
      },
      (name, round, t) => {
        log(`restore at scale: round ${(round + 1).toString()} ${name} ${t.toFixed(2)} s (load ${load().toString()})`);
      },
    );
    const loadAtEnd = load();
    const m = (k: string): number => median(runs[k] ?? []);
    const parallel = m('parallel');
    const one = m('one_connection');
    const recipe = m('recipe');
    /** The archive at the stand-in's cap on each of `conns` connections. */
    const downloadFloorWith = (conns: number): number => zst.bytes / (conns * o.bytesPerSecond);
    const downloadFloor = downloadFloorWith(connections);
    const extractFloor = m('extract_floor');
    const floor = Math.max(downloadFloor, extractFloor);
    const rangeSeconds = RANGE_BYTES / o.bytesPerSecond;
    const perRound = (a: string, b: string): number[] => (runs[a] ?? []).map((x, i) => x - (runs[b]?.[i] ?? 0));
    const cutExtra = median(perRound('parallel_range_cut', 'parallel'));
    // A cut run faster than its clean neighbour is noise: it costs nothing (ratio 0), never a negative share.
    const cutShare = Math.max(0, cutExtra) / (RANGE_BYTES / o.bytesPerSecond);
    const goal = (op: '>=' | '<=', value: number, ratio: number): NonNullable<BenchResult['target']> => ({
      op,
      value,
      pass: op === '>=' ? ratio >= value : ratio <= value,
    });
    const R = 'restore_at_scale';
    record({
      name: `${R}.lifeboat_parallel`,
      value: parallel,
      unit: 's',
      baseline: `${R}.lifeboat_one_connection`,
      ratio: one / parallel,
      target: goal('>=', 3, one / parallel),
      samples: runs.parallel ?? [],
    });
    record({ name: `${R}.lifeboat_one_connection`, value: one, unit: 's', baseline: 'none', samples: runs.one_connection ?? [] });
    record({
      name: `${R}.recipe_aws_s3_cp_tar_xzf`,
      value: recipe,
      unit: 's',
      baseline: `${R}.lifeboat_parallel`,
      ratio: recipe / parallel,
      target: goal('>=', 2, recipe / parallel),
      samples: runs.recipe ?? [],
    });
    record({
      name: `${R}.floor`,
      value: floor,
      unit: 's',
      baseline: `${R}.lifeboat_parallel`,
      ratio: parallel / floor,
      target: goal('<=', 1.3, parallel / floor),
      samples: [],
    });
    record({
      name: `${R}.floor.download`,
      value: downloadFloor,
      unit: 's',
      baseline: `${connections.toString()} × ${(o.bytesPerSecond / 1e6).toFixed(0)} MB/s`,
      samples: [],
    });
    record({ name: `${R}.floor.extract`, value: extractFloor, unit: 's', baseline: 'none', samples: runs.extract_floor ?? [] });
    record({
      name: `${R}.floor.extract_then_sync`,
      value: m('extract_then_sync'),
      unit: 's',
      baseline: `${R}.floor.extract`,
      ratio: m('extract_then_sync') / extractFloor,
      samples: runs.extract_then_sync ?? [],
    });
    // Not the target (that is at the default connections): whether Lifeboat keeps to its floor when the download is the limit.
    const halfFloor = Math.max(downloadFloorWith(halfConnections), extractFloor);
    const half = m('download_bound');
    record({
      name: `${R}.lifeboat_half_connections`,
      value: half,
      unit: 's',
      baseline: `its floor: max(${halfConnections.toString()} × ${(o.bytesPerSecond / 1e6).toFixed(0)} MB/s, extract) = ${halfFloor.toFixed(2)} s`,
      ratio: half / halfFloor,
      samples: runs.download_bound ?? [],
    });
    // Not the issue's floor (that models S3's bandwidth): what this machine delivers, for reading the ratios above.
    const ceiling = m('download_ceiling');
    record({
      name: `${R}.machine.download_ceiling`,
      value: ceiling,
      unit: 's',
      baseline: `${R}.floor.download (${connections.toString()} curls, one range each, to /dev/null)`,
      ratio: ceiling / downloadFloor,
      samples: runs.download_ceiling ?? [],
    });
    const unchained = m('checked_unchained');
    record({
      name: `${R}.machine.checked_unchained`,
      value: unchained,
      unit: 's',
      baseline: `${R}.floor (the download's curls, openssl's SHA-256 and the extraction at once, nothing chained)`,
      ratio: unchained / floor,
      samples: runs.checked_unchained ?? [],
    });
    record({
      name: `${R}.lifeboat_parallel.vs_checked_unchained`,
      value: parallel,
      unit: 's',
      baseline: `${R}.machine.checked_unchained`,
      ratio: parallel / unchained,
      samples: [],
    });
    const cores = cpus().length;
    // The CPU time a parallel run takes (all processes: Lifeboat, Docker, the stand-in, the kernel;
    // not the time stolen by the hypervisor), spread over all the CPUs: the fastest it could be on
    // this machine if no CPU ever waited.
    const cpuBounds = (runs.parallel ?? []).map((wall, i) => wall * ((busy.parallel[i] ?? 0) - (stolen[i] ?? 0)));
    record({
      name: `${R}.lifeboat_parallel.cpu_bound`,
      value: median(cpuBounds),
      unit: 's',
      baseline: `${R}.floor`,
      ratio: median(cpuBounds) / floor,
      samples: cpuBounds,
    });
    record({
      name: `${R}.lifeboat_parallel.cpu_steal`,
      value: median(stolen),
      unit: 'ratio',
      baseline: `all ${cores.toString()} CPUs (/proc/stat)`,
      samples: stolen,
    });
    for (const [k, v] of [
      ['lifeboat_parallel', busy.parallel],
      ['machine.download_ceiling', busy.ceiling],
      ['floor.extract', busy.extract],
      ['machine.checked_unchained', busy.unchained],
    ] as const) {
      record({ name: `${R}.${k}.cpu_busy`, value: median(v), unit: 'ratio', baseline: `all ${cores.toString()} CPUs (/proc/stat)`, samples: v });
    }
    record({
      name: `${R}.lifeboat_parallel_gzip`,
      value: m('parallel_gzip'),
      unit: 's',
      baseline: `${R}.lifeboat_parallel`,
      ratio: m('parallel_gzip') / parallel,
      samples: runs.parallel_gzip ?? [],
    });
    record({ name: `${R}.lifeboat_parallel_range_cut`, value: m('parallel_range_cut'), unit: 's', baseline: 'none', samples: runs.parallel_range_cut ?? [] });
    record({
      name: `${R}.range_cut.extra`,
      value: cutExtra,
      unit: 's',
      baseline: `one range (${(RANGE_BYTES / 1048576).toString()} MiB at the cap: ${rangeSeconds.toFixed(2)} s)`,
      ratio: cutShare,
      target: goal('<=', 1, cutShare),
      samples: perRound('parallel_range_cut', 'parallel'),
    });
    // What the clean runs' own spread is: an extra below it is noise.
    const spread = (runs.parallel ?? []).length > 1 ? Math.max(...(runs.parallel ?? [])) - Math.min(...(runs.parallel ?? [])) : 0;
    record({ name: `${R}.lifeboat_parallel.spread`, value: spread, unit: 's', baseline: 'none', samples: [] });
    for (const phase of ['preflight', 'download', 'extract'] as const) {
      const v = parallelResults.map((r) => r.phases[phase]);
      record({
        name: `${R}.lifeboat_parallel.phase.${phase}`,
        value: median(v),
        unit: 's',
        baseline: `${R}.lifeboat_parallel`,
        ratio: median(v) / parallel,
        samples: v,
      });
    }
    const measuredHost = median(parallelResults.map((r) => r.totalSeconds));
    if (fromWarmup.seconds !== null) {
      const errors = parallelResults.map((r) => Math.abs((fromWarmup.seconds ?? 0) - r.totalSeconds) / r.totalSeconds);
      record({
        name: `${R}.prediction.from_warmup`,
        value: fromWarmup.seconds,
        unit: 's',
        baseline: `${R}.lifeboat_parallel (the host's totalSeconds, median ${measuredHost.toFixed(2)} s)`,
        ratio: fromWarmup.seconds / measuredHost,
        samples: [],
      });
      record({
        name: `${R}.prediction.from_warmup.error`,
        value: median(errors),
        unit: 'ratio',
        baseline: 'abs(predicted − measured) ÷ measured',
        samples: errors,
      });
    }
    if (rolling.length) {
      const errors = rolling.map((x) => Math.abs(x.predicted - x.measured) / x.measured);
      record({
        name: `${R}.prediction.from_earlier_runs.error`,
        value: median(errors),
        unit: 'ratio',
        baseline: 'abs(predicted − measured) ÷ measured',
        samples: errors,
      });
    }
    record({ name: `${R}.data.volume_bytes`, value: dataBytes, unit: 'B', baseline: 'none', samples: [dataBytes] });
    record({ name: `${R}.data.archive_bytes.zstd`, value: zst.bytes, unit: 'B', baseline: 'none', samples: [zst.bytes] });
    record({ name: `${R}.data.archive_bytes.gzip`, value: gz.bytes, unit: 'B', baseline: 'none', samples: [gz.bytes] });
    record({ name: `${R}.stand_in.bytes_per_second_per_connection`, value: o.bytesPerSecond, unit: 'B', baseline: 'none', samples: [] });
    record({
      name: `${R}.machine.load_1min`,
      value: loadAtStart,
      unit: 'load',
      baseline: 'at the start; at the end in samples',
      samples: [loadAtStart, loadAtEnd],
    });
    log(`restore at scale: one-connection host download phase median ${median(oneResults.map((r) => r.phases.download)).toFixed(2)} s`);
  } finally {
    for (const s of servers) await s.close();
    quietVolumes();
    rmSync(work, { recursive: true, force: true });
  }
}
