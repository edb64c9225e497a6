/**
 * The benchmark table in docs/benchmarks.md, generated from bench/results.json
 * (`npm run bench` rewrites it; a unit test checks the two agree).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '#core/paths.ts';
import { BenchResults, type BenchResult } from './results.ts';

export const START = '<!-- bench:start (generated from bench/results.json by npm run bench) -->';
export const END = '<!-- bench:end -->';

const fmt = (r: BenchResult): string => {
  if (r.unit === 'B') return r.value >= 1e6 ? `${(r.value / 1e6).toFixed(1)} MB` : `${(r.value / 1e3).toFixed(0)} KB`;
  if (r.unit === 'items') return `${r.value.toFixed(0)} item${r.value === 1 ? '' : 's'}`;
  if (r.unit === 'ratio') return `${(r.value * 100).toFixed(0)} %`;
  if (r.unit === 'load') return `load ${r.value.toFixed(2)}`;
  return `${r.value.toFixed(r.unit === 'ms' ? 1 : 2)} ${r.unit}`;
};

interface Row {
  readonly what: string;
  readonly name: string;
  /** How to read the ratio, and the target it is held to. */
  readonly ratio: (r: BenchResult) => string;
}

const x = (r: BenchResult): string => (r.ratio === null ? '' : `${r.ratio.toFixed(2)}×`);
/** `target ≥ 3×: met` (or MISSED), from the figure's own target. */
const goal = (r: BenchResult): string =>
  r.target ? `target ${r.target.op === '>=' ? '≥' : '≤'} ${r.target.value.toString()}×: ${r.target.pass ? 'met' : 'MISSED'}` : '';
