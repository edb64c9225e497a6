import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '#core/paths.ts';

/** Every test file under test/, by base name (a name may exist in more than one folder). */
function testFiles(): Map<string, string[]> {
  const files = new Map<string, string[]>();
  for (const folder of ['unit', 'integration', 'e2e']) {
    for (const name of readdirSync(join(ROOT, 'test', folder)).filter((n) => n.endsWith('.test.ts'))) {
      files.set(name, [...(files.get(name) ?? []), readFileSync(join(ROOT, 'test', folder, name), 'utf8')]);
    }
  }
  return files;
}

describe('SECURITY.md', () => {
  const doc = readFileSync(join(ROOT, 'SECURITY.md'), 'utf8');
  const rows = doc.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| threat') && !l.startsWith('| asset') && l.split('|').length === 5);

  it('maps threats to controls to tests, and every test it names exists with that title', () => {
    const files = testFiles();
    let checked = 0;
    const missing: string[] = [];
    expect(rows.length).toBeGreaterThan(15);
    for (const row of rows) {
      const testsCell = row.split('|')[3] ?? '';
      expect(testsCell.trim(), row.slice(0, 80)).not.toBe('');
      // "`file.test.ts` (e2e) › title one; title two; `other.test.ts` › title"
      for (const part of testsCell.split(/(?=`[a-z0-9-]+\.test\.ts`)/)) {
        const file = /`([a-z0-9-]+\.test\.ts)`/.exec(part)?.[1];
        if (!file) continue;
        const sources = files.get(file);
        expect(sources, `SECURITY.md names ${file}, which does not exist`).toBeDefined();
        const titles = part.split('›')[1]?.split(';') ?? [];
        for (const raw of titles) {
          const title =
            raw
              .trim()
              .replace(/\s*\([^()]*\)$/, '')
              .split('…')[0]
              ?.replace(/`/g, '')
              .trim() ?? '';
          if (title.length < 8) continue;
          const plain = (t: string): string => t.replace(/[’‘]/g, "'");
          if (!sources?.some((src) => plain(src).includes(plain(title)))) missing.push(`${file}: ${title}`);
          checked++;
        }
      }
    }
    expect(missing, 'SECURITY.md names tests that do not exist').toEqual([]);
    expect(checked).toBeGreaterThan(40);
  });
});
