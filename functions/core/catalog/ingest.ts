import { CLOCK_SKEW_ALLOWANCE_SECONDS, decodeEventKey, manifestKeyOf, parseArchiveKey } from '../archive-key.ts';
import type { ArchiveStore, ObjectHead } from '../archive-store.ts';
import { ArchiveManifest } from '../manifest.ts';
import { ArchiveVersionConflictError, type ArchiveEntry, type Catalog } from './model.ts';

export interface IngestDeps {
  readonly store: ArchiveStore;
  readonly catalog: Catalog;
  /** Key prefix of the archive convention. @default 'archives' */
  readonly prefix?: string;
  readonly now?: () => Date;
  /** Told why a key was skipped or a manifest ignored (the handler logs it). */
  readonly warn?: (message: string, details: Record<string, unknown>) => void;
  /**
   * The bucket `store` reads: an event naming another bucket is skipped, never looked up in this
   * one (in the DR region this is the replica bucket, whose own events feed its catalog).
   * @default - events are not checked
   */
  readonly bucket?: string;
}

export type IngestOutcome =
  | { readonly action: 'cataloged'; readonly key: string; readonly withManifest: boolean }
  | { readonly action: 'deleted'; readonly key: string }
  | { readonly action: 'skipped'; readonly key: string; readonly reason: string };

/** A manifest is small; anything bigger is not one. */
const MAX_MANIFEST_BYTES = 64 * 1024;

/** Equal as JSON whatever the order of keys (DynamoDB keeps none in a map). */
const sameJson = (a: unknown, b: unknown): boolean => {
  const sorted = (_: string, v: unknown): unknown =>
    v !== null && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))) : v;
  return JSON.stringify(a ?? null, sorted) === JSON.stringify(b ?? null, sorted);
};

const skip = (deps: IngestDeps, key: string, reason: string): IngestOutcome => {
  deps.warn?.('skipped object', { key, reason });
  return { action: 'skipped', key, reason };
};

/**
 * Why an archive's key time is not believed, or undefined when it is. The key is written by the
 * host, which can name any time; S3 sets LastModified when the object was written. A backup's
 * time comes before its upload, so a key dated after LastModified by more than the clock skew
 * allowance was not taken then: cataloged, it would be "latest" for restores, drills and
 * recovery plans, and look fresh, until the time it claims. Without a LastModified (a store that
 * gives none), this ingest's own clock stands in for it.
 */
function futureKeyProblem(takenAt: string, head: ObjectHead, now: Date): string | undefined {
  const modified = head.lastModified === undefined ? Number.NaN : Date.parse(head.lastModified);
  const [reference, what] = Number.isNaN(modified) ? [now.getTime(), 'this ingest ran'] : [modified, 'S3 last modified it'];
  const aheadMs = Date.parse(takenAt) - reference;
  if (aheadMs <= CLOCK_SKEW_ALLOWANCE_SECONDS * 1000) return undefined;
  return (
    `the key's time ${takenAt} is ${Math.floor(aheadMs / 1000).toString()} s in the future of its upload (${new Date(reference).toISOString()}, when ${what}; ` +
    `${CLOCK_SKEW_ALLOWANCE_SECONDS.toString()} s allowed for clock skew): a suspected attempt to pin "latest", not cataloged`
  );
}

/**
 * An object was created under the archive bucket: catalog the archive it is (or
 * the archive whose manifest it is). `encodedKey` is as S3 events carry it.
 */
