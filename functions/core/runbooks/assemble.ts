import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { engineBashScript } from '../engines/bash.ts';
import type { DocumentParameter } from './document-schema.ts';

/** `source "$(dirname -- "${BASH_SOURCE[0]}")/FILE"`: a shared file, inlined at assembly. */
const SOURCE_LINE = /^source "\$\(dirname -- "\$\{BASH_SOURCE\[0\]\}"\)\/([^"]+)"$/;
/** `read -r -d '' VAR <"$(dirname -- "${BASH_SOURCE[0]}")/FILE" …`: a file read into a variable, inlined as a heredoc. */
const READ_LINE = /^(read -r -d '' [A-Z_]+ )<"\$\(dirname -- "\$\{BASH_SOURCE\[0\]\}"\)\/([^"]+)"(.*)$/;
/** Where the parameter tables go: empty in the raw script, generated from the document. */
const TABLES_LINE = 'declare -A PATTERN=() MAXCHARS=()';
/** The same for a script that checks patterns only (no lengths): the PATTERN table alone. */
const PATTERN_LINE = 'declare -A PATTERN=()';
const HEREDOC_END = 'HELPER';
/** A python file's heredoc ends here instead; compaction keeps its lines' indentation (python's syntax). */
export const PYTHON_END = 'PYTHON';
/** Where the engine profiles go (tables and functions): generated from functions/core/engines/. */
const ENGINES_LINE = 'declare -a ENGINE_NAMES=()';

/** A value as one bash word, exactly as bash will see it. */
export function bashQuote(value: string): string {
  return value.includes("'") ? `"${value.replace(/[\\"$`]/g, '\\$&')}"` : `'${value}'`;
}

/**
 * The script's `PATTERN` and `MAXCHARS` tables (or `PATTERN` alone), from the document's parameters:
 * the host re-checks exactly what SSM checks, and the two cannot drift.
 */
export function parameterTables(parameters: Readonly<Record<string, DocumentParameter>>, which: 'both' | 'patterns' = 'both'): string {
  const entries = Object.entries(parameters);
  const patterns = entries.map(([name, spec]) => `[${name}]=${bashQuote(spec.allowedPattern)}`);
  const maxChars = entries.flatMap(([name, spec]) => (spec.maxChars === undefined ? [] : [`[${name}]=${spec.maxChars.toString()}`]));
  const table = (name: string, rows: string[]): string => (rows.length === 0 ? `declare -A ${name}=()` : `declare -A ${name}=(\n${rows.join('\n')}\n)`);
  return which === 'patterns' ? table('PATTERN', patterns) : `${table('PATTERN', patterns)}\n${table('MAXCHARS', maxChars)}`;
}

/**
 * One self-contained script from a script file of `runbooks/<document>/`: its
 * `source`d shared files (`runbooks/lib/*.sh`) inlined where they are sourced,
 * a file read into a variable (the helper container's script) inlined as a
 * heredoc, and the parameter tables generated from the document's parameters.
 * The result needs nothing beside it, as a Command document's step must.
 */
export function assembleScript(file: string, parameters: Readonly<Record<string, DocumentParameter>>): string {
  const lines = readFileSync(file, 'utf8').split('\n');
  const out = lines.map((line) => {
    const source = SOURCE_LINE.exec(line);
    if (source) return assembleScript(join(dirname(file), source[1] ?? ''), parameters).replace(/\n$/, '');
    const read = READ_LINE.exec(line);
    if (read) {
      const [, head = '', name = '', tail = ''] = read;
      const text = readFileSync(join(dirname(file), name), 'utf8').replace(/\n$/, '');
      const end = name.endsWith('.py') ? PYTHON_END : HEREDOC_END;
      if (text.split('\n').includes(end)) throw new Error(`${name} holds a line ${end}, which would end its heredoc`);
      return `${head}<<'${end}'${tail}\n${text}\n${end}`;
    }
    if (line === TABLES_LINE) return parameterTables(parameters);
    if (line === ENGINES_LINE) return engineBashScript().replace(/\n$/, '');
    return line === PATTERN_LINE ? parameterTables(parameters, 'patterns') : line;
  });
  const script = out.join('\n');
  if (script.includes('BASH_SOURCE')) throw new Error(`${file}: a reference to a file beside the script is left after assembly`);
  return script;
}
