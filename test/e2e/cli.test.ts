import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '#core/paths.ts';
import { JsonOutput } from '#root/cli/schema.ts';
import {
  containerState,
  docker,
  initPostgresVolume,
  removeAll,
  rowsFingerprint,
  seedRows,
  startPostgres,
  uniqueName,
  volumeDigest,
  volumeExists,
  waitForPostgres,
} from './support/docker.ts';
import { exec, type ExecResult } from './support/exec.ts';

// The Node.js these tests run on (.nvmrc's major), not whatever `node` the PATH has.
const NODE = process.execPath;
const CLI = join(ROOT, 'bin/lifeboat.mjs');

describe('lifeboat CLI in local mode, on the real Docker engine', () => {
  const volume = uniqueName('cli-data');
  const db = uniqueName('cli-db');
  let dir: string;
  let fingerprint: string;
  const env = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => {
    // Local mode: no API configured anywhere.
    const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !['LIFEBOAT_API_URL', 'LIFEBOAT_OUTPUTS', 'AWS_ENDPOINT_URL'].includes(k)));
    // The operator allows the test's database image: the manifest names it, the allowlist decides.
    return { ...clean, LIFEBOAT_HOME: join(dir, 'state'), LIFEBOAT_ALLOWED_IMAGES: 'local/postgres', ...extra };
  };
  const lifeboat = (args: string[], extra?: NodeJS.ProcessEnv): Promise<ExecResult> =>
    exec(NODE, [CLI, ...args], { cwd: dir, env: env(extra), timeoutMs: 240_000 });
  const json = (out: ExecResult): unknown => JSON.parse(out.stdout);
  const explain = (out: ExecResult): string => `exit ${out.code.toString()}\n${out.stdout}\n${out.stderr}`;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lifeboat-cli-'));
    await initPostgresVolume(volume);
    await startPostgres(db, volume);
    await seedRows(db, 3000);
    fingerprint = await rowsFingerprint(db);
  });
  afterAll(async () => {
    await removeAll([db], [volume]);
    await rm(dir, { recursive: true, force: true });
  });

  it('backs up, lists, plans, refuses to overwrite, and brings a lost volume back', async () => {
    // backup: the container using the volume is found and paused; the archive is cataloged.
    const backup = await lifeboat(['--json', 'backup', volume, '--source', 'cli-host']);
    expect(backup.code, explain(backup)).toBe(0);
    const b = JsonOutput.backup.parse(json(backup));
    expect(b.result.outcome).toBe('succeeded');
    expect(b.container).toBe(db);
    expect(b.archive.sha256).toBe(b.result.sha256);
    expect(b.archive.manifest?.container?.name).toBe(`/${db}`); // as Docker names it
    expect(await containerState(db)).toBe('running');

    const volumes = JsonOutput.volumes.parse(json(await lifeboat(['--json', 'volumes'])));
    expect(volumes.volumes).toContainEqual(expect.objectContaining({ source: 'cli-host', volume, newestKey: b.archive.key }));
    const archives = await lifeboat(['--json', 'archives', volume]);
    expect(archives.code, explain(archives)).toBe(0);
    expect(JsonOutput.archives.parse(json(archives)).archives.map((a) => a.key)).toEqual([b.archive.key]);

    const plan = await lifeboat(['--json', 'plan', volume, '--container', db]);
    expect(plan.code, explain(plan)).toBe(0);
    const p = JsonOutput.plan.parse(json(plan)).plan;
    expect(p.archive.key).toBe(b.archive.key);
    expect(p.target.online).toBe(true);

    // The volume still holds the database: the restore is refused and the bytes stay as they were.
    await docker('stop', db);
    const before = await volumeDigest(volume);
    const refused = await lifeboat(['restore', volume, '--container', db, '--yes']);
    expect(refused.code, explain(refused)).toBe(1);
    expect(refused.stdout).toContain('FAILED');
    expect(refused.stdout).toContain('already holds data');
    expect(refused.stdout).toContain('add --preserve');
    expect(await volumeDigest(volume)).toBe(before);

    // The host is gone; the restore brings the database back with its rows.
    await removeAll([db], [volume]);
    expect(await volumeExists(volume)).toBe(false);
    const restored = await lifeboat(['--json', 'restore', volume, '--container', db, '--yes']);
    expect(restored.code, explain(restored)).toBe(0);
    const r = JsonOutput.restore.parse(json(restored));
    expect(r.record?.state).toBe('succeeded');
    expect(r.record?.phases?.download).toBeGreaterThan(0);
    expect(r.record?.bytes).toBe(b.result.bytes);
    await waitForPostgres(db);
    expect(await rowsFingerprint(db)).toBe(fingerprint);

    const status = await lifeboat(['--json', 'status', r.restoreId]);
    expect(status.code, explain(status)).toBe(0);
    expect(JsonOutput.status.parse(json(status)).record).toEqual(r.record);
    const human = await lifeboat(['status', r.restoreId]);
    expect(human.stdout).toContain(`Restore ${r.restoreId}: SUCCEEDED`);
    expect(human.stdout).toMatch(/took \d+\.\d s on the host: preflight/);

    // A drill proves the archive again, next to the restored database, and leaves nothing behind.
    const drill = await lifeboat(['--json', 'drill', volume, '--check', 'select count(*) from lifeboat_test', '--expect-min', '3000']);
    expect(drill.code, explain(drill)).toBe(0);
    const d = JsonOutput.restore.parse(json(drill));
    expect(d.record).toMatchObject({ state: 'succeeded', mode: 'drill', verifyOutput: '3000', drill: { volume } });
    expect(await volumeExists(d.plan.volume)).toBe(false);
    expect(await containerState(d.plan.containerName)).toBeUndefined();
    const proven = JsonOutput.volumes.parse(json(await lifeboat(['--json', 'volumes']))).volumes.find((v) => v.volume === volume);
    expect(proven?.lastProvenKey).toBe(b.archive.key);
  });

  it('says what is wrong, with a distinct exit code, and changes nothing', async () => {
    const missing = await lifeboat(['backup', 'lbt-no-such-volume']);
    expect(missing.code, explain(missing)).toBe(3);
    expect(missing.stderr).toContain('there is no Docker volume lbt-no-such-volume');

    const unknown = await lifeboat(['--json', 'archives', 'lbt-never-backed-up']);
    expect(unknown.code, explain(unknown)).toBe(3);
    expect(JsonOutput.error.parse(json(unknown)).error.hint).toContain('lifeboat volumes');

    const hostile = await lifeboat(['restore', volume, '--container', db, '--to', 'i-0123;rm -rf /', '--yes']);
    expect(hostile.code, explain(hostile)).toBe(2);
    expect(hostile.stderr).toContain('--to must be an EC2 instance or managed node id');

    const badVolume = await lifeboat(['plan', '$(reboot)', '--container', db]);
    expect(badVolume.code, explain(badVolume)).toBe(2);
    expect(badVolume.stderr).toContain('volume "$(reboot)" is not allowed');

    const offline = await lifeboat(['restore', volume, '--container', db, '--to', 'i-0123456789abcdef0', '--yes']);
    expect(offline.code, explain(offline)).toBe(4);
    expect(offline.stderr).toContain('is not online');

    const noDocker = await lifeboat(['restore', volume, '--container', db, '--yes'], { DOCKER_HOST: 'unix:///nonexistent/docker.sock' });
    expect(noDocker.code, explain(noDocker)).toBe(5);
    expect(noDocker.stderr).toContain('Docker is not reachable');
    expect(noDocker.stderr).toContain('start the Docker engine');

    // Another lifeboat command holds the state folder (this test process stands in for it).
    await writeFile(join(dir, 'state', 'lock'), `${process.pid.toString()}\n`);
    try {
      const busy = await lifeboat(['volumes']);
      expect(busy.code, explain(busy)).toBe(5);
      expect(busy.stderr).toContain(`another lifeboat command (pid ${process.pid.toString()})`);
    } finally {
      await rm(join(dir, 'state', 'lock'));
    }
    // Nothing above touched the restored database.
    expect(await containerState(db)).toBe('running');
    expect(await rowsFingerprint(db)).toBe(fingerprint);
  });
});
