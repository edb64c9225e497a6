import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

/** The repository root (one constant instead of `..` chains). */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * Folder holding the SSM Command documents the stack deploys and the runner
 * executes. In a Lambda bundle the stack copies them beside the code and says where.
 */
export const RUNBOOKS_DIR = process.env.LIFEBOAT_RUNBOOKS_DIR ?? join(ROOT, 'runbooks');

/**
 * Names of Lifeboat's Command documents: folder `runbooks/<name>/` with the document
 * `<name>.yaml` (parameters, step) and its script `<name>.sh`; shared bash in `runbooks/lib/`.
 */
export const DOCUMENTS = ['restore-volume', 'backup-volume', 'cancel-restore'] as const;
export type DocumentName = (typeof DOCUMENTS)[number];

/** The document's YAML (its step's script file sits beside it). */
export const documentPath = (name: DocumentName): string => join(RUNBOOKS_DIR, name, `${name}.yaml`);
