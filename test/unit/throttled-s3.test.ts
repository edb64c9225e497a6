/**
 * The throttled S3 stand-in the benchmark serves several-GB archives from
 * (bench/support/throttled-s3.ts): a file-backed object read as it is sent, path-style
 * GET/HEAD as S3 answers them, the per-connection cap and first-byte latency, and the
 * AWS CLI v2 (the classic recipe's downloader) fetching from it.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startThrottledS3, type ThrottledS3 } from '../../bench/support/throttled-s3.ts';

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
let dir = '';
let file = '';
let body: Buffer;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'lifeboat-throttled-s3-'));
  file = join(dir, 'archive.tar.gz');
  body = randomBytes(20 * 1024 * 1024 + 12345);
  writeFileSync(file, body);
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});
let server: ThrottledS3 | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const get = async (url: string, init: RequestInit = {}): Promise<{ status: number; headers: Headers; body: Buffer }> => {
  const res = await fetch(url, init);
  return { status: res.status, headers: res.headers, body: Buffer.from(await res.arrayBuffer()) };
};

describe('the throttled S3 stand-in, serving a file', () => {
  it('answers path-style GET, ranged GET and HEAD for /bucket/key with the file’s bytes, and 404 NoSuchKey elsewhere', async () => {
    server = await startThrottledS3({ file, bucket: 'bench', key: 'archives/db1/a.tar.gz', bytesPerSecond: 500_000_000, firstByteMs: 1 });
    expect(server.url).toBe(`${server.endpoint}/bench/archives/db1/a.tar.gz`);
    expect(server.size).toBe(body.length);

    const whole = await get(server.url);
    expect(whole.status).toBe(200);
    expect(sha(whole.body)).toBe(sha(body));

    const range = await get(server.url, { headers: { Range: 'bytes=1000-1999999' } });
    expect(range.status).toBe(206);
    expect(range.headers.get('content-range')).toBe(`bytes 1000-1999999/${body.length.toString()}`);
    expect(range.body.equals(body.subarray(1000, 2_000_000))).toBe(true);

    const tail = await get(server.url, { headers: { Range: `bytes=${(body.length - 10).toString()}-` } });
    expect(tail.body.equals(body.subarray(body.length - 10))).toBe(true);
    expect((await get(server.url, { headers: { Range: `bytes=${body.length.toString()}-` } })).status).toBe(416);

    const head = await get(server.url, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(body.length.toString());
    expect(head.headers.get('etag')).toMatch(/^"[0-9a-f]{32}"$/);
    expect(Number.isNaN(Date.parse(head.headers.get('last-modified') ?? ''))).toBe(false);
    expect(head.body.length).toBe(0);
    expect(server.heads).toBe(1);

    const missing = await get(`${server.endpoint}/bench/archives/db1/other.tar.gz`);
    expect(missing.status).toBe(404);
    expect(missing.body.toString()).toContain('<Code>NoSuchKey</Code>');
    expect((await get(server.url, { method: 'POST' })).status).toBe(405);
    // Only the object's GETs are recorded.
    expect(server.requests.map((r) => [r.start, r.status])).toEqual([
      [null, 200],
      [1000, 206],
      [body.length - 10, 206],
    ]);
  });

  it('ranges read at once over many connections each get exactly their own bytes', async () => {
    server = await startThrottledS3({ file, bytesPerSecond: 40_000_000, firstByteMs: 1 });
    const url = server.url;
    const part = 2_500_000;
    const parts = await Promise.all(
      Array.from({ length: 8 }, (_, i) => get(url, { headers: { Range: `bytes=${(i * part).toString()}-${((i + 1) * part - 1).toString()}` } })),
    );
    parts.forEach((p, i) => {
      expect(p.body.equals(body.subarray(i * part, (i + 1) * part)), `part ${i.toString()}`).toBe(true);
    });
    expect(server.maxConcurrent).toBe(8);
  });

  it('caps each connection at bytesPerSecond and waits firstByteMs before the headers; connections do not share the cap', async () => {
    server = await startThrottledS3({ file, bytesPerSecond: 4_000_000, firstByteMs: 150 });
    const url = server.url;
    const timed = async (range: string): Promise<{ headers: number; total: number }> => {
      const t = performance.now();
      const res = await fetch(url, { headers: { Range: range } });
      const headers = performance.now() - t;
      await res.arrayBuffer();
      return { headers, total: performance.now() - t };
    };
    // 1 MB at 4 MB/s: at least 0.25 s after the first byte, however fast the machine.
    const one = await timed('bytes=0-999999');
    expect(one.headers).toBeGreaterThanOrEqual(145);
    expect(one.total).toBeGreaterThanOrEqual(145 + 240);
    // Four at once: each still at least its own 0.25 s, and all four together well under four times that
    // (a shared cap would need 1 s of sending).
    const t = performance.now();
    const four = await Promise.all([0, 1, 2, 3].map((i) => timed(`bytes=${(i * 1_000_000).toString()}-${((i + 1) * 1_000_000 - 1).toString()}`)));
    const together = performance.now() - t;
    for (const f of four) expect(f.total).toBeGreaterThanOrEqual(145 + 240);
    expect(together).toBeLessThan(150 + 1000);
  });
});

describe('the classic recipe’s downloader against it', () => {
  it('/usr/bin/aws s3 cp (AWS CLI v2, any credentials) downloads the object through HEAD and ranged GETs over several connections', async () => {
    server = await startThrottledS3({ file, bucket: 'bench', key: 'archives/db1/a.tar.gz', bytesPerSecond: 50_000_000, firstByteMs: 5 });
    const out = join(dir, 'download.tar.gz');
    const code = await new Promise<number | null>((resolve) => {
      const child = spawn('/usr/bin/aws', ['s3', 'cp', '--no-progress', 's3://bench/archives/db1/a.tar.gz', out, '--endpoint-url', server?.endpoint ?? ''], {
        stdio: 'ignore',
        env: {
          PATH: '/usr/bin:/bin',
          HOME: dir,
          AWS_ACCESS_KEY_ID: 'bench',
          AWS_SECRET_ACCESS_KEY: 'bench',
          AWS_DEFAULT_REGION: 'us-east-1',
          AWS_CONFIG_FILE: '/dev/null',
          AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
          AWS_EC2_METADATA_DISABLED: 'true',
        },
      });
      child.on('close', resolve);
    });
    expect(code).toBe(0);
    expect(sha(readFileSync(out))).toBe(sha(body));
    expect(server.heads).toBeGreaterThanOrEqual(1);
    // Its 8 MiB parts, asked as ranges, at once.
    expect(server.requests.every((r) => r.status === 206)).toBe(true);
    expect(server.requests.map((r) => r.start).sort((a, b) => (a ?? 0) - (b ?? 0))).toEqual([0, 8 << 20, 16 << 20]);
    expect(server.maxConcurrent).toBe(3);
  }, 60_000);
});
