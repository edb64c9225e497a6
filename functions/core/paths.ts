import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

/** The repository root (one constant instead of `..` chains). */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * Folder holding the SSM Command documents the stack deploys and the runner
 * executes. In a Lambda bundle the stack copies them beside the code and says where.
 */
export const RUNBOOKS_DIR = process.env.LIFEBOAT_RUNBOOKS_DIR ?? join(ROOT, 'runbooks');

/** Names of Lifeboat's Command documents (file `runbooks/<name>.yaml`). */
export const DOCUMENTS = ['restore-volume', 'backup-volume', 'cancel-restore'] as const;
export type DocumentName = (typeof DOCUMENTS)[number];

export const documentPath = (name: DocumentName): string => join(RUNBOOKS_DIR, `${name}.yaml`);
