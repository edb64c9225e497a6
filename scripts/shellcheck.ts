/**
 * Lints every shell script Lifeboat ships: the runbooks' script files as written
 * (`runbooks/<document>/*.sh`, following their `source`d `runbooks/lib/*.sh`), the
 * shared files on their own, the helper containers' sh scripts, the documents'
 * assembled scripts exactly as the agent runs them, and the repo's own shell
 * scripts. Fails when shellcheck is missing rather than skipping.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DOCUMENTS, ROOT } from '#core/paths.ts';
import { loadDocument } from '#core/runbooks/document.ts';

// SC2154: parameters are assigned through `printf -v "P_$name"`, which shellcheck cannot follow.
// SC2016: Go templates for docker --format are deliberately single-quoted.
const EXCLUDE = 'SC2154,SC2016';
// SC2034: a shared file's functions set the state of the script that sources it.
const LIB_EXCLUDE = `${EXCLUDE},SC2034`;

if (spawnSync('shellcheck', ['--version']).status !== 0) {
  console.error('shellcheck is not installed: apt-get install -y shellcheck (bash .ci/run does this)');
  process.exit(1);
}
const shellcheck = (args: string[], files: string[]): number => {
  execFileSync('shellcheck', ['--severity=info', '--external-sources', ...args, ...files], { stdio: 'inherit' });
  return files.length;
};
const runbooks = join(ROOT, 'runbooks');
const dir = mkdtempSync(join(tmpdir(), 'lifeboat-shellcheck-'));
try {
  const assembled: string[] = [];
  for (const name of DOCUMENTS) {
    // What runs on the host (assembled, with the comments that hold shellcheck's directives) and what deploys (the packed wrapper).
    for (const packed of [false, true]) {
      for (const step of loadDocument(name, { packed, compact: false }).mainSteps) {
        const file = join(dir, `${name}.${step.name}${packed ? '.packed' : ''}.sh`);
        writeFileSync(file, step.inputs.runCommand.join('\n'));
        assembled.push(file);
      }
    }
  }
  const scripts = DOCUMENTS.map((name) => join(runbooks, name, `${name}.sh`));
  // cancel-restore starts no helper container.
  const helpers = DOCUMENTS.map((name) => join(runbooks, name, 'helper.sh')).filter((file) => existsSync(file));
  const lib = readdirSync(join(runbooks, 'lib'))
    .filter((f) => f.endsWith('.sh'))
    .map((f) => join(runbooks, 'lib', f));
  let n = shellcheck(['--shell=bash', `--exclude=${EXCLUDE}`], [join(ROOT, '.ci/run'), join(ROOT, 'scripts/test-images.sh'), ...scripts, ...assembled]);
  n += shellcheck(['--shell=bash', `--exclude=${LIB_EXCLUDE}`], lib);
  // Busybox sh: each helper says so itself (`# shellcheck shell=sh`).
  n += shellcheck([`--exclude=${EXCLUDE}`], helpers);
  console.log(`shellcheck: ${n.toString()} scripts clean`);
} catch {
  process.exitCode = 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
