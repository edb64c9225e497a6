import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DocumentName } from '#core/paths.ts';
import { hostScript } from '#core/runbooks/document.ts';

export interface BashOutcome {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** The documents whose scripts move data of a volume or host directory (cancel-restore only signals a restore). */
export const DATA_DOCUMENTS = ['restore-volume', 'backup-volume'] as const satisfies readonly DocumentName[];

/** A document's assembled script (as it deploys) in a file, for `source`. */
export function assembledScriptFile(name: DocumentName): string {
  const file = join(mkdtempSync(join(tmpdir(), 'lifeboat-script-')), `${name}.sh`);
  writeFileSync(file, hostScript(name));
  return file;
}

/**
 * Sources a script (its `_main` guard keeps it from running) and runs `body` in the
 * same bash. Values reach bash as environment variables, never spliced into `body`.
 */
export function sourced(script: string, body: string, env: Readonly<Record<string, string>> = {}): BashOutcome {
  const { status, stdout, stderr } = spawnSync('bash', ['-c', `source "$1"\n${body}`, 'lifeboat-test', script], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
  });
  return { status, stdout, stderr };
}

/** An associative array of the sourced script, as bash holds it. */
export function bashTable(script: string, table: 'PATTERN' | 'MAXCHARS'): Record<string, string> {
  const { stdout } = sourced(script, `for k in "\${!${table}[@]}"; do printf '%s\\t%s\\0' "$k" "\${${table}[$k]}"; done`);
  return Object.fromEntries(
    stdout
      .split('\0')
      .filter(Boolean)
      .map((row) => row.split('\t', 2) as [string, string]),
  );
}

/**
 * Runs `body` once per value, each in a subshell of one sourced bash (spawning a
 * process costs seconds on a busy CI host), with the variable `name` set to the value.
 * Returns what each run printed, and its exit status after a `|`.
 */
export function sourcedEach(script: string, name: string, values: readonly string[], body: string): string[] {
  const env = Object.fromEntries(values.map((v, i) => [`V${i.toString()}`, v]));
  const program = `set +e\nfor ((i = 0; i < ${values.length.toString()}; i++)); do v="V$i"; ( set -e; ${name}="\${!v}"; ${body} ); printf '|%s\\0' "$?"; done`;
  const { stdout } = sourced(script, program, env);
  return stdout.split('\0').slice(0, values.length);
}