export async function ingestCreated(deps: IngestDeps, encodedKey: string, options: { decoded?: boolean } = {}): Promise<IngestOutcome> {
  const key = options.decoded ? encodedKey : decodeEventKey(encodedKey);
  if (key === undefined) return skip(deps, encodedKey.slice(0, 300), 'key is not valid URL encoding');
  const parsed = parseArchiveKey(key, deps.prefix);
  if (!parsed.ok) return skip(deps, key.slice(0, 300), parsed.reason);
  const archiveKey = 'manifestOf' in parsed ? parsed.manifestOf : parsed.archive.key;
  const archive = parseArchiveKey(archiveKey, deps.prefix);
  if (!archive.ok || !('archive' in archive)) return skip(deps, key, 'not an archive');
  const head = await deps.store.head(archiveKey);
  if (!head) return skip(deps, archiveKey, 'the archive does not exist (deleted, or its manifest arrived first)');
  const future = futureKeyProblem(archive.archive.takenAt, head, deps.now?.() ?? new Date());
  if (future !== undefined) return skip(deps, archiveKey, future);
  const manifest = await readManifest(deps, archiveKey);
  // Seen again (its manifest arrived, a redelivered event, reconcile): the same version keeps when
  // it was first cataloged here (its arrival: the freshness check's lag), and its drill proof while
  // the manifest is the one the drill ran with (a rewritten manifest changes what a restore does).
  const known = await deps.catalog.getArchive(archiveKey);
  const same = known !== undefined && known.deletedAt === undefined && known.versionId === head.versionId ? known : undefined;
  // The first cataloged manifest is the archive's: a host can rewrite (or remove) it, never the entry's.
  if (same?.manifest !== undefined && !sameJson(same.manifest, manifest)) {
    return skip(deps, archiveKey, `the manifest of ${archiveKey} changed after it was cataloged: a suspected substitution, the cataloged manifest stays`);
  }
  const drillStillHolds = same?.lastDrill !== undefined && sameJson(same.manifest, manifest);
  const entry: ArchiveEntry = {
    key: archiveKey,
    source: archive.archive.source,
    volume: archive.archive.volume,
    takenAt: archive.archive.takenAt,
    compression: archive.archive.compression,
    size: head.size,
    catalogedAt: same?.catalogedAt ?? (deps.now?.() ?? new Date()).toISOString(),
    ...(head.etag ? { etag: head.etag } : {}),
    ...(head.versionId ? { versionId: head.versionId } : {}),
    ...(manifest ? { manifest, sha256: manifest.sha256 } : {}),
    ...(drillStillHolds && same.lastDrill ? { lastDrill: same.lastDrill } : {}),
  };
  try {
    await deps.catalog.putArchive(entry);
  } catch (e) {
    // Logged as a warning (the function's logs and its errors alarm are where an operator looks).
    if (e instanceof ArchiveVersionConflictError) return skip(deps, archiveKey, e.message);
    throw e;
  }
  return { action: 'cataloged', key: archiveKey, withManifest: manifest !== undefined };
}

/** A manifest that does not parse or names another archive is ignored, never trusted. */
async function readManifest(deps: IngestDeps, archiveKey: string): Promise<ArchiveManifest | undefined> {
  const manifestKey = manifestKeyOf(archiveKey);
  let text: string | undefined;
  try {
    text = await deps.store.getText(manifestKey, MAX_MANIFEST_BYTES);
  } catch (e) {
    deps.warn?.('manifest ignored', { key: manifestKey, reason: e instanceof Error ? e.message : 'unreadable' });
    return undefined;
  }
  if (text === undefined) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    deps.warn?.('manifest ignored', { key: manifestKey, reason: 'not JSON' });
    return undefined;
  }
  const parsed = ArchiveManifest.safeParse(json);
  if (!parsed.success) {
    deps.warn?.('manifest ignored', {
      key: manifestKey,
      reason: parsed.error.issues
        .slice(0, 3)
        .map((i) => `${i.path.join('.')}: ${i.message}`)
        .join('; '),
    });
    return undefined;
  }
  if (parsed.data.archiveKey !== archiveKey) {
    deps.warn?.('manifest ignored', { key: manifestKey, reason: `it describes ${parsed.data.archiveKey.slice(0, 200)}` });
    return undefined;
  }
  return parsed.data;
}

/** An object was deleted: its catalog entry is marked deleted (a deleted manifest leaves the archive cataloged). */
export async function ingestDeleted(deps: IngestDeps, encodedKey: string): Promise<IngestOutcome> {
  const key = decodeEventKey(encodedKey);
  if (key === undefined) return skip(deps, encodedKey.slice(0, 300), 'key is not valid URL encoding');
  const parsed = parseArchiveKey(key, deps.prefix);
  if (!parsed.ok) return skip(deps, key.slice(0, 300), parsed.reason);
  if ('manifestOf' in parsed) return skip(deps, key, 'a manifest was deleted; its archive stays cataloged');
  const marked = await deps.catalog.markArchiveDeleted(key, (deps.now?.() ?? new Date()).toISOString());
  return marked ? { action: 'deleted', key } : skip(deps, key, 'not cataloged, or already marked deleted');
}

export interface ReconcileReport {
  readonly listed: number;
  readonly cataloged: number;
  readonly skipped: number;
}

/** Rebuilds the catalog from a bucket listing (buckets that predate Lifeboat; repair). */
export async function reconcile(deps: IngestDeps): Promise<ReconcileReport> {
  const prefix = `${deps.prefix ?? 'archives'}/`;
  let listed = 0;
  let cataloged = 0;
  let skipped = 0;
  for await (const key of deps.store.listKeys(prefix)) {
    listed++;
    if (key.endsWith('.manifest.json')) continue; // cataloged with its archive
    const outcome = await ingestCreated(deps, key, { decoded: true });
    if (outcome.action === 'cataloged') cataloged++;
    else skipped++;
  }
  return { listed, cataloged, skipped };
}