const S = 'restore_at_scale';
const ROWS: readonly Row[] = [
  {
    what: 'Restore data path, Lifeboat (presigned URL → sha256 → FIFO → zstd → GNU tar)',
    name: 'restore.lifeboat',
    ratio: (r) => `${x(r)} faster than the classic recipe (target ≥ 2.0×)`,
  },
  { what: 'Restore, classic recipe (download .tar.gz, then the helper’s `tar xzf`)', name: 'restore.classic', ratio: () => 'baseline' },
  {
    what: 'Restore floor (GNU tar, already-decompressed stream, on the host)',
    name: 'restore.floor_gnu_tar_plain',
    ratio: (r) => `Lifeboat is ${x(r)} the floor (target ≤ 1.25×)`,
  },
  { what: '… of which preflight', name: 'restore.lifeboat.phase.preflight', ratio: () => '' },
  { what: '… of which download + decompress + extract (streamed)', name: 'restore.lifeboat.phase.download', ratio: () => '' },
  { what: '… of which extract tail (after the last byte)', name: 'restore.lifeboat.phase.extract', ratio: () => '' },
  {
    what: 'Restore at scale (several GB, throttled S3 stand-in), Lifeboat with its default connections in parallel',
    name: `${S}.lifeboat_parallel`,
    ratio: (r) => `${x(r)} faster than one connection (${goal(r)})`,
  },
  { what: '… Lifeboat with DownloadConnections=1 (one stream)', name: `${S}.lifeboat_one_connection`, ratio: () => 'baseline' },
  {
    what: '… classic recipe: `aws s3 cp` (AWS CLI v2, 10 connections) to a file, then the helper’s `tar xzf`, sync',
    name: `${S}.recipe_aws_s3_cp_tar_xzf`,
    ratio: (r) => `Lifeboat parallel is ${x(r)} faster (${goal(r)})`,
  },
  {
    what: '… floor: max(archive ÷ aggregate bandwidth of the connections, extract floor)',
    name: `${S}.floor`,
    ratio: (r) => `Lifeboat parallel is ${x(r)} the floor (${goal(r)})`,
  },
  { what: '… … download floor (archive ÷ connections × the per-connection cap)', name: `${S}.floor.download`, ratio: () => '' },
  {
    what: '… … extract floor (zstd -d | GNU tar from the page cache into a volume, written back every 0.2 s as the helper does, sync)',
    name: `${S}.floor.extract`,
    ratio: () => '',
  },
  {
    what: '… … the extract floor as measured before the eighth pass (extract into the page cache, then one sync)',
    name: `${S}.floor.extract_then_sync`,
    ratio: (r) => `${x(r)} the extract floor`,
  },
  {
    what: '… Lifeboat parallel’s CPU time spread over all CPUs (wall × share busy, less stolen): its time if no CPU ever waited',
    name: `${S}.lifeboat_parallel.cpu_bound`,
    ratio: (r) => `${x(r)} the floor`,
  },
  {
    what: '… this machine’s floor for a checked restore: the download’s curls, the archive’s SHA-256 (`openssl dgst`) and the extraction at once, nothing chained (not the issue’s floor: that has no hash and no shared CPUs)',
    name: `${S}.machine.checked_unchained`,
    ratio: (r) => `${x(r)} the floor`,
  },
  {
    what: '… Lifeboat parallel against that: what the chain (FIFO, helper container, preflight) costs beyond the work',
    name: `${S}.lifeboat_parallel.vs_checked_unchained`,
    ratio: (r) => `${x(r)} the work unchained`,
  },
  {
    what: '… Lifeboat with half the connections, where the download is the limit (not the target’s case)',
    name: `${S}.lifeboat_half_connections`,
    ratio: (r) => `${x(r)} its floor (${r.baseline.replace(/^its floor: /, '')})`,
  },
  {
    what: '… Lifeboat parallel on the recipe’s gzip archive (gzip -d instead of zstd -d)',
    name: `${S}.lifeboat_parallel_gzip`,
    ratio: (r) => `${x(r)} Lifeboat on its zstd archive`,
  },
  {
    what: '… one connection cut once mid-range: extra time over the clean parallel run (median of per-round differences)',
    name: `${S}.range_cut.extra`,
    ratio: (r) => `${x(r)} one range’s time (${goal(r)})`,
  },
  {
    what: '… predicted restore time from a warm-up restore of a quarter of the files: error on the timed runs',
    name: `${S}.prediction.from_warmup.error`,
    ratio: () => 'abs(predicted − measured) ÷ measured',
  },
  { what: '… prediction from the warm-up and the earlier timed runs: error on the next run', name: `${S}.prediction.from_earlier_runs.error`, ratio: () => '' },
  { what: '… the machine’s 1-minute load average at the section’s start', name: `${S}.machine.load_1min`, ratio: () => '(2 CPUs)' },
  {
    what: '… this machine’s download ceiling: the archive as one range per connection, each `curl` to /dev/null (nothing hashed, kept or extracted)',
    name: `${S}.machine.download_ceiling`,
    ratio: (r) => `${x(r)} the download floor`,
  },
  { what: '… share of all CPUs busy: during Lifeboat parallel', name: `${S}.lifeboat_parallel.cpu_busy`, ratio: () => '/proc/stat' },
  { what: '… … during the download ceiling', name: `${S}.machine.download_ceiling.cpu_busy`, ratio: () => '' },
  { what: '… … during the extract floor', name: `${S}.floor.extract.cpu_busy`, ratio: () => '' },
  { what: '… … during the checked restore’s work unchained', name: `${S}.machine.checked_unchained.cpu_busy`, ratio: () => '' },
  {
    what: '… share of all CPUs’ time stolen by the hypervisor during Lifeboat parallel (other guests ran; counted as busy above)',
    name: `${S}.lifeboat_parallel.cpu_steal`,
    ratio: () => '/proc/stat',
  },
  {
    what: 'Backup, Lifeboat (GNU tar → zstd -T0 → S3, manifest)',
    name: 'backup.lifeboat',
    ratio: (r) => `${x(r)} faster than the classic recipe (target ≥ 8×)`,
  },
  { what: 'Backup, classic recipe (the helper’s `tar czf` to a file)', name: 'backup.classic_tar_czf', ratio: () => 'baseline' },
  {
    what: 'Backup floor (GNU tar → zstd -T0 → sha256 on the host, no upload)',
    name: 'backup.floor_tar_zstd_host',
    ratio: (r) => `Lifeboat is ${x(r)} the floor`,
  },
  { what: '… of which preflight (checks, one helper run for size and tools)', name: 'backup.lifeboat.phase.preflight', ratio: () => '' },
  { what: '… of which archive (tar → zstd → FIFO → sha256 → S3, streamed)', name: 'backup.lifeboat.phase.archive', ratio: () => '' },
  { what: '… of which manifest (container spec, upload)', name: 'backup.lifeboat.phase.manifest', ratio: () => '' },
  {
    what: 'Request → restore recorded as done, through the core (includes the 3 s settle check after the database answers)',
    name: 'e2e.request_to_database_answering',
    ratio: () => '',
  },
  { what: 'Orchestration overhead (the above minus the host script)', name: 'e2e.orchestration_overhead', ratio: () => 'target ≤ 1 s' },
];

