/**
 * A stand-in for S3 serving one object over HTTP on 127.0.0.1, modelling what makes
 * S3 downloads slow on one connection: each connection is capped (AWS's performance
 * guidelines plan one request per 85–90 MB/s, so the default is 85 MB/s) and every
 * request waits a first-byte latency before its headers. GET with `Range: bytes=a-b`
 * (or `a-`) answers 206 with Content-Range as S3 does; `ignoreRange` makes it answer 200
 * with the whole object, as a server without range support would. Faults: `cut` ends a
 * connection once after some bytes of the range starting at a given byte. It records
 * every request (range asked, bytes sent, whether cut) and the most ranges served at once.
 * S3's request-rate limits, errors (503 SlowDown) and TLS are not modelled.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ThrottledS3Options {
  /** The object every path serves. */
  readonly body: Buffer;
  /** Bytes per second each connection may send. @default 85_000_000 */
  readonly bytesPerSecond?: number;
  /** Milliseconds before a response's headers (S3's first-byte latency). @default 30 */
  readonly firstByteMs?: number;
  /** Answer 200 with the whole object to a Range request. @default false */
  readonly ignoreRange?: boolean;
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
  readonly url: string;
  readonly requests: readonly RangeRequest[];
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

export async function startThrottledS3(options: ThrottledS3Options): Promise<ThrottledS3> {
  const { body, bytesPerSecond = 85_000_000, firstByteMs = 30, ignoreRange = false } = options;
  const requests: RangeRequest[] = [];
  const cuts = new Map<number, number>();
  let active = 0;
  let maxConcurrent = 0;
  let paused: Promise<void> | undefined;
  let release = (): void => undefined;
  const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

  const serve = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (req.method !== 'GET') {
      res.writeHead(405).end();
      return;
    }
    const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    let start = 0;
    let end = body.length - 1;
    let status = 200;
    if (m && !ignoreRange) {
      start = Number(m[1]);
      end = m[2] === '' ? body.length - 1 : Math.min(Number(m[2]), body.length - 1);
      if (start >= body.length || start > end) {
        res.writeHead(416, { 'Content-Range': `bytes */${body.length.toString()}` }).end();
        return;
      }
      status = 206;
    }
    const record: RangeRequest = { start: m ? Number(m[1]) : null, end: m && m[2] !== '' ? Number(m[2]) : null, status, sent: 0, cut: false };
    requests.push(record);
    const cutAfter = m ? cuts.get(start) : undefined;
    if (cutAfter !== undefined) cuts.delete(start);
    await sleep(firstByteMs);
    const headers: Record<string, string> = {
      'Content-Length': (end - start + 1).toString(),
      'Content-Type': 'application/octet-stream',
      'Accept-Ranges': 'bytes',
    };
    if (status === 206) headers['Content-Range'] = `bytes ${start.toString()}-${end.toString()}/${body.length.toString()}`;
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
          const chunk = body.subarray(at, at + n);
          const drained = res.write(chunk);
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
        // The cap: never ahead of bytesPerSecond since the first byte.
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
  return {
    url: `http://127.0.0.1:${port.toString()}/archives/db1/pgdata/archive.tar.gz`,
    requests,
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
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}
