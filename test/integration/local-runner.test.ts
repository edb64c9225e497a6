/**
 * SSM stops a command (cancel, timeout) with TERM to the step's whole process group, so
 * that whatever the script started stops too while its trap puts the host back. The local
 * runner (local mode, the e2e tests) must do the same: a real bash script here, no Docker.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as z from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalCommandRunner } from '#core/adapters/local-runner.ts';
import type { CommandStatusChange } from '#core/restore/completion.ts';
import { CommandDocument } from '#core/runbooks/document.ts';
import { runDocument } from '#core/runbooks/local-runner.ts';

/** Starts a child that would outlive the script, then waits; the trap records what it saw. */
const DOCUMENT = CommandDocument.parse({
  schemaVersion: '2.2',
  description: 'a step with a child process and a TERM trap',
  parameters: { Dir: { type: 'String', allowedPattern: '^/[A-Za-z0-9_./-]+$', interpolationType: 'ENV_VAR' } },
  mainSteps: [
    {
      action: 'aws:runShellScript',
      name: 'work',
      inputs: {
        runCommand: [
          'set -Eeuo pipefail',
          'sleep 300 & child=$!',
          'printf "%s" "$child" >"$SSM_Dir/child"',
          'on_term() { printf "trap ran\\n" >"$SSM_Dir/trap"; sleep 0.3; if kill -0 "$child" 2>/dev/null; then printf alive >"$SSM_Dir/child-state"; else printf gone >"$SSM_Dir/child-state"; fi; exit 143; }',
          'trap on_term TERM',
          'printf started >"$SSM_Dir/started"',
          'wait "$child"',
        ],
      },
    },
  ],
});

const exists = async (file: string): Promise<boolean> =>
  readFile(file).then(
    () => true,
    () => false,
  );
const waitFor = async (file: string): Promise<void> => {
  for (let i = 0; i < 100 && !(await exists(file)); i++) await new Promise((r) => setTimeout(r, 50));
};
const pidAlive = (pid: number): boolean => {
  try {
    return process.kill(pid, 0);
  } catch {
    return false;
  }
};

// On a real host SSM itself SIGKILLs; Lifeboat's cancel-restore document and the script's own
// watchdog give the TERM these tests use.
describe('the local runner stops a command with TERM to its process group (the trap cleans up)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lifeboat-pg-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('on cancel the trap of the script runs and the process it started is stopped too; the command ends Cancelled', async () => {
    const changes: CommandStatusChange[] = [];
    const runner = new LocalCommandRunner(DOCUMENT, {
      instanceId: 'i-000000000010ca1',
      onStatusChange: (c) => {
        changes.push(c);
        return Promise.resolve();
      },
    });
    const commandId = await runner.sendRestore({
      instanceId: 'i-000000000010ca1',
      restoreId: 'r-pg-00000001',
      parameters: { Dir: dir },
      comment: 'lifeboat restore r-pg-00000001',
      timeoutSeconds: 60,
    });
    await waitFor(join(dir, 'started'));
    expect(runner.runs(commandId)).toBe(true);
    expect(await runner.commandFor('r-pg-00000001')).toBe(commandId);
    const child = Number(await readFile(join(dir, 'child'), 'utf8'));
    expect(pidAlive(child)).toBe(true);

    await runner.cancel(commandId);
    await runner.finished(commandId);
    expect(await readFile(join(dir, 'trap'), 'utf8')).toBe('trap ran\n');
    expect(await readFile(join(dir, 'child-state'), 'utf8')).toBe('gone'); // the group got the signal, not the script alone
    expect(pidAlive(child)).toBe(false);
    expect(changes).toEqual([{ commandId, instanceId: 'i-000000000010ca1', status: 'Cancelled' }]);
    expect(runner.runs(commandId)).toBe(false);
  });

  it('a timeout stops the group the same way', async () => {
    const sub = await mkdtemp(join(dir, 't-'));
    const outcome = await runDocument(DOCUMENT, { Dir: sub }, z.unknown(), { timeoutSeconds: 1 });
    expect(outcome.timedOut).toBe(true);
    expect(await readFile(join(sub, 'child-state'), 'utf8')).toBe('gone');
    expect(pidAlive(Number(await readFile(join(sub, 'child'), 'utf8')))).toBe(false);
  });

  it('this machine declares it may receive every source (local mode, e2e, demo, bench) unless told otherwise', async () => {
    await expect(new LocalCommandRunner(DOCUMENT, { instanceId: 'i-000000000010ca1' }).status('i-000000000010ca1')).resolves.toMatchObject({
      online: true,
      sources: ['*'],
    });
    await expect(new LocalCommandRunner(DOCUMENT, { instanceId: 'i-000000000010ca1', sources: ['db1'] }).status('i-000000000010ca1')).resolves.toMatchObject({
      sources: ['db1'],
    });
    await expect(new LocalCommandRunner(DOCUMENT, { instanceId: 'i-000000000010ca1' }).status('i-0fffffffffffffff0')).resolves.toEqual({
      online: false,
      pingStatus: 'NotRegistered',
    });
  });
});
