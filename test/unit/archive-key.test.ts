import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decodeEventKey, parseArchiveKey } from '#core/archive-key.ts';

describe('parseArchiveKey', () => {
  it('reads source, volume, time and compression', () => {
    expect(parseArchiveKey('archives/db-1.prod/pgdata/20261127T031500Z.tar.zst')).toEqual({
      ok: true,
      archive: {
        key: 'archives/db-1.prod/pgdata/20261127T031500Z.tar.zst',
        prefix: 'archives',
        source: 'db-1.prod',
        volume: 'pgdata',
        takenAt: '2026-11-27T03:15:00Z',
        compression: 'zstd',
      },
    });
    expect(parseArchiveKey('archives/h/v/20260101T000000Z.tgz')).toMatchObject({ ok: true, archive: { compression: 'gzip' } });
    expect(parseArchiveKey('archives/h/v/20260101T000000Z.tar')).toMatchObject({ ok: true, archive: { compression: 'none' } });
  });

  it('recognises the manifest beside an archive', () => {
    expect(parseArchiveKey('archives/h/v/20260101T000000Z.tar.zst.manifest.json')).toEqual({ ok: true, manifestOf: 'archives/h/v/20260101T000000Z.tar.zst' });
  });

  it.each([
    ['pgdata-20261127.tar.gz', 'path segments'],
    ['other/h/v/20260101T000000Z.tar.gz', 'outside the archives/ prefix'],
    ['archives/../v/20260101T000000Z.tar.gz', 'source segment'],
    ['archives/h/v w/20260101T000000Z.tar.gz', 'volume segment'],
    ['archives/h/-v/20260101T000000Z.tar.gz', 'volume segment'],
    ['archives/h/v/20261345T000000Z.tar.gz', 'not a real time'],
    ['archives/h/v/20260101T000000Z.zip', 'file name'],
    ['archives/h/v/x/20260101T000000Z.tar.gz', 'path segments'],
    [`archives/h/v/${'a'.repeat(1100)}`, 'longer than 1024'],
  ])('skips %j with a reason (%s)', (key, reason) => {
    const parsed = parseArchiveKey(key);
    expect(parsed.ok).toBe(false);
    expect(parsed.ok ? '' : parsed.reason).toContain(reason);
  });

  it('property: never throws, and anything accepted has safe segments', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (key) => {
        const parsed = parseArchiveKey(key);
        if (parsed.ok && 'archive' in parsed) {
          expect(parsed.archive.source).toMatch(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/);
          expect(parsed.archive.volume).toMatch(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/);
        }
      }),
      { numRuns: 3000 },
    );
  });
});

describe('decodeEventKey', () => {
  it('decodes S3 event encoding (+ is a space)', () => {
    expect(decodeEventKey('archives/h/my+vol/20260101T000000Z.tar.gz')).toBe('archives/h/my vol/20260101T000000Z.tar.gz');
    expect(decodeEventKey('archives/h/v%C3%A9/x')).toBe('archives/h/vé/x');
  });
  it('returns undefined for malformed encoding', () => {
    expect(decodeEventKey('archives/%E0%A4%A')).toBeUndefined();
  });
});
