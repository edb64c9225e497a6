import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RUNBOOKS_DIR, type DocumentName } from '../paths.ts';
import { CommandDocument } from './document-schema.ts';

/**
 * Loads a document from the JSON copy a Lambda bundle carries (written from the
 * YAML at synth). Keeps the YAML parser (112 KB) out of the functions.
 */
export function loadBundledDocument(name: DocumentName): CommandDocument {
  const dir = process.env.LIFEBOAT_RUNBOOKS_DIR ?? RUNBOOKS_DIR;
  return CommandDocument.parse(JSON.parse(readFileSync(join(dir, `${name}.json`), 'utf8')));
}
