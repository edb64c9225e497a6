/**
 * Lints every bash script Lifeboat ships: the scripts embedded in the SSM
 * documents (extracted exactly as the agent would run them) and the repo's own
 * shell scripts. Fails when shellcheck is missing rather than skipping.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DOCUMENTS, ROOT } from '../functions/core/paths.ts';
import { loadDocument } from '../functions/core/runbooks/document.ts';

// SC2154: parameters are assigned through `printf -v "P_$name"`, which shellcheck cannot follow.
// SC2016: Go templates for docker --format are deliberately single-quoted.
const EXCLUDE = 'SC2154,SC2016';

if (spawnSync('shellcheck', ['--version']).status !== 0) {
  console.error('shellcheck is not installed: apt-get install -y shellcheck (bash .ci/run does this)');
  process.exit(1);
}
const dir = mkdtempSync(join(tmpdir(), 'lifeboat-shellcheck-'));
try {
  const files: string[] = [join(ROOT, '.ci/run'), join(ROOT, 'scripts/test-images.sh')];
  for (const name of DOCUMENTS) {
    for (const step of loadDocument(name).mainSteps) {
      const file = join(dir, `${name}.${step.name}.sh`);
      writeFileSync(file, step.inputs.runCommand.join('\n'));
      files.push(file);
    }
  }
  execFileSync('shellcheck', ['--shell=bash', '--severity=info', `--exclude=${EXCLUDE}`, ...files], { stdio: 'inherit' });
  console.log(`shellcheck: ${files.length} scripts clean`);
} catch {
  process.exitCode = 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
