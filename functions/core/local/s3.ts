import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';

/**
 * s3rver runs in a child Node process of its own: its ListObjectsV2 continuation tokens are DES,
 * which OpenSSL 3 offers only through the legacy provider, so the flag is given to that process
 * alone (Lifeboat's own processes never load the legacy provider). The child prints its port.
 */
const S3RVER_CHILD = `
const [s3rverPath, directory, bucket] = process.argv.slice(1);
const S3rver = require(s3rverPath);
const s3rver = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory, configureBuckets: [{ name: bucket, configs: [] }] });
s3rver.run().then((a) => process.stdout.write(a.port + '\\n'), (e) => { process.stderr.write(String(e)); process.exit(1); });
process.on('SIGTERM', () => s3rver.close().then(() => process.exit(0)));
process.stdin.on('end', () => process.exit(0)).resume();
`;

/** Starts the s3rver child on 127.0.0.1; resolves with its port. It exits when its stdin closes (this process gone). */
async function startS3rverChild(directory: string, bucket: string): Promise<{ child: ChildProcess; port: number }> {
  const s3rverPath = createRequire(import.meta.url).resolve('s3rver');
  const child = spawn(process.execPath, ['--openssl-legacy-provider', '-e', S3RVER_CHILD, s3rverPath, directory, bucket], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH ?? '' },
  });
  let out = '';
  let err = '';
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const line = /^(\d+)\n/.exec(out);
      if (line) resolve(Number(line[1]));
    });
    child.once('exit', (code) => {
      reject(new Error(`s3rver exited (${String(code)}) before listening: ${err.trim()}`));
    });
  });
  return { child, port };
}

/** Credentials s3rver accepts; the host side reads them from its environment like an instance profile. */
export const S3_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
export const REGION = 'us-east-1';

export interface LocalS3 {
  readonly endpoint: string;
  readonly bucket: string;
  readonly client: S3Client;
  /** Environment for host-side scripts (the AWS CLI) to reach this server. */
  readonly hostEnv: Record<string, string>;
  /** Bytes this server has sent so far (all connections): what the host has downloaded. */
  bytesSent(): number;
  /** Bytes this server has received so far: what the host has uploaded. */
  bytesReceived(): number;
  put(key: string, body: Buffer | string): Promise<void>;
  get(key: string): Promise<Buffer>;
  presignGet(key: string, expiresIn?: number): Promise<string>;
  close(): Promise<void>;
}

export interface LocalS3Options {
  /** Keep the objects in this folder (kept on close). @default a temporary folder, removed on close */
  readonly directory?: string;
}

/** Starts an S3-compatible server (s3rver) on 127.0.0.1 with one bucket. */
export async function startLocalS3(bucket = 'lifeboat-archives', options: LocalS3Options = {}): Promise<LocalS3> {
  const directory = options.directory ?? (await mkdtemp(join(tmpdir(), 'lifeboat-s3-')));
  const s3rver = await startS3rverChild(directory, bucket);
  // Clients reach s3rver through this relay, which counts what crosses it (the child's sockets are
  // out of reach): bytes written to a client are what it downloaded, bytes read what it uploaded.
  let closedSent = 0;
  let closedReceived = 0;
  const open = new Set<Socket>();
  const relay = createServer((socket) => {
    open.add(socket);
    const upstream = connect(s3rver.port, '127.0.0.1');
    socket.pipe(upstream).pipe(socket);
    socket.on('error', () => upstream.destroy());
    upstream.on('error', () => socket.destroy());
    socket.on('close', () => {
      upstream.destroy();
      closedSent += socket.bytesWritten;
      closedReceived += socket.bytesRead;
      open.delete(socket);
    });
  });
  relay.listen(0, '127.0.0.1');
  await once(relay, 'listening');
  const endpoint = `http://127.0.0.1:${(relay.address() as AddressInfo).port}`;
  const client = new S3Client({ endpoint, region: REGION, forcePathStyle: true, credentials: S3_CREDENTIALS });
  return {
    endpoint,
    bucket,
    client,
    hostEnv: {
      AWS_ACCESS_KEY_ID: S3_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: S3_CREDENTIALS.secretAccessKey,
      AWS_DEFAULT_REGION: REGION,
      AWS_EC2_METADATA_DISABLED: 'true',
    },
    bytesSent() {
      let total = closedSent;
      for (const socket of open) total += socket.bytesWritten;
      return total;
    },
    bytesReceived() {
      let total = closedReceived;
      for (const socket of open) total += socket.bytesRead;
      return total;
    },
    async put(key, body) {
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
    },
    async get(key) {
      const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      if (!out.Body) throw new Error(`no body for ${key}`);
      return Buffer.from(await out.Body.transformToByteArray());
    },
    presignGet(key, expiresIn = 900) {
      return getSignedUrl(client, new GetObjectCommand({ Bucket: bucket, Key: key }), { expiresIn });
    },
    async close() {
      client.destroy();
      for (const socket of open) socket.destroy();
      await new Promise<void>((resolve) => {
        relay.close(() => {
          resolve();
        });
      });
      if (s3rver.child.exitCode === null && s3rver.child.signalCode === null) {
        const exited = once(s3rver.child, 'exit');
        s3rver.child.kill('SIGTERM');
        await exited;
      }
      if (!options.directory) await rm(directory, { recursive: true, force: true });
    },
  };
}
