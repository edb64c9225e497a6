import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, NoSuchKey, NotFound, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';

/** What HeadObject says about an archive. */
export interface ObjectHead {
  readonly size: number;
  readonly etag?: string;
  readonly versionId?: string;
  readonly lastModified?: string;
}

/** Where archives live: S3, or any S3-compatible store. */
export interface ArchiveStore {
  /** Undefined when the object does not exist (anymore). */
  head(key: string): Promise<ObjectHead | undefined>;
  /** The object's text, or undefined when it does not exist. Refuses objects above `maxBytes`. */
  getText(key: string, maxBytes: number): Promise<string | undefined>;
  /**
   * A short-lived GET URL the host downloads the archive with. With a version id, the URL
   * reads exactly the cataloged version (a later overwrite of the key cannot substitute it).
   */
  presignGet(key: string, expiresInSeconds: number, versionId?: string): Promise<string>;
  /** Every key under a prefix, page by page. */
  listKeys(prefix: string): AsyncIterable<string>;
}

const isNotFound = (e: unknown): boolean =>
  e instanceof NotFound || e instanceof NoSuchKey || (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404;

export class S3ArchiveStore implements ArchiveStore {
  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
  ) {}

  async head(key: string): Promise<ObjectHead | undefined> {
    try {
      const out = await this.s3.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return { size: out.ContentLength ?? 0, etag: out.ETag, versionId: out.VersionId, lastModified: out.LastModified?.toISOString() };
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  async getText(key: string, maxBytes: number): Promise<string | undefined> {
    try {
      const out = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key, Range: `bytes=0-${maxBytes}` }));
      const text = (await out.Body?.transformToString('utf8')) ?? '';
      if (Buffer.byteLength(text) > maxBytes) throw new Error(`${key} is larger than ${maxBytes} bytes`);
      return text;
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  presignGet(key: string, expiresInSeconds: number, versionId?: string): Promise<string> {
    // "null" is S3's id for an object written before versioning was enabled: a plain GET reads it.
    const VersionId = versionId && versionId !== 'null' ? versionId : undefined;
    return getSignedUrl(this.s3, new GetObjectCommand({ Bucket: this.bucket, Key: key, VersionId }), { expiresIn: expiresInSeconds });
  }

  async *listKeys(prefix: string): AsyncIterable<string> {
    let token: string | undefined;
    do {
      const out = await this.s3.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }));
      for (const o of out.Contents ?? []) if (o.Key) yield o.Key;
      token = out.IsTruncated ? out.NextContinuationToken : undefined;
    } while (token);
  }
}
