import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { LocalS3 } from '#core/local/s3.ts';

/*
 * S3 Replication between two S3-compatible servers standing in for two regions. What it copies
 * is what a Lifeboat replication rule copies (AWS S3 user guide, "What does Amazon S3 replicate?"):
 * new objects under the rule's prefix, with their user metadata and content type, one object at
 * a time in no promised order (an archive may arrive before or after its manifest), and never a
 * deletion (delete marker replication is off). Each copy is a PutObject in the destination, so
 * the destination's catalog hears of it as "Object Created", as it would from S3.
 */

export interface ReplicateOptions {
  /** Key prefix the rule replicates (the archive prefix). @default 'archives/' */
  readonly prefix?: string;
  /** Copy only these keys (to model lag: what has not arrived yet). @default every key not already copied */
  readonly only?: (key: string) => boolean;
  /** The order objects arrive in. @default 'listing' */
  readonly order?: 'listing' | 'reverse';
  /** Called after each object lands in the destination (the destination's "Object Created" event). */
  readonly onCreated?: (key: string) => Promise<void>;
}

async function* keys(client: S3Client, bucket: string, prefix: string): AsyncGenerator<string> {
  let token: string | undefined;
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    for (const o of page.Contents ?? []) if (o.Key) yield o.Key;
    token = page.NextContinuationToken;
  } while (token);
}

/**
 * One replication pass from `from` to `to`: copies the objects not yet in `to` (S3 replicates
 * each object version once). Returns the keys copied, in arrival order. Objects deleted in
 * `from` stay in `to`.
 */
export async function replicate(from: LocalS3, to: LocalS3, options: ReplicateOptions = {}): Promise<string[]> {
  const prefix = options.prefix ?? 'archives/';
  const present = new Set<string>();
  for await (const key of keys(to.client, to.bucket, prefix)) present.add(key);
  const pending: string[] = [];
  for await (const key of keys(from.client, from.bucket, prefix)) {
    if (!present.has(key) && (options.only?.(key) ?? true)) pending.push(key);
  }
  if (options.order === 'reverse') pending.reverse();
  for (const key of pending) {
    const out = await from.client.send(new GetObjectCommand({ Bucket: from.bucket, Key: key }));
    if (!out.Body) throw new Error(`replicate: no body for ${key}`);
    const body = Buffer.from(await out.Body.transformToByteArray());
    await to.client.send(new PutObjectCommand({ Bucket: to.bucket, Key: key, Body: body, ContentType: out.ContentType, Metadata: out.Metadata }));
    await options.onCreated?.(key);
  }
  return pending;
}
