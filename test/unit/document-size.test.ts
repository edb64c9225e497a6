import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { DOCUMENTS, ROOT } from '#core/paths.ts';
import { compactScript, hostScript, loadDocument, packScript } from '#core/runbooks/document.ts';
import { DATA_DOCUMENTS } from '../support/bash.ts';

/** SSM's quota for a document's content plus the parameter values of one run (MaxDocumentSizeExceeded). */
const SSM_DOCUMENT_QUOTA = 64 * 1024;

/**
 * The longest string an allow pattern accepts, for the pattern forms the documents use
 * (literals, escapes, classes, groups with alternatives, ?, {n}, {m,n}). Unbounded
 * repeats (+, *) need maxChars, so they count as Infinity here.
 */
export function longestMatch(pattern: string): number {
  let i = 0;
  const atom = (): number => {
    const c = pattern[i];
    if (c === '(') {
      i++;
      const n = alternatives();
      i++; // ')'
      return n;
    }
    if (c === '[') {
      i = pattern.indexOf(']', i + 2) + 1;
      return 1;
    }
    if (c === '\\') {
      i += 2;
      return 1;
    }
    i++;
    return c === '^' || c === '$' ? 0 : 1;
  };
  const quantified = (): number => {
    const n = atom();
    const q = pattern[i];
    if (q === '?') return (i++, n);
    if (q === '+' || q === '*') return (i++, Infinity);
    if (q === '{') {
      const end = pattern.indexOf('}', i);
      const [, max = ''] = /^\{(?:\d+,)?(\d+)\}$/.exec(pattern.slice(i, end + 1)) ?? [];
      i = end + 1;
      return n * Number(max);
    }
    return n;
  };
  const sequence = (): number => {
    let total = 0;
    while (i < pattern.length && pattern[i] !== '|' && pattern[i] !== ')') total += quantified();
    return total;
  };
  const alternatives = (): number => {
    let best = sequence();
    while (pattern[i] === '|') {
      i++;
      best = Math.max(best, sequence());
    }
    return best;
  };
  return alternatives();
}

describe('SSM document size', () => {
  it('reads the longest value of the allow patterns used', () => {
    expect(longestMatch('^([a-f0-9]{64})?$')).toBe(64);
    expect(longestMatch('^(fail|preserve)$')).toBe(8);
    expect(longestMatch('^((/[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}){2,16})?$')).toBe(16 * 65);
    expect(longestMatch('^[a-z]+$')).toBe(Infinity);
  });

  it.each(DOCUMENTS)('%s: the deployed content plus the largest parameter values stays under the 64 KB quota with room to grow', (name) => {
    const doc = loadDocument(name);
    const content = Buffer.byteLength(JSON.stringify(doc));
    let values = 0;
    for (const [param, spec] of Object.entries(doc.parameters)) {
      const longest = spec.maxChars ?? longestMatch(spec.allowedPattern);
      expect(longest, `${param} needs maxChars (its pattern is unbounded)`).toBeLessThan(Infinity);
      values += longest;
    }
    // 1 KB kept free: the next change should have to think about size, not discover it in production.
    expect(content + values, `${name}: ${content.toString()} bytes of content + ${values.toString()} of values`).toBeLessThanOrEqual(SSM_DOCUMENT_QUOTA - 1024);
  });

  it('compaction keeps the shebang and every line of code, and drops only comments, indentation and blank lines', () => {
    const script =
      '#!/usr/bin/env bash\n  # why\n\n  set -e\n    printf "%s  # not a comment" x  # trailing goes\n  echo \'a  # b\' "${#x[@]}" \\"  # c\n  f() {  # NAME\n';
    expect(compactScript(script)).toBe('#!/usr/bin/env bash\nset -e\nprintf "%s  # not a comment" x\necho \'a  # b\' "${#x[@]}" \\"\nf() {\n');
  });

  it('compaction keeps a python heredoc python: its indentation (at 1 space a level), not its comments', () => {
    const script =
      "#!/usr/bin/env bash\nread -r -d '' X <<'PYTHON' || :\n# doc\nif a:  # why\n    b = '#'\n\n    # note\n    if c:\n        d()\nPYTHON\n  echo\n";
    expect(compactScript(script)).toBe("#!/usr/bin/env bash\nread -r -d '' X <<'PYTHON' || :\nif a:\n b = '#'\n if c:\n  d()\nPYTHON\necho\n");
  });
});

describe('packed scripts (the deployed form)', () => {
  it.each(DOCUMENTS)('%s: the deployed step unpacks to exactly the readable script, and its header names its sha256', (name) => {
    const deployed = loadDocument(name)
      .mainSteps.flatMap((s) => s.inputs.runCommand)
      .join('\n');
    const readable = hostScript(name);
    const base64 = /<<'LIFEBOAT_SCRIPT'[^\n]*\n([A-Za-z0-9+/=\n]+)\nLIFEBOAT_SCRIPT\n/.exec(deployed)?.[1] ?? '';
    expect(gunzipSync(Buffer.from(base64, 'base64')).toString('utf8')).toBe(readable);
    expect(deployed).toContain(`sha256 of the script: ${createHash('sha256').update(readable).digest('hex')}`);
  });

  it('runs the script it carries with the same pid, arguments, environment and exit status, named in ps, leaving no file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lifeboat-packed-'));
    const file = join(dir, 'packed.sh');
    writeFileSync(file, packScript('t', '#!/usr/bin/env bash\necho "$$ $1 $2 ${SSM_X}"; tr "\\0" " " </proc/$$/cmdline; echo; ls "$TMPDIR"; exit 7\n'));
    const tmp = mkdtempSync(join(tmpdir(), 'lifeboat-packed-tmp-'));
    const run = spawnSync('bash', ['-c', 'bash "$1" a "b c" & p=$!; wait $p; echo "rc=$? pid=$p"', 'x', file], {
      encoding: 'utf8',
      env: { ...process.env, SSM_X: 'x y', TMPDIR: tmp },
    });
    const [line = '', cmdline = '', rc = ''] = run.stdout.trim().split('\n');
    const pid = rc.replace(/.*pid=/, '');
    expect(line).toBe(`${pid} a b c x y`);
    expect(cmdline.trim()).toBe('lifeboat-t /dev/fd/9 a b c');
    expect(rc).toBe(`rc=7 pid=${pid}`); // and `ls "$TMPDIR"` printed nothing: the unpacked file is gone
    expect(readdirSync(tmp)).toEqual([]);
  });
});

describe('host path denylist', () => {
  it('is written once, in runbooks/lib, and both documents deploy it', () => {
    const lib = readFileSync(join(ROOT, 'runbooks/lib/params.sh'), 'utf8');
    // Compared with runs of white space as one space: assembly drops the list's indentation.
    const oneLine = (text: string): string => text.replace(/\s+/g, ' ');
    const list = oneLine(/^SYSTEM_DIRS=\([^)]*\)/m.exec(lib)?.[0] ?? '');
    expect(list).toContain(' /home ');
    expect(list).toContain(' /tmp');
    expect(list).toContain(' /var/backups ');
    for (const name of DATA_DOCUMENTS) {
      const script = hostScript(name);
      expect(oneLine(script).split(list).length - 1, name).toBe(1);
    }
  });
});
