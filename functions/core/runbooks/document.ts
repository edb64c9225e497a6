import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parse } from 'yaml';
import * as z from 'zod';
import { documentPath, type DocumentName } from '../paths.ts';
import { assembleScript } from './assemble.ts';

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

/**
 * A document as written in `runbooks/<name>/`: a step names its script file
 * (`inputs.scriptFile`) instead of inlining it; everything else is the deployed form.
 */
const SourceDocument = z.looseObject({
  parameters: CommandDocument.shape.parameters,
  mainSteps: z.array(z.looseObject({ inputs: z.looseObject({ scriptFile: z.string().regex(/^[A-Za-z0-9_.-]+\.sh$/).optional() }) })),
});

/**
 * Parses and checks a Command document's text. A step's `scriptFile` (in `dir`, the
 * document's folder) is assembled into one self-contained script; every script is
 * compacted as it deploys.
 */
export function parseDocument(text: string, dir?: string): CommandDocument {
  const source = SourceDocument.parse(parse(text));
  const mainSteps = source.mainSteps.map(({ inputs: { scriptFile, ...inputs }, ...step }) => {
    if (scriptFile === undefined) return { ...step, inputs };
    if (dir === undefined) throw new Error(`step script ${scriptFile} needs the document's folder`);
    return { ...step, inputs: { ...inputs, runCommand: [assembleScript(join(dir, scriptFile), source.parameters)] } };
  });
  const doc = CommandDocument.parse({ ...source, mainSteps });
  return {
    ...doc,
    mainSteps: doc.mainSteps.map((step) => ({ ...step, inputs: { ...step.inputs, runCommand: step.inputs.runCommand.map(compactScript) } })),
  };
}

/** Loads and assembles one of Lifeboat's documents from `runbooks/<name>/`. */
export function loadDocument(name: DocumentName): CommandDocument {
  const file = documentPath(name);
  return parseDocument(readFileSync(file, 'utf8'), dirname(file));
}
