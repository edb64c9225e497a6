/**
 * The engines table people read (docs/api.md) is checked against the profiles it
 * describes (functions/core/engines): a profile that changes its health command, its
 * default check or its mount path fails here until the table says the same.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ENGINES, ENGINE_PROFILES, REDIS_CHECK_COMMANDS, RUNNING_SECONDS, engineArgv, type Engine } from '#core/engines/index.ts';
import { ROOT } from '#core/paths.ts';
import { shownArgv } from '#core/restore/verification.ts';

const doc = readFileSync(join(ROOT, 'docs/api.md'), 'utf8');
const section = doc.slice(doc.indexOf('## How a restore proves the database answers'), doc.indexOf('## Data-only restores'));

/** The table's row of an engine: [engine, answers when, read-only check, default mount path]. */
function row(engine: Engine): string[] {
  const line = section.split('\n').find((l) => l.startsWith(`| \`${engine}\``));
  if (line === undefined) throw new Error(`docs/api.md has no row for ${engine}`);
  return line
    .split(' | ')
    .map((cell) => cell.replace(/^\| /, '').replace(/ \|$/, ''))
    .slice(0, 4);
}

describe('docs/api.md: the engines table says what the profiles do', () => {
  it.each(ENGINES)('%s', (engine) => {
    const profile = ENGINE_PROFILES[engine];
    const [, answers = '', check = '', mount = ''] = row(engine);
    if (profile.defaultMountPath === null) expect(mount).toMatch(/^—/);
    else expect(mount).toBe(`\`${profile.defaultMountPath}\``);
    const health = engine === 'custom' ? null : engineArgv(engine, 'health', {});
    if (health) expect(answers).toContain(`\`${shownArgv(health)}\``);
    const answer = profile.healthAnswer?.source.replace(/^\^/, '').replace(/\$$/, '');
    if (answer) expect(answers).toContain(`answers \`${answer}\``);
    if (engine === 'running') expect(answers).toContain(`${RUNNING_SECONDS.toString()} s`);
    if (profile.checkRules === null || engine === 'custom') return;
    expect(check).toContain(profile.defaultCheck === null ? '(no default)' : `(default \`${profile.defaultCheck}\`)`);
    if (engine === 'redis') for (const command of Object.keys(REDIS_CHECK_COMMANDS)) expect(check).toContain(`\`${command}\``);
  });

  it('every default shm size is said', () => {
    for (const engine of ENGINES) {
      const shm = ENGINE_PROFILES[engine].defaultShmSize;
      if (shm !== null) expect(section).toContain(`\`${shm}\``);
    }
  });
});
