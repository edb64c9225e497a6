/**
 * Prints a document's script exactly as it deploys (assembled from
 * `runbooks/<name>/`, `runbooks/lib/` and the helper, compacted; the document
 * carries it gzip+base64 with this text's sha256), for running
 * it by hand: `npx tsx scripts/runbook-script.ts restore-volume > restore.sh`.
 */
import { DOCUMENTS, type DocumentName } from '#core/paths.ts';
import { hostScript } from '#core/runbooks/document.ts';

const name = process.argv[2];
if (!DOCUMENTS.includes(name as DocumentName)) {
  console.error(`usage: tsx scripts/runbook-script.ts ${DOCUMENTS.join('|')}`);
  process.exit(2);
}
process.stdout.write(hostScript(name as DocumentName));
