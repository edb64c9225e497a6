/** Compression implied by an archive's file name. */
export type KeyCompression = 'gzip' | 'zstd' | 'none';

/** What an archive key says about the archive. */
export interface ArchiveKey {
  readonly key: string;
  readonly prefix: string;
  /** The host or application the volume came from. */
  readonly source: string;
  readonly volume: string;
  /** When the backup was taken, ISO 8601 UTC (`2026-11-27T03:15:00Z`). */
  readonly takenAt: string;
  readonly compression: KeyCompression;
}

export type KeyParse =
  { readonly ok: true; readonly archive: ArchiveKey } | { readonly ok: true; readonly manifestOf: string } | { readonly ok: false; readonly reason: string };

/** Names the convention allows: the same patterns the runbooks enforce. */
export const SOURCE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
export const VOLUME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/;
export const PREFIX_PATTERN = /^[a-z0-9][a-z0-9_-]{0,63}$/;

/**
 * How far an archive's key time may lie ahead of the clock it is judged against (S3's LastModified
 * at ingest, now in the freshness check) and still count as clock skew: a host's clock a little
 * ahead. Beyond it the time is not believed: keys are written by the backed-up hosts, and a key
 * dated in the future would stay "latest" and look fresh for as long as it claims.
 */
export const CLOCK_SKEW_ALLOWANCE_SECONDS = 5 * 60;

const MANIFEST_SUFFIX = '.manifest.json';
const FILE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z\.(tar\.gz|tgz|tar\.zst|tar)$/;
const COMPRESSION: Record<string, KeyCompression> = { 'tar.gz': 'gzip', tgz: 'gzip', 'tar.zst': 'zstd', tar: 'none' };

/** Decodes a key as S3 puts it in event notifications (URL-encoded, `+` for space). */
export function decodeEventKey(encoded: string): string | undefined {
  try {
    return decodeURIComponent(encoded.replace(/\+/g, ' '));
  } catch {
    return undefined;
  }
}

/**
 * Parses `<prefix>/<source>/<volume>/<YYYYMMDDTHHMMSSZ>.tar.<gz|zst>` (also
 * `.tgz` and plain `.tar`), or the manifest beside one. Anything else gets a
 * reason, never an exception.
 */
export function parseArchiveKey(key: string, prefix = 'archives'): KeyParse {
  if (key.length > 1024) return { ok: false, reason: 'key is longer than 1024 characters' };
  if (key.endsWith(MANIFEST_SUFFIX)) {
    const archive = parseArchiveKey(key.slice(0, -MANIFEST_SUFFIX.length), prefix);
    return archive.ok && 'archive' in archive ? { ok: true, manifestOf: archive.archive.key } : archive;
  }
  const parts = key.split('/');
  if (parts.length !== 4) return { ok: false, reason: `expected ${prefix}/<source>/<volume>/<UTC timestamp>.tar.<gz|zst>, got ${parts.length} path segments` };
  const [first, source, volume, file] = parts as [string, string, string, string];
  if (first !== prefix) return { ok: false, reason: `key is outside the ${prefix}/ prefix` };
  if (!SOURCE_PATTERN.test(source)) return { ok: false, reason: 'source segment must match [A-Za-z0-9][A-Za-z0-9_.-]{0,62}' };
  if (!VOLUME_PATTERN.test(volume)) return { ok: false, reason: 'volume segment must match [A-Za-z0-9][A-Za-z0-9_.-]{0,99}' };
  const m = FILE.exec(file);
  if (!m) return { ok: false, reason: 'file name must be <YYYYMMDDTHHMMSSZ>.tar.gz, .tgz, .tar.zst or .tar' };
  const [, y, mo, d, h, mi, s, ext] = m as unknown as [string, string, string, string, string, string, string, string];
  const takenAt = `${y}-${mo}-${d}T${h}:${mi}:${s}Z`;
  const date = new Date(takenAt);
  if (Number.isNaN(date.getTime()) || date.toISOString().slice(0, 19) !== takenAt.slice(0, 19)) {
    return { ok: false, reason: `timestamp ${y}${mo}${d}T${h}${mi}${s}Z is not a real time` };
  }
  return { ok: true, archive: { key, prefix, source, volume, takenAt, compression: COMPRESSION[ext] ?? 'none' } };
}

/** The manifest key beside an archive. */
export const manifestKeyOf = (archiveKey: string): string => `${archiveKey}${MANIFEST_SUFFIX}`;
