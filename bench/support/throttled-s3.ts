/**
 * A stand-in for S3 serving one object over HTTP on 127.0.0.1, modelling what makes S3
 * downloads slow on one connection. AWS's S3 performance guidelines plan one concurrent
 * request per 85–90 MB/s of throughput and describe a first-byte latency on every request;
 * so each response is capped at `bytesPerSecond` (default 85 MB/s; a connection carries one
 * response at a time, so this is the per-connection cap) and waits `firstByteMs` before its
 * headers. Many connections at once each get the full cap: the aggregate is N × the cap, as
 * S3 scales across connections (the machine running this stand-in and its client is then
 * the limit, which the benchmark reports as its floor).
 *
 * What it answers, as S3 does for path-style requests (`/bucket/key`, so that
 * `aws s3 cp s3://bucket/key … --endpoint-url http://127.0.0.1:PORT` works with any
 * credentials): GET (200, or 206 with Content-Range for `Range: bytes=a-b` / `a-`; 416 past
 * the end), HEAD (Content-Length, ETag, Last-Modified, Accept-Ranges), 404 NoSuchKey for
 * another path when `bucket`/`key` are given (without them every path serves the object),
 * 405 for other methods. The object is a Buffer or a file read in slices as it is sent
 * (never held in memory: several GB are fine). `ignoreRange` answers 200 with the whole
 * object to a Range request, as a server without range support would. Faults: `cut` ends a
 * connection once after some bytes of the range starting at a given byte. It records every
 * GET (range asked, bytes sent, whether cut), every HEAD, and the most responses sending at once.
 *
 * Not modelled: signatures (any or none is accepted) and presigned-URL expiry, S3's
 * request-rate limits and 503 SlowDown, TLS, listing, uploads, per-prefix partitions,
 * latency varying by request or region, and any limit on the aggregate bandwidth.
 */
import { createHash } from 'node:crypto';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ThrottledS3Options {
  /** The object, in memory; or give `file`. */
  readonly body?: Buffer;
  /** The object as a file, read in slices as it is sent (several GB are fine); or give `body`. */
  readonly file?: string;
  /** Bytes per second each response (so each connection) may send. @default 85_000_000 */
  readonly bytesPerSecond?: number;
  /** Milliseconds before a response's headers (S3's first-byte latency). @default 30 */
  readonly firstByteMs?: number;
  /** Answer 200 with the whole object to a Range request. @default false */
  readonly ignoreRange?: boolean;
  /** With `key`: only `/bucket/key` is the object (path-style); other paths answer 404. @default any path */
  readonly bucket?: string;
  readonly key?: string;
}

export interface RangeRequest {
  /** The first byte asked for, or null for a request without Range. */
  readonly start: number | null;
  readonly end: number | null;
  readonly status: number;
  /** Bytes of the body written before the response ended or was cut. */
  sent: number;
  cut: boolean;
}

export interface ThrottledS3 {
  /** The object's URL (path-style `/bucket/key` when they were given). */
  readonly url: string;
  /** `http://127.0.0.1:PORT`, for an S3 client's endpoint. */
  readonly endpoint: string;
  /** The object's size in bytes. */
  readonly size: number;
  /** Every GET of the object, in arrival order. */
  readonly requests: readonly RangeRequest[];
  /** How many HEAD requests the object answered. */
  readonly heads: number;
  /** The most responses that were sending at the same time. */
  readonly maxConcurrent: number;
  /** Responses sending now. */
  readonly active: number;
  /** Ends the next connection whose range starts at `start` after `afterBytes` of its body (once). */
  cutOnce(start: number, afterBytes: number): void;
  /** Holds every response before its body until `resume` (requests still arrive and are counted). */
  pause(): void;
  resume(): void;
  close(): Promise<void>;
}

const SLICE_MS = 10;
const DEFAULT_PATH = '/archives/db1/pgdata/archive.tar.gz';

/** Until the response can take more, or its connection is gone (each listener removed either way). */
function drainedOrClosed(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done).off('close', done);
      resolve();
    };
    res.once('drain', done).once('close', done);
  });
}

/** Bytes [at, at + n) of the object, and what to call once the socket no longer needs them. */
type Reader = (at: number, n: number) => Promise<{ chunk: Buffer; done: () => void }>;
const NOTHING = (): void => undefined;
/** Spare slice buffers kept for reuse (a fresh large buffer each slice costs page faults: 5× the CPU of the read). */
const POOL_MAX = 64;

async function objectSource(options: ThrottledS3Options): Promise<{ size: number; read: Reader; mtime: Date; etag: string; close: () => Promise<void> }> {
  if ((options.body === undefined) === (options.file === undefined)) throw new Error('give body or file, one of them');
  if (options.body !== undefined) {
    const body = options.body;
    return {
      size: body.length,
      read: (at, n) => Promise.resolve({ chunk: body.subarray(at, at + n), done: NOTHING }),
      mtime: new Date(),
      etag: createHash('md5').update(body).digest('hex'),
      close: () => Promise.resolve(),
    };
  }
  const file = options.file ?? '';
  const info = await stat(file);
  const fh: FileHandle = await open(file, 'r');
  const pool = new Map<number, Buffer[]>();
  return {
    size: info.size,
    // A buffer the socket has let go of, or a new one: never one a pending write still holds.
    read: async (at, n) => {
      const free = pool.get(n) ?? [];
      pool.set(n, free);
      const buf = free.pop() ?? Buffer.allocUnsafe(n);
      const { bytesRead } = await fh.read(buf, 0, n, at);
      if (bytesRead !== n) throw new Error(`${file}: short read at ${at.toString()}`);
      return {
        chunk: buf,
        done: () => {
          if (free.length < POOL_MAX) free.push(buf);
        },
      };
    },
    mtime: info.mtime,
    // Not the content's MD5 (hashing GBs at start-up would cost seconds): size and mtime, quoted as S3 quotes it.
    etag: createHash('md5').update(`${info.size.toString()}:${info.mtimeMs.toString()}`).digest('hex'),
    close: () => fh.close(),
  };
}

