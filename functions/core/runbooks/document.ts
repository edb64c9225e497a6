import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { documentPath, type DocumentName } from '../paths.ts';

export { CommandDocument, DocumentParameter } from './document-schema.ts';
import { CommandDocument } from './document-schema.ts';

/**
 * The script as it deploys: full-line comments, indentation and blank lines removed.
 * SSM counts a document's content (plus the parameter values) against a 64 KB quota;
 * bash needs none of them. The shebang stays. Lifeboat's scripts hold no multi-line
 * string whose leading spaces matter (the helper's heredoc is a shell script too).
 */
export function compactScript(script: string): string {
  const [first = '', ...rest] = script.split('\n');
  const body = rest.map((line) => line.replace(/^[ \t]+/, '')).filter((line) => line !== '' && !line.startsWith('#'));
  return [first, ...body].join('\n') + (script.endsWith('\n') && body.length > 0 ? '\n' : '');
}

/** Parses and checks a Command document's text; its scripts are compacted as they deploy. */
export function parseDocument(text: string): CommandDocument {
  const doc = CommandDocument.parse(parse(text));
  return {
    ...doc,
    mainSteps: doc.mainSteps.map((step) => ({ ...step, inputs: { ...step.inputs, runCommand: step.inputs.runCommand.map(compactScript) } })),
  };
}

/** Loads one of Lifeboat's documents from `runbooks/`. */
export function loadDocument(name: DocumentName): CommandDocument {
  return parseDocument(readFileSync(documentPath(name), 'utf8'));
}
