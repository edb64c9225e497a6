/**
 * The restore's download (runbooks/restore-volume/fetch.sh) against the throttled S3
 * stand-in, sourced from the assembled script as it deploys and piped into sha256sum as
 * the transfer pipes it into its own: the bytes, the connections it uses, a range cut
 * mid-way or stalled, a server without range support, a host without python3 or behind a
 * proxy (one stream), the chunks it keeps, and a TERM.
 * Chunks are 64 KiB here (FETCH_CHUNK) so that boundaries are cheap to cross.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startThrottledS3, type ThrottledS3, type ThrottledS3Options } from '../../bench/support/throttled-s3.ts';
import { assembledScriptFile } from '../support/bash.ts';

const CHUNK = 64 * 1024;
let script = '';
beforeAll(() => {
  script = assembledScriptFile('restore-volume');
});

let server: ThrottledS3 | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

function bytes(n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 7919 + (i >> 13)) & 0xff;
  return b;
}
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

interface Run {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Sources the script and runs `body` in bash, asynchronously (the server is in this process). */
function bash(body: string, env: Record<string, string>, during?: (work: string) => Promise<void>): Promise<Run> {
  const work = mkdtempSync(join(tmpdir(), 'lifeboat-fetch-test-'));
  // The script sets WORK and FETCH_CHUNK when sourced: they are set after. A group of its own, to end it all if the test fails.
  const child = spawn('bash', ['-c', `source "$1"\nWORK="$TEST_WORK" FETCH_CHUNK="$TEST_CHUNK"; set +e\n${body}`, 'lifeboat-test', script], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', TEST_WORK: work, TEST_CHUNK: CHUNK.toString(), P_StallSeconds: '10', ...env },
    detached: true,
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<Run>((resolve) =>
    child.on('close', (status) => {
      resolve({ status, stdout, stderr });
    }),
  );
  if (!during) return done;
  return during(work).then(
    () => done,
    (e: unknown) => {
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      throw e;
    },
  );
}

/**
 * fetch_archive | sha256sum with its copy (descriptor 4, the transfer's hash FIFO) in a file, as
 * the transfer runs it: the stream's sha256, the status, the copy's sha256 and the bytes it counted.
 */
const FETCH =
  'fetch_archive 3>&2 4>"$WORK/copy" | sha256sum; printf "status=%s\\ncopy=%s bytes=%s\\n" "${PIPESTATUS[0]}" "$(if [[ -s "$WORK/sha" ]]; then cut -c1-64 "$WORK/sha"; else sha256sum <"$WORK/copy" | cut -c1-64; fi)" "$(cat "$WORK/bytes" 2>/dev/null)"';
/** What FETCH prints when the whole of `body` came, to the stream and to the copy. */
const whole = (body: Buffer): string => `${sha(body)}  -\nstatus=0\ncopy=${sha(body)} bytes=${body.length.toString()}\n`;

async function fetch(body: Buffer, expected: number, conns: number, options: Partial<ThrottledS3Options> = {}): Promise<Run & { s3: ThrottledS3 }> {
  server = await startThrottledS3({ body, firstByteMs: 1, bytesPerSecond: 50_000_000, ...options });
  const run = await bash(FETCH, { P_ArchiveUrl: server.url, P_ExpectedArchiveBytes: expected.toString(), P_DownloadConnections: conns.toString() });
  return { ...run, s3: server };
}

/** Prints `PHASE|ERROR` when the function ends the shell (as `fail` does). */
const REPORT_FAILURE = `trap 'printf "%s|%s\\n" "$FAILED_PHASE" "$ERROR"' EXIT;`;

/** The command lines (arguments joined by spaces) of the processes that name `dir` in them. */
function processesNaming(dir: string): string[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .flatMap((p) => {
      try {
        return [readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0').join(' ').trim()];
      } catch {
        return [];
      }
    })
    .filter((cmd) => cmd.includes(dir));
}

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
async function until(what: string, ok: () => boolean): Promise<void> {
  for (let i = 0; i < 300 && !ok(); i++) await pause(50);
  if (!ok()) throw new Error(`timed out waiting until ${what}`);
}

describe('fetch_archive: the archive in ranges over several connections, in order', () => {
  it('fetch.py, as it deploys (compacted), is Python 3.6 syntax (Amazon Linux 2023 and Debian 11 have 3.9)', () => {
    const deployed = readFileSync(script, 'utf8');
    const code = /<<'PYTHON'[^\n]*\n([\s\S]*?)\nPYTHON\n/.exec(deployed)?.[1] ?? '';
    expect(code).toContain('def worker():');
    const check = spawnSync('python3', ['-I', '-c', 'import ast, sys; ast.parse(sys.stdin.read(), feature_version=(3, 6))'], { input: code, encoding: 'utf8' });
    expect(check.stderr).toBe('');
    expect(check.status).toBe(0);
  });

  it.each([
    ['empty', 0, 'one stream'],
    ['one byte', 1, 'one stream'],
    ['one chunk less a byte', CHUNK - 1, 'one stream'],
    ['two chunks (below three: one stream)', 2 * CHUNK, 'one stream'],
    ['three chunks exactly', 3 * CHUNK, 'ranges'],
    ['three chunks and a byte', 3 * CHUNK + 1, 'ranges'],
    ['ten chunks less a byte', 10 * CHUNK - 1, 'ranges'],
    ['33 chunks and a byte', 33 * CHUNK + 1, 'ranges'],
  ] as const)('%s: the same bytes (sha256) as the object, over %s', async (_, size, how) => {
    const body = bytes(size);
    const { stdout, stderr, s3 } = await fetch(body, size, 4);
    expect(stdout, stderr).toBe(whole(body));
    const chunks = Math.ceil(size / CHUNK);
    if (how === 'one stream') {
      expect(s3.requests.map((r) => r.start)).toEqual([null]);
    } else {
      // Each chunk asked once, for exactly its bytes.
      expect(s3.requests.map((r) => [r.start, r.end]).sort((a, b) => (a[0] ?? 0) - (b[0] ?? 0))).toEqual(
        Array.from({ length: chunks }, (_, i) => [i * CHUNK, Math.min((i + 1) * CHUNK, size) - 1]),
      );
      expect(s3.requests.every((r) => r.status === 206)).toBe(true);
    }
  });

  it('DownloadConnections=1: one stream, whatever the size', async () => {
    const body = bytes(8 * CHUNK);
    const { stdout, s3 } = await fetch(body, body.length, 1);
    expect(stdout).toBe(whole(body));
    expect(s3.requests.map((r) => r.start)).toEqual([null]);
  });

  it.each([
    ['a host without python3', { FETCH_PY_TEST: '/nonexistent/python3' }],
    ['a proxy set (curl knows proxies; fetch.py does not)', { https_proxy: 'http://127.0.0.1:9' }],
  ] as const)('%s: one stream (curl), the same bytes, and the log says why', async (_, env) => {
    const body = bytes(6 * CHUNK);
    server = await startThrottledS3({ body, firstByteMs: 1 });
    // FETCH_PY is the script's own (set when sourced): the test names another after sourcing.
    const run = await bash(`[[ -z "\${FETCH_PY_TEST:-}" ]] || FETCH_PY="$FETCH_PY_TEST"; ${FETCH}`, {
      ...env,
      // The proxy is for https only; the stand-in is http, so curl reaches it directly.
      P_ArchiveUrl: server.url,
      P_ExpectedArchiveBytes: body.length.toString(),
      P_DownloadConnections: '4',
    });
    expect(run.stdout, run.stderr).toBe(whole(body));
    expect(server.requests.map((r) => r.start)).toEqual([null]);
    expect(run.stderr).toContain('one stream: ranges need python3 3.6+, no proxy,');
  });

  it('a stalled range (no byte for StallSeconds) is asked again from where it stopped, and the bytes are the same', async () => {
    const body = bytes(8 * CHUNK);
    server = await startThrottledS3({ body, firstByteMs: 1, bytesPerSecond: 1_000_000 });
    const s3 = server;
    s3.pause(); // every response waits before its body: each try stalls
    const run = await bash(
      FETCH,
      { P_ArchiveUrl: s3.url, P_ExpectedArchiveBytes: body.length.toString(), P_DownloadConnections: '2', P_StallSeconds: '1' },
      async () => {
        await until('two tries stalled', () => s3.requests.length >= 4);
        s3.resume();
      },
    );
    expect(run.stdout, run.stderr).toBe(whole(body));
    // A try that brought no byte: the next waits (0.25 s × 2 ** tries).
    expect(run.stderr).toMatch(/range 0- cut at byte 0 \((timed out|slower than 1 KiB\/s for 1 s)\): resuming there after 0\.5 s$/m);
  });

  it('a range that trickles (below 1 KiB/s for StallSeconds, as curl --speed-limit 1024) fails its try, and the download after FETCH_TRIES', async () => {
    const body = bytes(3 * CHUNK);
    // 500 B/s: bytes keep coming (no read waits StallSeconds), too slowly to finish in hours.
    server = await startThrottledS3({ body, firstByteMs: 1, bytesPerSecond: 500 });
    const run = await bash(`FETCH_TRIES=2; ${FETCH}`, {
      P_ArchiveUrl: server.url,
      P_ExpectedArchiveBytes: body.length.toString(),
      P_DownloadConnections: '3',
      P_StallSeconds: '2',
    });
    expect(run.stdout, run.stderr).toMatch(/status=1\n/);
    expect(run.stderr).toMatch(/range 0- cut at byte \d+ \(slower than 1 KiB\/s for 2 s\): resuming there/);
    expect(run.stderr).toMatch(/^range \d+-: HTTP 206, slower than 1 KiB\/s for 2 s$/m);
    // The second try asked from where the first stopped.
    const first = server.requests.filter((r) => r.end === CHUNK - 1);
    expect(first).toHaveLength(2);
    expect(first[1]?.start).toBeGreaterThan(0);
    expect(first[1]?.start).toBeLessThanOrEqual(first[0]?.sent ?? 0); // (bytes still in flight when it was shut are asked again)
  });

  it('uses the connections it is given at once, and never more', async () => {
    const body = bytes(24 * CHUNK);
    // 64 KiB at 64 KB/s: each range takes a second, so they overlap even when starting a curl is slow.
    const { stdout, s3 } = await fetch(body, body.length, 6, { bytesPerSecond: 64_000 });
    expect(stdout).toBe(whole(body));
    expect(s3.maxConcurrent).toBe(6);
  });

  it('a connection cut mid-range: the retry asks from the byte where it stopped, and the bytes are the same', async () => {
    const body = bytes(12 * CHUNK + 123);
    server = await startThrottledS3({ body, firstByteMs: 1, bytesPerSecond: 20_000_000 });
    server.cutOnce(5 * CHUNK, 10_000);
    const run = await bash(FETCH, { P_ArchiveUrl: server.url, P_ExpectedArchiveBytes: body.length.toString(), P_DownloadConnections: '4' });
    expect(run.stdout, run.stderr).toBe(whole(body));
    const cut = server.requests.filter((r) => r.cut);
    expect(cut).toEqual([expect.objectContaining({ start: 5 * CHUNK, end: 6 * CHUNK - 1, sent: 10_000 })]);
    const retries = server.requests.filter((r) => r.start === 5 * CHUNK + 10_000);
    expect(retries).toEqual([expect.objectContaining({ end: 6 * CHUNK - 1, status: 206, sent: CHUNK - 10_000, cut: false })]);
    expect(server.requests).toHaveLength(13 + 1); // every other chunk once: never the whole download again
    // The try brought bytes before the cut: the next asks at once (as s3transfer does), without a pause.
    expect(run.stderr).toMatch(
      new RegExp(`] range ${(5 * CHUNK).toString()}- cut at byte ${(5 * CHUNK + 10_000).toString()} \\([^\n]*\\): resuming there$`, 'm'),
    );
  });

  it('a server that answers 200 to a range: one stream from the start, the same bytes', async () => {
    const body = bytes(6 * CHUNK);
    const { stdout, stderr, s3 } = await fetch(body, body.length, 4, { ignoreRange: true });
    expect(stdout, stderr).toBe(whole(body));
    expect(stderr).toContain('no ranges (HTTP 200');
    // One stream (no Range: the whole object), after the first ranges, whose whole-object answers were
    // dropped; how many of those reached the server, and when (a thread may ask late), depends on timing.
    expect(s3.requests.filter((r) => r.start === null)).toEqual([{ start: null, end: null, status: 200, sent: body.length, cut: false }]);
    expect(s3.requests.filter((r) => r.end === null || (r.start ?? 0) >= 4 * CHUNK)).toHaveLength(1);
  });

  it('an object larger than ExpectedArchiveBytes: one stream of the whole object, for the size check to refuse', async () => {
    const body = bytes(6 * CHUNK);
    const { stdout, s3 } = await fetch(body, 5 * CHUNK, 4);
    expect(stdout).toBe(whole(body));
    expect(s3.requests.filter((r) => r.end === null)).toEqual([{ start: null, end: null, status: 200, sent: body.length, cut: false }]);
  });

  it('a presigned URL near its expiry: no range is asked later than 2 minutes before it; the rest comes as one stream', async () => {
    const body = bytes(12 * CHUNK + 5);
    // 64 KiB at 32 KB/s: 2 s a range, 12 s in all over 2 connections; the URL "expires" mid-way (a
    // margin of 8 s: on a loaded machine the first range may start seconds late).
    server = await startThrottledS3({ body, firstByteMs: 1, bytesPerSecond: 32_000 });
    // The host reads X-Amz-Date to the minute: the expiry is made 2 minutes and 8 seconds from now at that precision.
    const now = new Date();
    const signed = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+/, '');
    const expires = 128 + now.getUTCSeconds();
    const url = `${server.url}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date=${signed}&X-Amz-Expires=${expires.toString()}&X-Amz-Signature=abc`;
    const run = await bash(FETCH, { P_ArchiveUrl: url, P_ExpectedArchiveBytes: body.length.toString(), P_DownloadConnections: '2' });
    expect(run.stdout, run.stderr).toBe(whole(body));
    const ranges = server.requests.filter((r) => r.end !== null).map((r) => r.start ?? -1);
    const rest = server.requests.filter((r) => r.end === null);
    expect(ranges.length).toBeGreaterThanOrEqual(1);
    expect(ranges.length).toBeLessThan(12);
    expect(rest).toEqual([expect.objectContaining({ start: ranges.length * CHUNK, status: 206, sent: body.length - ranges.length * CHUNK })]);
    expect(run.stderr).toContain(`URL expiring: one stream from ${(ranges.length * CHUNK).toString()}`);
  });

  it.each([
    ['ranges', 4],
    ['one stream', 1],
  ] as const)('the reader stops mid-way (%s): the status says so (141 or 23, not a download failure), and no curl is left', async (_, conns) => {
    const body = bytes(12 * CHUNK);
    server = await startThrottledS3({ body, firstByteMs: 1, bytesPerSecond: 2_000_000 });
    const s3 = server;
    const run = await bash('fetch_archive 3>&2 4>/dev/null | head -c 100000 >/dev/null; printf "status=%s\\n" "${PIPESTATUS[0]}"', {
      P_ArchiveUrl: s3.url,
      P_ExpectedArchiveBytes: body.length.toString(),
      P_DownloadConnections: conns.toString(),
    });
    expect(run.stdout, run.stderr).toMatch(/^status=(141|23)\n$/);
    await until('no range is served', () => s3.active === 0);
  });

  it('a range that keeps failing ends the download with its HTTP status, after FETCH_TRIES tries', async () => {
    const body = bytes(6 * CHUNK);
    server = await startThrottledS3({ body, firstByteMs: 1 });
    for (let i = 0; i < 4; i++) server.cutOnce(2 * CHUNK + i * 100, 100);
    const run = await bash(`FETCH_TRIES=3; ${FETCH}`, { P_ArchiveUrl: server.url, P_ExpectedArchiveBytes: body.length.toString(), P_DownloadConnections: '3' });
    expect(run.stdout).toMatch(/status=1\n/);
    expect(run.stderr).toContain(`range ${(2 * CHUNK + 300).toString()}-: HTTP 206`);
    expect(server.requests.filter((r) => r.start !== null && r.start >= 2 * CHUNK && r.start < 3 * CHUNK)).toHaveLength(3);
  });
});

describe('transfer: the restore’s pipeline fed by ranges (the helper stubbed: it hashes what it reads)', () => {
  // transfer as the run calls it; the helper container is replaced by a function reading its FIFO.
  const TRANSFER = `helper() { sha256sum <"$WORK/io/stream"; }
    P_ExpectedUncompressedBytes= P_ArchiveSubPath= P_ExpectedSha256= CODEC=gzip
    transfer volume lifeboat-stage-test
    printf 'bytes=%s sha=%s helper=%s\\n' "$BYTES" "$SHA256" "$(cut -c1-64 "$WORK/extract.out")"`;

  it('the helper receives the archive, and the run records its byte count and sha256', async () => {
    const body = bytes(9 * CHUNK + 17);
    server = await startThrottledS3({ body, firstByteMs: 1 });
    const run = await bash(`set -e; ${TRANSFER}`, {
      P_ArchiveUrl: server.url,
      P_ExpectedArchiveBytes: body.length.toString(),
      P_DownloadConnections: '3',
      P_RestoreId: 'r-t',
    });
    const hash = sha(body);
    expect(run.stdout, run.stderr).toBe(`bytes=${body.length.toString()} sha=${hash} helper=${hash}\n`);
    expect(server.requests.filter((r) => r.status === 206)).toHaveLength(10);
  });

  it.each([
    ['from ranges (fetch.py hashes them)', false, '3'],
    ['one stream, with openssl (dgst -sha256)', true, '1'],
    ['one stream, on a host without openssl (sha256sum)', false, '1'],
  ] as const)('the sha256 and the byte count %s: the same as the object’s', async (_, withOpenssl, conns) => {
    const body = bytes(5 * CHUNK + 3);
    server = await startThrottledS3({ body, firstByteMs: 1 });
    // A PATH of links to every tool of this machine but openssl: the host without it.
    const bin = mkdtempSync(join(tmpdir(), 'lifeboat-no-openssl-'));
    for (const dir of ['/usr/local/bin', '/usr/bin', '/bin'].filter((d) => existsSync(d)))
      for (const tool of readdirSync(dir)) if (tool !== 'openssl' && !existsSync(join(bin, tool))) symlinkSync(join(dir, tool), join(bin, tool));
    const path = withOpenssl ? (process.env.PATH ?? '/usr/bin:/bin') : bin;
    const run = await bash(`set -e; command -v openssl >/dev/null && echo has-openssl; ${TRANSFER}`, {
      PATH: path,
      P_ArchiveUrl: server.url,
      P_ExpectedArchiveBytes: body.length.toString(),
      P_DownloadConnections: conns,
      P_RestoreId: 'r-t',
    });
    rmSync(bin, { recursive: true, force: true });
    const hash = sha(body);
    expect(run.stdout, run.stderr).toBe(`${withOpenssl ? 'has-openssl\n' : ''}bytes=${body.length.toString()} sha=${hash} helper=${hash}\n`);
  });

  it('a range that fails for good: the run fails in the download phase, naming the range and its status', async () => {
    const body = bytes(9 * CHUNK);
    server = await startThrottledS3({ body, firstByteMs: 1 });
    for (let i = 0; i < 4; i++) server.cutOnce(4 * CHUNK + i * 10, 10);
    const run = await bash(`${REPORT_FAILURE} ${TRANSFER}`, {
      P_ArchiveUrl: server.url,
      P_ExpectedArchiveBytes: body.length.toString(),
      P_DownloadConnections: '3',
      P_RestoreId: 'r-t',
    });
    expect(run.stdout, run.stderr).toBe(
      `download|download failed after ${(4 * CHUNK).toString()} bytes: range ${(4 * CHUNK + 40).toString()}-: HTTP 206, transfer closed with ${(CHUNK - 40).toString()} bytes remaining to read \n`,
    );
  });
});

describe('fetch_archive: bounded chunks, and a TERM', () => {
  it('keeps at most connections+1 chunks: with the reader stopped, it asks for no more', async () => {
    // Chunks larger than the pipe's buffer (fetch.py asks for 1 MiB), so that writing the first one blocks.
    const chunk = 32 * CHUNK;
    const body = bytes(20 * chunk);
    server = await startThrottledS3({ body, firstByteMs: 1 });
    const s3 = server;
    // The reader waits for the test (a FIFO it opens late): the fetch blocks writing chunk 0.
    const run = await bash(
      `mkfifo "$WORK/go"
       fetch_archive 3>&2 4>/dev/null | { read -r _ <"$WORK/go"; sha256sum; }; printf "status=%s\\n" "\${PIPESTATUS[0]}"`,
      { P_ArchiveUrl: s3.url, P_ExpectedArchiveBytes: body.length.toString(), P_DownloadConnections: '4', TEST_CHUNK: chunk.toString() },
      async (work) => {
        await until('5 ranges were served', () => s3.requests.length >= 5 && s3.active === 0);
        await pause(1000); // a chance to ask for more, which it must not take
        expect(s3.requests).toHaveLength(5);
        spawnSync('bash', ['-c', 'printf "go\\n" >"$1/go"', 'x', work]);
      },
    );
    expect(run.stdout, run.stderr).toBe(`${sha(body)}  -\nstatus=0\n`);
  });

  it('passes on the chunk next in order as its bytes come, an eighth at a time, not once it is whole', async () => {
    // 64 KB/s a connection: a chunk takes a second to come, an eighth of it an eighth of that.
    const body = bytes(3 * CHUNK);
    server = await startThrottledS3({ body, firstByteMs: 1, bytesPerSecond: 64_000 });
    const s3 = server;
    let firstChunkSent = -1;
    const run = await bash(FETCH, { P_ArchiveUrl: s3.url, P_ExpectedArchiveBytes: body.length.toString(), P_DownloadConnections: '3' }, async (work) => {
      const passedOn = (): number => {
        try {
          return Number(readFileSync(join(work, 'bytes'), 'utf8'));
        } catch {
          return 0;
        }
      };
      await until('the first bytes were passed on', () => passedOn() > 0);
      firstChunkSent = s3.requests.find((r) => r.start === 0)?.sent ?? -1;
    });
    expect(run.stdout, run.stderr).toBe(whole(body));
    // The reader had bytes of chunk 0 while the server was still sending it.
    expect(firstChunkSent).toBeGreaterThan(0);
    expect(firstChunkSent).toBeLessThan(CHUNK);
  });

  it.each([
    ['ranges', '4', 'python3'],
    ['one stream (no python3)', '4', '/nonexistent/python3'],
    ['one stream (DownloadConnections=1)', '1', 'python3'],
  ] as const)('fetch_archive OUT (a FIFO, as the transfer gives it): %s, and every byte comes through it in order', async (_, conns, python) => {
    const body = bytes(12 * CHUNK + 5);
    server = await startThrottledS3({ body, firstByteMs: 1 });
    const s3 = server;
    const ranges = conns !== '1' && python === 'python3';
    const run = await bash(
      `FETCH_PY="$TEST_PY"; mkfifo "$WORK/stream"
       fetch_archive "$WORK/stream" 3>&2 4>"$WORK/copy" & f=$!
       for (( i = 0; i < 300; i++ )); do [[ ! -e "$WORK/go" ]] || break; sleep 0.05; done
       sha256sum <"$WORK/stream"; wait "$f"; printf "status=%s bytes=%s\n" "$?" "$(cat "$WORK/bytes")"`,
      { P_ArchiveUrl: s3.url, P_ExpectedArchiveBytes: body.length.toString(), P_DownloadConnections: conns, TEST_PY: python },
      async (work) => {
        await pause(300); // the reader opens late, as the helper container does
        spawnSync('bash', ['-c', ': >"$1/go"', 'x', work]);
      },
    );
    expect(run.stdout, run.stderr).toBe(`${sha(body)}  -\nstatus=0 bytes=${body.length.toString()}\n`);
    if (ranges) expect(s3.requests.every((r) => r.status === 206)).toBe(true);
    else expect(s3.requests.map((r) => r.start)).toEqual([null]);
  });

  it('fetch_archive OUT: the ranges are under way before the reader opens it (the helper container’s start costs no download time)', async () => {
    const body = bytes(12 * CHUNK);
    server = await startThrottledS3({ body, firstByteMs: 1 });
    const s3 = server;
    let before = -1;
    let openedBefore = true;
    const run = await bash(
      `mkfifo "$WORK/stream"
       fetch_archive "$WORK/stream" 3>&2 4>/dev/null & f=$!
       for (( i = 0; i < 300; i++ )); do [[ ! -e "$WORK/go" ]] || break; sleep 0.05; done
       sha256sum <"$WORK/stream"; wait "$f"; printf "status=%s\n" "$?"`,
      { P_ArchiveUrl: s3.url, P_ExpectedArchiveBytes: body.length.toString(), P_DownloadConnections: '4' },
      async (work) => {
        // With no reader yet: the 4 connections take their first ranges (and one more, for the spare
        // buffer), and fetch.py waits to open OUT; a pause to see that it takes no more.
        await until('5 ranges were served', () => s3.requests.length >= 5 && s3.active === 0);
        await pause(300);
        before = s3.requests.length;
        openedBefore = existsSync(join(work, 'opened'));
        spawnSync('bash', ['-c', ': >"$1/go"', 'x', work]);
      },
    );
    expect(run.stdout, run.stderr).toBe(`${sha(body)}  -\nstatus=0\n`);
    // connections + 1 chunks are held: 5 ranges at most came before there was a reader, and OUT was not yet open.
    expect(before).toBe(5);
    expect(openedBefore).toBe(false);
  });

  it('fetch_archive OUT: a fetch.py that cannot start still gives the reader its end of file (the shell opens OUT after it)', async () => {
    const body = bytes(12 * CHUNK);
    server = await startThrottledS3({ body, firstByteMs: 1 });
    // FETCH_PY_OK=1 and a "python3" that fails at once: the helper, blocked opening the FIFO, must not wait forever.
    const run = await bash(
      `FETCH_PY_OK=1 FETCH_PY=false; mkfifo "$WORK/stream"
       fetch_archive "$WORK/stream" 3>&2 4>/dev/null & f=$!
       timeout 10 cat "$WORK/stream" | wc -c; printf "reader=%s " "\${PIPESTATUS[0]}"; wait "$f"; printf "status=%s\\n" "$?"`,
      { P_ArchiveUrl: server.url, P_ExpectedArchiveBytes: body.length.toString(), P_DownloadConnections: '4' },
    );
    expect(run.stdout, run.stderr).toBe('0\nreader=0 status=1\n');
  });

  it.each([
    ['the transfer’s release_fifo (its helper ended without opening it)', 'release_fifo "$WORK/stream" "$f"', '1'],
    ['a TERM (stop_fetch, as the run’s exit does)', 'stop_fetch', '143'],
  ] as const)('fetch_archive OUT: a fetch.py that cannot start, and no reader ever: the wait for one ends with %s, nothing left', async (_, end, status) => {
    const body = bytes(12 * CHUNK);
    server = await startThrottledS3({ body, firstByteMs: 1 });
    let waiting: string[] = [];
    let workDir = '';
    const run = await bash(
      `FETCH_PY_OK=1 FETCH_PY=false; mkfifo "$WORK/stream"
       fetch_archive "$WORK/stream" 3>&2 4>/dev/null & f=$!
       for (( i = 0; i < 300; i++ )); do [[ ! -e "$WORK/go" ]] || break; sleep 0.05; done
       ${end}; wait "$f"; printf "status=%s\n" "$?"`,
      { P_ArchiveUrl: server.url, P_ExpectedArchiveBytes: body.length.toString(), P_DownloadConnections: '4' },
      async (work) => {
        workDir = work;
        // fetch.py has failed; the shell waits to give the absent reader its end of file.
        await until('the shell waits on the FIFO', () => processesNaming(work).some((c) => c.startsWith('dd')));
        await pause(500);
        waiting = processesNaming(work);
        spawnSync('bash', ['-c', ': >"$1/go"', 'x', work]);
      },
    );
    expect(waiting.some((c) => c.startsWith('dd'))).toBe(true); // still waiting after 0.5 s: for the reader, not a clock
    expect(run.stdout, run.stderr).toBe(`status=${status}\n`);
    expect(workDir).not.toBe('');
    expect(processesNaming(workDir)).toEqual([]);
  });

  it('TERM mid-download (stop_fetch, as the run’s exit does): no fetch process is left, no connection open', async () => {
    const body = bytes(40 * CHUNK);
    server = await startThrottledS3({ body, firstByteMs: 1, bytesPerSecond: 100_000 });
    const s3 = server;
    let pid = '';
    let workDir = '';
    const run = await bash(
      'fetch_archive 3>&2 4>/dev/null | sha256sum >/dev/null; printf "done %s\\n" "${PIPESTATUS[0]}"',
      { P_ArchiveUrl: s3.url, P_ExpectedArchiveBytes: body.length.toString(), P_DownloadConnections: '4', P_StallSeconds: '60' },
      async (work) => {
        await until('4 ranges are being served', () => s3.active === 4);
        pid = readFileSync(join(work, 'fetch.pid'), 'utf8');
        workDir = work;
        spawnSync('bash', ['-c', 'source "$1"; WORK="$2"; stop_fetch', 'x', script, work]);
        await until('no range is served', () => s3.active === 0);
      },
    );
    expect(run.stdout).toBe('done 143\n');
    expect(pid).toMatch(/^\d+$/);
    const fetchers = readdirSync('/proc')
      .filter((p) => /^\d+$/.test(p))
      .flatMap((p) => {
        try {
          return [readFileSync(`/proc/${p}/cmdline`, 'utf8')];
        } catch {
          return [];
        }
      })
      // fetch.py has the run's folder among its arguments (the URL is in its environment).
      .filter((cmd) => cmd.includes(workDir));
    expect(workDir).not.toBe('');
    expect(fetchers).toEqual([]);
  });
});
