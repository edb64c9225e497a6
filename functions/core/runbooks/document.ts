import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { documentPath, type DocumentName } from '../paths.ts';

export { CommandDocument, DocumentParameter } from './document-schema.ts';
import { CommandDocument } from './document-schema.ts';

/** Parses and checks a Command document's text. */
export function parseDocument(text: string): CommandDocument {
  return CommandDocument.parse(parse(text));
}

/** Loads one of Lifeboat's documents from `runbooks/`. */
export function loadDocument(name: DocumentName): CommandDocument {
  return parseDocument(readFileSync(documentPath(name), 'utf8'));
}
