/**
 * The by-hand runbooks (`runbooks/*-by-hand.md`) as a test runs them: their ```bash
 * blocks in page order. A block's info string says what it is:
 * - `bash`: runs exactly as written;
 * - `bash values`: the one block a reader edits (`NAME=value` lines); a test gives its
 *   own values for exactly the same names;
 * - `bash ssm`: needs the SSM API, which has no local server; it must call `aws ssm`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '#core/paths.ts';
import { bashQuote } from '#core/runbooks/assemble.ts';

export type BlockKind = 'run' | 'values' | 'ssm';

export interface PageBlock {
  /** The `## ` heading the block sits under ('' before the first). */
  readonly section: string;
  readonly kind: BlockKind;
  readonly code: string;
}

const FENCE = /^```(\S*)(?: (\S+))?\n([\s\S]*?)^```$/gm;

/** Every fenced block of a by-hand page, in order. Refuses a block it would not know how to run. */
export function pageBlocks(page: string): PageBlock[] {
  const text = readFileSync(join(ROOT, 'runbooks', page), 'utf8');
  const blocks: PageBlock[] = [];
  for (const match of text.matchAll(FENCE)) {
    const [, lang = '', tag, code = ''] = match;
    const before = text.slice(0, match.index);
    const section = [...before.matchAll(/^## (.+)$/gm)].at(-1)?.[1] ?? '';
    if (lang !== 'bash') throw new Error(`${page}: a \`\`\`${lang} block; by-hand pages hold bash blocks only, so a test can run them`);
    const kind: BlockKind = tag === undefined ? 'run' : tag === 'values' ? 'values' : tag === 'ssm' ? 'ssm' : unknownTag(page, tag);
    blocks.push({ section, kind, code });
  }
  return blocks;
}

function unknownTag(page: string, tag: string): never {
  throw new Error(`${page}: unknown block tag "${tag}" (allowed: none, values, ssm)`);
}

/** The variable names a `values` block sets, in order. */
export function valueNames(block: PageBlock): string[] {
  return [...block.code.matchAll(/^([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1] ?? '');
}

/**
 * One bash program from blocks: `run` blocks verbatim, a `values` block replaced by
 * `values` (which must set exactly the block's names), `ssm` blocks left out.
 */
export function programOf(blocks: readonly PageBlock[], values: Readonly<Record<string, string>>): string {
  const parts = ['set -euo pipefail'];
  for (const block of blocks) {
    if (block.kind === 'ssm') continue;
    if (block.kind === 'values') {
      const names = valueNames(block);
      if (names.join(' ') !== Object.keys(values).join(' ')) {
        throw new Error(`the page's values block sets ${names.join(' ')}; the test gives ${Object.keys(values).join(' ')}`);
      }
      parts.push(names.map((name) => `${name}=${bashQuote(values[name] ?? '')}`).join('\n'));
    } else {
      parts.push(block.code);
    }
  }
  return parts.join('\n');
}