export async function startThrottledS3(options: ThrottledS3Options): Promise<ThrottledS3> {
  const { bytesPerSecond = 85_000_000, firstByteMs = 30, ignoreRange = false } = options;
  if (!(bytesPerSecond > 0) || !(firstByteMs >= 0)) throw new Error('bytesPerSecond must be > 0 and firstByteMs ≥ 0');
  if ((options.bucket === undefined) !== (options.key === undefined)) throw new Error('give bucket and key together');
  const path = options.key === undefined ? undefined : `/${options.bucket ?? ''}/${options.key}`;
  const object = await objectSource(options);
  const { size } = object;
  const requests: RangeRequest[] = [];
  const cuts = new Map<number, number>();
  let heads = 0;
  let active = 0;
  let maxConcurrent = 0;
  let paused: Promise<void> | undefined;
  let release = (): void => undefined;
  const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
  const objectHeaders = (): Record<string, string> => ({
    'Content-Type': 'application/octet-stream',
    'Accept-Ranges': 'bytes',
    ETag: `"${object.etag}"`,
    'Last-Modified': object.mtime.toUTCString(),
  });

  const serve = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405).end();
      return;
    }
    const asked = decodeURIComponent((req.url ?? '/').split('?')[0] ?? '/');
    if (path !== undefined && asked !== path) {
      await sleep(firstByteMs);
      res
        .writeHead(404, { 'Content-Type': 'application/xml' })
        .end(
          req.method === 'HEAD'
            ? undefined
            : '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>',
        );
      return;
    }
    if (req.method === 'HEAD') {
      heads++;
      await sleep(firstByteMs);
      res.writeHead(200, { ...objectHeaders(), 'Content-Length': size.toString() }).end();
      return;
    }
    const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    let start = 0;
    let end = size - 1;
    let status = 200;
    if (m && !ignoreRange) {
      start = Number(m[1]);
      end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
      if (start >= size || start > end) {
        res.writeHead(416, { 'Content-Range': `bytes */${size.toString()}` }).end();
        return;
      }
      status = 206;
    }
    const record: RangeRequest = { start: m ? Number(m[1]) : null, end: m && m[2] !== '' ? Number(m[2]) : null, status, sent: 0, cut: false };
    requests.push(record);
    const cutAfter = m ? cuts.get(start) : undefined;
    if (cutAfter !== undefined) cuts.delete(start);
    await sleep(firstByteMs);
    const headers: Record<string, string> = { ...objectHeaders(), 'Content-Length': (end - start + 1).toString() };
    if (status === 206) headers['Content-Range'] = `bytes ${start.toString()}-${end.toString()}/${size.toString()}`;
    res.writeHead(status, headers);
    res.flushHeaders();
    active++;
    maxConcurrent = Math.max(maxConcurrent, active);
    try {
      const slice = Math.max(1, Math.floor((bytesPerSecond * SLICE_MS) / 1000));
      let at = start;
      const began = Date.now();
      while (at <= end) {
        if (paused) await paused;
        if (res.destroyed) return;
        let n = Math.min(slice, end - at + 1);
        if (cutAfter !== undefined) n = Math.min(n, cutAfter - record.sent);
        if (n > 0) {
          const { chunk, done } = await object.read(at, n);
          // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- the client may leave while the file is read
          if (res.destroyed) return;
          // The callback runs once the bytes are in the kernel (or the connection is gone): the buffer is free again.
          const drained = res.write(chunk, done);
          at += n;
          record.sent += n;
          if (!drained) await drainedOrClosed(res);
        }
        if (cutAfter !== undefined && record.sent >= cutAfter) {
          // Written bytes are flushed to the socket first: the client receives exactly `sent`.
          await new Promise<void>((resolve) =>
            res.write('', () => {
              resolve();
            }),
          );
          record.cut = true;
          res.socket?.destroy();
          return;
        }
        // The cap: never ahead of bytesPerSecond since the first byte (after the last byte, none:
        // the response is done, and a client reusing the connection may already ask again).
        if (at > end) break;
        const due = began + (record.sent / bytesPerSecond) * 1000;
        const wait = due - Date.now();
        if (wait > 0) await sleep(wait);
      }
      res.end();
    } finally {
      active--;
    }
  };

  const server: Server = createServer((req, res) => {
    serve(req, res).catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const endpoint = `http://127.0.0.1:${port.toString()}`;
  return {
    url: `${endpoint}${(path ?? DEFAULT_PATH)
      .split('/')
      .map((p) => encodeURIComponent(p))
      .join('/')}`,
    endpoint,
    size,
    requests,
    get heads() {
      return heads;
    },
    get maxConcurrent() {
      return maxConcurrent;
    },
    get active() {
      return active;
    },
    cutOnce(start, afterBytes) {
      cuts.set(start, afterBytes);
    },
    pause() {
      paused ??= new Promise((resolve) => (release = resolve));
    },
    resume() {
      paused = undefined;
      release();
    },
    close: () =>
      new Promise((resolve, reject) => {
        server.closeAllConnections();
        server.close(() => {
          object.close().then(resolve, reject);
        });
      }),
  };
}
