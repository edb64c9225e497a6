import { mkdtemp, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import S3rver from 's3rver';

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
  const s3rver = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory, configureBuckets: [{ name: bucket, configs: [] }] });
  const address = await s3rver.run();
  // s3rver exposes its http.Server as `httpServer` once running.
  const server = (s3rver as unknown as { httpServer?: Server }).httpServer;
  let closedSent = 0;
  let closedReceived = 0;
  const open = new Set<Socket>();
  server?.on('connection', (socket: Socket) => {
    open.add(socket);
    socket.on('close', () => {
      closedSent += socket.bytesWritten;
      closedReceived += socket.bytesRead;
      open.delete(socket);
    });
  });
  const endpoint = `http://127.0.0.1:${address.port}`;
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
      await s3rver.close();
      if (!options.directory) await rm(directory, { recursive: true, force: true });
    },
  };
}
