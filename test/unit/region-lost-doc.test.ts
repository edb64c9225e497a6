/**
 * The region-lost runbook (docs/region-lost.md) is followed by someone under pressure, copying
 * its commands: every `lifeboat …` command it shows, in code blocks and in the text, must parse
 * with the CLI's own definition (cli/main.ts, run with parseOnly: the commands and options, and
 * each argument's checks, are the real ones; nothing runs).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ROOT } from '#core/paths.ts';
import { main, type Io } from '#root/cli/main.ts';
import { EXIT } from '#root/cli/errors.ts';

const DOC = readFileSync(join(ROOT, 'docs/region-lost.md'), 'utf8');

/** Shell words of a command line: quotes group, a `#` after a space starts a comment. */
function words(line: string): string[] {
  const out: string[] = [];
  let word: string | undefined;
  let quote: string | undefined;
  for (const c of line) {
    if (quote !== undefined) {
      if (c === quote) quote = undefined;
      else word = (word ?? '') + c;
    } else if (c === "'" || c === '"') {
      quote = c;
      word = word ?? '';
    } else if (/\s/.test(c)) {
      if (word !== undefined) out.push(word);
      word = undefined;
    } else if (c === '#' && word === undefined) break;
    else word = (word ?? '') + c;
  }
  if (quote !== undefined) throw new Error(`unclosed quote in: ${line}`);
  if (word !== undefined) out.push(word);
  return out;
}

/** Every `lifeboat …` command line of a Markdown text: lines of its code blocks, and inline code spans. */
function lifeboatCommands(markdown: string): string[] {
  const commands: string[] = [];
  const blocks = [...markdown.matchAll(/^\s*```[a-z]*\n([\s\S]*?)^\s*```/gm)].map((m) => m[1] ?? '');
  for (const block of blocks)
    for (const raw of block.split('\n')) {
      const line = raw.trim().replace(/^\$ /, '');
      if (/^(npx )?lifeboat\s/.test(line)) commands.push(line);
    }
  const prose = markdown.replace(/^\s*```[a-z]*\n[\s\S]*?^\s*```/gm, '');
  for (const m of prose.matchAll(/`((?:npx )?lifeboat\s[^`]*)`/g)) commands.push((m[1] ?? '').replace(/\s+/g, ' ').trim());
  return commands;
}

async function parse(line: string): Promise<{ code: number; err: string }> {
  const argv = words(line);
  const stderr = new PassThrough();
  let err = '';
  stderr.on('data', (c: Buffer) => (err += c.toString()));
  const io: Io = {
    stdout: new PassThrough(),
    stderr: stderr as unknown as NodeJS.WriteStream,
    stdin: new PassThrough() as unknown as NodeJS.ReadStream,
    env: {},
  };
  const code = await main(argv.slice(argv[0] === 'npx' ? 2 : 1), io, { parseOnly: true });
  return { code, err };
}

describe('docs/region-lost.md: every lifeboat command shown is one the CLI takes', () => {
  const commands = lifeboatCommands(DOC);

  it('finds the runbook’s commands (volumes, archives, plan, restore, recover, backup, drill, status, in both regions)', () => {
    expect(commands.length).toBeGreaterThanOrEqual(15);
    for (const verb of ['volumes', 'archives', 'plan', 'restore', 'recover', 'backup', 'drill', 'status'])
      expect(
        commands.some((c) => words(c).includes(verb)),
        verb,
      ).toBe(true);
    expect(commands.some((c) => c.includes('--region eu-west-1'))).toBe(true);
    expect(commands.some((c) => c.includes('--region eu-central-1'))).toBe(true);
  });

  it.each(lifeboatCommands(DOC))('%s', async (line) => {
    const r = await parse(line);
    expect(r.err).toBe('');
    expect(r.code).toBe(EXIT.ok);
  });

  it('the check can fail: an unknown command, an unknown option, a bad argument are caught', async () => {
    expect((await parse('lifeboat --region eu-west-1 latest pgdata')).err).toContain("unknown command 'latest'");
    expect((await parse('lifeboat --region eu-west-1 volumes --stack LifeboatDr')).err).toContain("unknown option '--stack'");
    const bad = await parse('lifeboat --region eu-west-1 status <restore-id> --source app1');
    expect(bad.code).toBe(EXIT.usage);
    expect(bad.err).toContain('is not allowed');
    expect(lifeboatCommands('```bash\nlifeboat volumes  # all of them\n```\nthen `lifeboat archives\npgdata --source app1`.')).toEqual([
      'lifeboat volumes  # all of them',
      'lifeboat archives pgdata --source app1',
    ]);
  });
});