export function benchTable(results: BenchResults): string {
  const byName = new Map(results.results.map((r) => [r.name, r]));
  const lines = ['| measurement | median | compared |', '|---|---|---|'];
  for (const row of ROWS) {
    const r = byName.get(row.name);
    if (r) lines.push(`| ${row.what} | ${fmt(r)} | ${row.ratio(r)} |`);
  }
  for (const r of results.results.filter((b) => b.name.startsWith('lambda.') && b.name.endsWith('.bundle_bytes'))) {
    const fn = r.name.slice('lambda.'.length, -'.bundle_bytes'.length);
    const init = byName.get(`lambda.${fn}.init_ms`);
    lines.push(`| Lambda \`${fn}\`: bundle, module init | ${fmt(r)}, ${init ? fmt(init) : '?'} | targets ≤ 300 KB, ≤ 100 ms |`);
  }
  for (const kind of ['latest', 'before_t']) {
    const small = byName.get(`catalog.${kind}.10.items_read`);
    const big = results.results.find((r) => r.name.startsWith(`catalog.${kind}.`) && r.name.endsWith('.items_read') && r !== small);
    const bigMs = big ? byName.get(big.name.replace('.items_read', '.ms')) : undefined;
    if (small && big && bigMs)
      lines.push(
        `| Catalog "${kind === 'latest' ? 'latest' : 'before T'}": 10 vs ${big.name.split('.')[2] ?? '?'} archives | ${fmt(small)} vs ${fmt(big)}, ${fmt(bigMs)} | same items read (target) |`,
      );
  }
  const m = results.machine;
  lines.push(
    '',
    `Measured ${results.startedAt.slice(0, 10)} on ${m.cpus.toString()} CPUs, pgbench scale ${m.scale.toString()} (${fmt(byName.get('data.volume_bytes') ?? { name: '', value: 0, unit: 'B', baseline: '', ratio: null, samples: [] })} of PGDATA), median of ${m.runs.toString()} alternating runs${m.smoke ? ' (SMOKE RUN)' : ''}.`,
  );
  return lines.join('\n');
}

/** The page that carries the generated table. */
export const BENCH_PAGE = join(ROOT, 'docs/benchmarks.md');

/** The generated section of a page: the text between START and END. */
export function tableSection(page: string): string | undefined {
  const a = page.indexOf(START);
  const b = page.indexOf(END);
  return a < 0 || b < a ? undefined : page.slice(a + START.length, b).trim();
}

/** Rewrites the table in docs/benchmarks.md from bench/results.json. */
export function updateBenchPage(resultsPath = join(ROOT, 'bench/results.json'), pagePath = BENCH_PAGE): void {
  const results = BenchResults.parse(JSON.parse(readFileSync(resultsPath, 'utf8')));
  const page = readFileSync(pagePath, 'utf8');
  if (tableSection(page) === undefined) throw new Error(`${pagePath} has no ${START} … ${END} section`);
  const a = page.indexOf(START);
  writeFileSync(pagePath, `${page.slice(0, a + START.length)}\n${benchTable(results)}\n${page.slice(page.indexOf(END))}`);
}
