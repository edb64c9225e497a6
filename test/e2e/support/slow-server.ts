import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** An HTTP server on 127.0.0.1 that serves one archive slowly, standing in for S3 on a bad day. */
export interface SlowArchiveServer {
  readonly server: Server;
  /** The archive's URL on this server (any path serves it). */
  url(path: string): string;
  close(): Promise<void>;
}

/**
 * Serves `archive` at ~16 KiB every 250 ms (a download lasts far longer than a test
 * waits); a ranged GET (the host's magic-bytes probe) gets the first 6 bytes at once.
 * `onDownload` is called when a full GET starts.
 */
export async function slowArchiveServer(archive: Buffer, onDownload: () => void = () => undefined): Promise<SlowArchiveServer> {
  const server = createServer((req, res) => {
    if (req.headers.range) {
      res.writeHead(206, { 'content-range': `bytes 0-5/${archive.length.toString()}`, 'content-length': 6 }).end(archive.subarray(0, 6));
      return;
    }
    res.writeHead(200, { 'content-length': archive.length });
    onDownload();
    let offset = 0;
    const timer = setInterval(() => {
      if (offset >= archive.length || res.destroyed) {
        clearInterval(timer);
        res.end();
        return;
      }
      res.write(archive.subarray(offset, offset + 16 * 1024));
      offset += 16 * 1024;
    }, 250);
    res.on('close', () => {
      clearInterval(timer);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port.toString();
  return {
    server,
    url: (path) => `http://127.0.0.1:${port}/${path.replace(/^\//, '')}`,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
