import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { parse } from 'yaml';
import * as z from 'zod';
import { documentPath, type DocumentName } from '../paths.ts';
import { PYTHON_END, assembleScript } from './assemble.ts';

export { CommandDocument, DocumentParameter } from './document-schema.ts';
import { CommandDocument } from './document-schema.ts';

/**
 * The line without a trailing comment written as `code  # words` (two spaces, `#`, a space)
 * outside quotes; any other `#` stays (`${#a[@]}`, `"a # b"`, a pattern).
 */
function withoutTrailingComment(line: string): string {
  let quote = '';
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote === "'") {
      if (c === "'") quote = '';
    } else if (c === '\\') {
      i++;
    } else if (c === '"' || (c === "'" && quote === '')) {
      quote = quote === c ? '' : quote === '' ? c : quote;
    } else if (quote === '' && line.startsWith('  # ', i)) {
      return line.slice(0, i).trimEnd();
    }
  }
  return line;
}

/**
 * The script as it deploys: full-line comments, indentation and blank lines removed.
 * SSM counts a document's content (plus the parameter values) against a 64 KB quota;
 * bash needs none of them. The shebang stays. Lifeboat's scripts hold no multi-line
 * string whose leading spaces matter (the helper's heredoc is a shell script too), but for
 * fetch.py, whose heredoc keeps them.
 */
export function compactScript(script: string): string {
  const [first = '', ...rest] = script.split('\n');
  // Inside a python heredoc (<<'PYTHON' … PYTHON) indentation is syntax: only comments and blank lines go.
  let python = false;
  const body = rest
    .map((line) => {
      // (python's 4-space indentation as 1 space: python needs it consistent, not wide)
      const kept = withoutTrailingComment(
        python ? line.replace(/^[ \t]+(?=#|$)/, '').replace(/^(?: {4})+/, (s) => ' '.repeat(s.length / 4)) : line.replace(/^[ \t]+/, ''),
      );
      if (python && line === PYTHON_END) python = false;
      else if (!python && line.includes(`<<'${PYTHON_END}'`)) python = true;
      return kept;
    })
    .filter((line) => line !== '' && !line.startsWith('#'));
  return [first, ...body].join('\n') + (script.endsWith('\n') && body.length > 0 ? '\n' : '');
}

/**
 * A document as written in `runbooks/<name>/`: a step names its script file
 * (`inputs.scriptFile`) instead of inlining it; everything else is the deployed form.
 */
const SourceDocument = z.looseObject({
  parameters: CommandDocument.shape.parameters,
  mainSteps: z.array(
    z.looseObject({
      inputs: z.looseObject({
        scriptFile: z
          .string()
          .regex(/^[A-Za-z0-9_.-]+\.sh$/)
          .optional(),
      }),
    }),
  ),
});

/** The delimiter of the packed script's heredoc (base64 never holds it). */
const PACKED_END = 'LIFEBOAT_SCRIPT';
/** The descriptor the unpacked (already deleted) script is read through. */
const SCRIPT_FD = 9;

/**
 * The step as it deploys: the script gzipped and base64-encoded inside a few readable
 * lines that unpack it to a file, open it, delete it and `exec` bash on the open file:
 * the same pid (so signals, the pid file and SSM's process-group kill work as before),
 * nothing left on disk, and `ps` shows `lifeboat-<name> /dev/fd/9`. SSM counts the
 * content plus the run's parameter values against 64 KB; packed, the restore document
 * takes about half of what it does as text (docs/architecture.md). The readable script
 * is `loadDocument(name, { packed: false })` (`scripts/runbook-script.ts` prints it), and
 * the sha256 in the header lets an auditor compare what runs with the repository.
 */
export function packScript(name: string, script: string): string {
  if (!/^[a-z][a-z0-9-]{0,40}$/.test(name)) throw new Error(`script name ${name}: lowercase letters, digits and - only`);
  const gz = gzipSync(script, { level: 9 });
  gz[9] = 3; // the gzip header's OS byte: Unix on every build machine, so synth is reproducible
  // Lines of 1,000 characters, not the usual 76: each line break costs 2 bytes of the quota in
  // the document's JSON (about 1 KB less for the restore document); base64 -d reads any length.
  const base64 = gz
    .toString('base64')
    .replace(/.{1,1000}/g, '$&\n')
    .trimEnd();
  const sha256 = createHash('sha256').update(script).digest('hex');
  const fd = SCRIPT_FD.toString();
  return [
    '#!/usr/bin/env bash',
    `# Lifeboat ${name}: runbooks/${name}/ assembled with runbooks/lib/, gzip+base64 to fit SSM's 64 KB quota.`,
    `# sha256 of the script: ${sha256}. Read it: npx tsx scripts/runbook-script.ts ${name}`,
    'set -euo pipefail',
    `f="$(mktemp "\${TMPDIR:-/tmp}/lifeboat-${name}.XXXXXX")"`,
    `base64 -d <<'${PACKED_END}' | gzip -dc >"$f" || { rm -f -- "$f"; exit 1; }`,
    base64,
    PACKED_END,
    `exec ${fd}<"$f"`,
    'rm -f -- "$f"',
    `exec -a lifeboat-${name} bash /dev/fd/${fd} "$@"`,
    '',
  ].join('\n');
}

export interface LoadOptions {
  /** Pack assembled scripts as they deploy (default); false gives the readable script. */
  readonly packed?: boolean;
  /** Strip comments and indentation (default); false keeps them (shellcheck reads its directives there). Only unpacked. */
  readonly compact?: boolean;
}

/**
 * Parses and checks a Command document's text. A step's `scriptFile` (in `dir`, the
 * document's folder) is assembled into one self-contained script, compacted, and
 * packed as it deploys (`packed: false` keeps it readable).
 */
export function parseDocument(text: string, dir?: string, { packed = true, compact = true }: LoadOptions = {}): CommandDocument {
  const source = SourceDocument.parse(parse(text));
  const mainSteps = source.mainSteps.map(({ inputs: { scriptFile, ...inputs }, ...step }) => {
    if (scriptFile === undefined)
      return {
        ...step,
        inputs: { ...inputs, runCommand: Array.isArray(inputs.runCommand) ? inputs.runCommand.map((line) => compactScript(String(line))) : inputs.runCommand },
      };
    if (dir === undefined) throw new Error(`step script ${scriptFile} needs the document's folder`);
    const assembled = assembleScript(join(dir, scriptFile), source.parameters);
    const script = compact || packed ? compactScript(assembled) : assembled;
    return { ...step, inputs: { ...inputs, runCommand: [packed ? packScript(scriptFile.replace(/\.sh$/, ''), script) : script] } };
  });
  return CommandDocument.parse({ ...source, mainSteps });
}

/** Loads and assembles one of Lifeboat's documents from `runbooks/<name>/`. */
export function loadDocument(name: DocumentName, options: LoadOptions = {}): CommandDocument {
  const file = documentPath(name);
  return parseDocument(readFileSync(file, 'utf8'), dirname(file), options);
}

/** A document's script, readable (assembled and compacted, not packed): what runs on the host. */
export function hostScript(name: DocumentName): string {
  return loadDocument(name, { packed: false })
    .mainSteps.flatMap((s) => s.inputs.runCommand)
    .join('\n');
}
