/**
 * Prints a document's script exactly as it deploys (assembled from
 * `runbooks/<name>/`, `runbooks/lib/` and the helper, compacted), for running
 * it by hand: `npx tsx scripts/runbook-script.ts restore-volume > restore.sh`.
 */
import { DOCUMENTS, type DocumentName } from '#core/paths.ts';
import { loadDocument } from '#core/runbooks/document.ts';

const name = process.argv[2];
if (!DOCUMENTS.includes(name as DocumentName)) {
  console.error(`usage: tsx scripts/runbook-script.ts ${DOCUMENTS.join('|')}`);
  process.exit(2);
}
process.stdout.write(loadDocument(name as DocumentName).mainSteps.flatMap((s) => s.inputs.runCommand).join('\n'));
