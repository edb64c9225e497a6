import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

/** Set in the compiled CLI by scripts/build-cli.ts: the repository root relative to its folder (dist/cli/). */
declare const LIFEBOAT_BUILD_ROOT: string | undefined;

/**
 * The repository root (one constant instead of `..` chains): two folders up from this file, or,
 * in the compiled CLI, where its build says (its chunks sit elsewhere than functions/core/).
 */
export const ROOT = fileURLToPath(new URL(typeof LIFEBOAT_BUILD_ROOT === 'string' ? LIFEBOAT_BUILD_ROOT : '../../', import.meta.url));

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
