import { chmod, chown, mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HELPER_IMAGE, docker, inVolume, uniqueName, volumeExists, volumesWithLabel } from './support/docker.ts';
import { run } from './support/exec.ts';
import { startLocalS3, type LocalS3 } from '#core/local/s3.ts';
import { explain, restore } from './support/runbooks.ts';

// The archive and its manifest are untrusted (every backed-up host can write the bucket);
// these are the host-side bounds on what a restore may do, run with the real document
// on the real Docker engine.
describe('host-side bounds on what an archive and its manifest can do', () => {
  let s3: LocalS3;
  let dir: string;
  let small: Buffer;
  const made = { volumes: [] as string[], containers: [] as string[], paths: [] as string[] };
  const envDir = '/etc/lifeboat/env';

  /** A tar archive (zstd) of a folder the test fills, made with the host's GNU tar. */
  async function archiveOf(name: string, fill: (root: string) => Promise<void>): Promise<Buffer> {
    const root = await mkdtemp(join(dir, 'root-'));
    await fill(root);
    await run('bash', ['-c', 'tar -C "$1" --numeric-owner -c . | zstd -q -c >"$2"', 'archive', root, join(dir, name)]);
    return readFile(join(dir, name));
  }
  const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
  const treeOf = async (path: string): Promise<string> =>
    run('bash', ['-c', 'cd "$1" && find . -printf "%p %m %u %s\\n" | sort && find . -type f -exec sha256sum {} + | sort', 'tree', path]);

  beforeAll(async () => {
    s3 = await startLocalS3();
    dir = await mkdtemp(join(tmpdir(), 'lifeboat-hostsec-'));
    small = await archiveOf('small.tar.zst', async (root) => {
      await writeFile(join(root, 'PG_VERSION'), '15\n');
      await writeFile(join(root, 'data'), 'restored data\n');
    });
    await s3.put('archives/h/v/small.tar.zst', small);
    await mkdir(envDir, { recursive: true, mode: 0o700 });
  });
  afterAll(async () => {
    for (const c of made.containers) await docker('rm', '-f', c).catch(() => undefined);
    for (const v of made.volumes) await docker('volume', 'rm', '-f', v).catch(() => undefined);
    for (const p of made.paths) await rm(p, { recursive: true, force: true });
    await s3.close();
    await rm(dir, { recursive: true, force: true });
  });

  it.each([
    ['type=ext4 device=/dev/loop0', 'type=ext4'],
    ['type=nfs device=/dev/nvme0n1p1', 'device of this host'],
    ['type=tmpfs device=/dev/../dev/sda', 'device of this host'],
    ['device=:/exports/pg', 'needs type='],
    ['type=none o=bind device=/etc', 'bind a host directory'],
  ])('driver options that would mount a host disk are refused before anything is created: %s', async (opts, says) => {
    const volume = uniqueName('disk');
    const outcome = await restore({
      ArchiveUrl: await s3.presignGet('archives/h/v/small.tar.zst'),
      VolumeName: volume,
      VolumeDriverOpts: opts,
      Verify: 'none',
    });
    expect(outcome.result, explain(outcome)).toMatchObject({ outcome: 'refused', failedPhase: 'preflight' });
    expect(outcome.result?.error).toContain(says);
    expect(await volumeExists(volume)).toBe(false);
  });

  it('a verify query naming server-file functions is refused on the host too, before anything is created', async () => {
    const volume = uniqueName('vq');
    const outcome = await restore({
      ArchiveUrl: await s3.presignGet('archives/h/v/small.tar.zst'),
      VolumeName: volume,
      ContainerName: uniqueName('vq-db'),
      Verify: 'postgres',
      VerifyQuery: "select pg_read_file('x')",
    });
    expect(outcome.result, explain(outcome)).toMatchObject({ outcome: 'refused', failedPhase: 'preflight' });
    expect(outcome.result?.error).toContain("VerifyQuery does not suit postgres's check rules");
    expect(await volumeExists(volume)).toBe(false);
  });

  it('a device node outside /dev named as the device is refused before anything is created', async () => {
    const node = join(dir, 'disguised-disk');
    await run('mknod', [node, 'b', '7', '0']);
    const volume = uniqueName('disk');
    const outcome = await restore({
      ArchiveUrl: await s3.presignGet('archives/h/v/small.tar.zst'),
      VolumeName: volume,
      VolumeDriverOpts: `type=nfs device=${node}`,
      Verify: 'none',
    });
    expect(outcome.result, explain(outcome)).toMatchObject({ outcome: 'refused' });
    expect(outcome.result?.error).toContain('device of this host');
    expect(await volumeExists(volume)).toBe(false);
  });

  it('a created volume backed by storage that already holds data is refused and never merged into; the storage is byte for byte as before', async () => {
    // Stand-in for an NFS export with files on it: a docker shim makes the volume the run
    // creates for its target mount a folder that already holds data (what `type=nfs` with
    // someone's export, or a device, would give). Everything else is the real engine.
    const exportDir = join(dir, 'export');
    await mkdir(exportDir);
    await writeFile(join(exportDir, 'someone-elses-file'), 'precious\n');
    const before = await treeOf(exportDir);
    const shim = join(dir, 'shim');
    await mkdir(shim);
    const docker = join(shim, 'docker');
    await writeFile(
      docker,
      [
        '#!/usr/bin/env bash',
        'real="$(PATH="${PATH#*:}" command -v docker)"',
        'if [[ "$1 $2" == "volume create" && " $* " == *" lifeboat.role=restored "* ]]; then',
        '  exec "$real" volume create "${@:3:$#-3}" --opt type=none --opt o=bind --opt "device=$LIFEBOAT_TEST_EXPORT" "${@: -1}"',
        'fi',
        'exec "$real" "$@"',
        '',
      ].join('\n'),
      { mode: 0o755 },
    );
    const volume = uniqueName('nfs');
    made.volumes.push(volume);

    const outcome = await restore(
      {
        ArchiveUrl: await s3.presignGet('archives/h/v/small.tar.zst'),
        VolumeName: volume,
        VolumeDriverOpts: 'type=nfs o=addr=127.0.0.1 device=:/exports/pg',
        Verify: 'none',
      },
      { env: { PATH: `${shim}:${process.env.PATH ?? ''}`, LIFEBOAT_TEST_EXPORT: exportDir } },
    );

    expect(outcome.result, explain(outcome)).toMatchObject({ outcome: 'refused' });
    expect(outcome.result?.error).toContain('already holds data');
    expect(await treeOf(exportDir)).toBe(before);
    expect(await readdir(exportDir)).toEqual(['someone-elses-file']);
    expect(await volumeExists(volume)).toBe(false);
  });

  it('setuid/setgid bits from an archive are cleared and reported; the data root keeps the archive root entry owner and mode', async () => {
    const archive = await archiveOf('setid.tar.zst', async (root) => {
      await writeFile(join(root, 'suid-shell'), '#!/bin/sh\n');
      await chmod(join(root, 'suid-shell'), 0o4755);
      await writeFile(join(root, 'sgid-tool'), 'x');
      await chmod(join(root, 'sgid-tool'), 0o2755);
      await chown(root, 999, 999);
      await chmod(root, 0o700);
    });
    await s3.put('archives/h/v/setid.tar.zst', archive);
    const volume = uniqueName('setid');
    made.volumes.push(volume);

    const outcome = await restore({
      ArchiveUrl: await s3.presignGet('archives/h/v/setid.tar.zst'),
      ExpectedSha256: sha(archive),
      VolumeName: volume,
      Verify: 'none',
    });

    expect(outcome.result, explain(outcome)).toMatchObject({ outcome: 'succeeded', strippedSetid: 2, dataRoot: '999:999:700' });
    expect(await inVolume(volume, 'stat -c "%a %n" /data/suid-shell /data/sgid-tool')).toBe('755 /data/suid-shell\n755 /data/sgid-tool\n');
  });

  it('IfVolumeExists=absent (a host shared with other sources; the volume may be theirs): an existing empty volume is refused and left as it was; a new one is restored', async () => {
    const theirs = uniqueName('theirs');
    made.volumes.push(theirs);
    await docker('volume', 'create', '--label', 'owner=b', theirs);
    const outcome = await restore({
      ArchiveUrl: await s3.presignGet('archives/h/v/small.tar.zst'),
      VolumeName: theirs,
      IfVolumeExists: 'absent',
      Verify: 'none',
    });
    expect(outcome.result, explain(outcome)).toMatchObject({ outcome: 'refused', failedPhase: 'preflight' });
    expect(outcome.result?.error).toBe(`volume ${theirs} exists (IfVolumeExists=absent, Mode=restore); nothing was changed`);
    expect(await inVolume(theirs, 'ls -A /data | wc -l')).toBe('0\n');
    expect(await docker('volume', 'inspect', '-f', '{{.Labels.owner}}', theirs)).toBe('b\n');

    const fresh = uniqueName('fresh');
    made.volumes.push(fresh);
    const created = await restore({
      ArchiveUrl: await s3.presignGet('archives/h/v/small.tar.zst'),
      VolumeName: fresh,
      IfVolumeExists: 'absent',
      Verify: 'none',
    });
    expect(created.result, explain(created)).toMatchObject({ outcome: 'succeeded' });
    expect(Number((await inVolume(fresh, 'ls -A /data | wc -l')).trim())).toBeGreaterThan(0);
  });

  it('device nodes found after a database on an empty volume was stopped: failed, not refused (something was changed); it runs again on its empty volume', async () => {
    const archive = await archiveOf('dev2.tar.zst', async (root) => {
      await writeFile(join(root, 'PG_VERSION'), '15\n');
      await run('mknod', [join(root, 'host-disk'), 'c', '1', '3']);
    });
    await s3.put('archives/h/v/dev2.tar.zst', archive);
    const volume = uniqueName('devc');
    const container = uniqueName('devdb');
    made.volumes.push(volume);
    made.containers.push(container);
    await docker('volume', 'create', volume);
    await docker(
      'run',
      '-d',
      '--name',
      container,
      '--network',
      'none',
      '-v',
      `${volume}:/data`,
      HELPER_IMAGE,
      'sh',
      '-c',
      'trap "exit 0" TERM; sleep 600 & wait',
    );
    const started = await docker('inspect', '-f', '{{.State.StartedAt}}', container);

    const outcome = await restore({
      ArchiveUrl: await s3.presignGet('archives/h/v/dev2.tar.zst'),
      VolumeName: volume,
      ContainerName: container,
      MountPath: '/data',
      Verify: 'none',
    });

    expect(outcome.result, explain(outcome)).toMatchObject({ outcome: 'failed' });
    expect(outcome.result?.error).toContain('device nodes');
    expect(await docker('inspect', '-f', '{{.State.Running}}', container)).toBe('true\n');
    expect(await docker('inspect', '-f', '{{.State.StartedAt}}', container)).not.toBe(started);
    expect(await inVolume(volume, 'ls -A /data | wc -l')).toBe('0\n');
  });

  it('an existing empty volume the restore fails in is emptied again with its root owner and mode as they were (not the archive’s)', async () => {
    const archive = await archiveOf('root-mode.tar.zst', async (root) => {
      await writeFile(join(root, 'PG_VERSION'), '15\n');
      await run('mknod', [join(root, 'host-disk'), 'c', '1', '3']);
      await chown(root, 999, 999);
      await chmod(root, 0o700);
    });
    await s3.put('archives/h/v/root-mode.tar.zst', archive);
    const volume = uniqueName('rootmode');
    made.volumes.push(volume);
    await docker('volume', 'create', volume);
    const before = await inVolume(volume, 'stat -c %u:%g:%a /data');

    const outcome = await restore({ ArchiveUrl: await s3.presignGet('archives/h/v/root-mode.tar.zst'), VolumeName: volume, Verify: 'none' });

    expect(outcome.result, explain(outcome)).toMatchObject({ outcome: 'refused' });
    expect(outcome.result?.error).toContain('device nodes');
    expect(before).toBe('0:0:755\n');
    expect(await inVolume(volume, 'stat -c %u:%g:%a /data; ls -A /data | wc -l')).toBe('0:0:755\n0\n');
  });

  it('an archive with device nodes is refused: nothing is kept, the created volume is removed', async () => {
    const archive = await archiveOf('dev.tar.zst', async (root) => {
      await writeFile(join(root, 'PG_VERSION'), '15\n');
      await run('mknod', [join(root, 'host-disk'), 'b', '8', '0']);
    });
    await s3.put('archives/h/v/dev.tar.zst', archive);
    const volume = uniqueName('dev');

    const outcome = await restore({ ArchiveUrl: await s3.presignGet('archives/h/v/dev.tar.zst'), VolumeName: volume, Verify: 'none' });

    expect(outcome.result, explain(outcome)).toMatchObject({ outcome: 'refused' });
    expect(outcome.result?.error).toContain('device nodes');
    expect(await volumeExists(volume)).toBe(false);
  });

  describe('disk space and decompression bombs, on a real small filesystem (a 96 MiB tmpfs volume)', () => {
    const tiny = uniqueName('tiny');
    let bomb: Buffer;

    beforeAll(async () => {
      await docker('volume', 'create', '--opt', 'type=tmpfs', '--opt', 'device=tmpfs', '--opt', 'o=size=96m', tiny);
      made.volumes.push(tiny);
      // 512 MiB of zeros: a few KiB compressed.
      bomb = await archiveOf('bomb.tar.zst', async (root) => {
        await run('truncate', ['-s', '512M', join(root, 'zeros')]);
      });
      expect(bomb.length).toBeLessThan(1024 * 1024);
      await s3.put('archives/h/v/bomb.tar.zst', bomb);
    });

    it('an archive larger than the free space is refused before anything is touched, and the error says why', async () => {
      const outcome = await restore({
        ArchiveUrl: await s3.presignGet('archives/h/v/small.tar.zst'),
        VolumeName: tiny,
        ExpectedUncompressedBytes: String(200 * 1024 * 1024),
        Verify: 'none',
      });
      expect(outcome.result, explain(outcome)).toMatchObject({ outcome: 'refused', failedPhase: 'preflight' });
      expect(outcome.result?.error).toMatch(/not enough free space on volume .*MiB free, the restore needs/);
      expect(await inVolume(tiny, 'ls -A /data | wc -l')).toBe('0\n');
    });

    it('a size that would fit only by filling the filesystem (a bomb claiming almost all of the free space) is refused: a tenth of the free space is kept; nothing is touched', async () => {
      // 25 MiB claimed: 27.5 MiB + the 64 MiB margin fits the 96 MiB, but not with 9.6 MiB kept free.
      const outcome = await restore({
        ArchiveUrl: await s3.presignGet('archives/h/v/bomb.tar.zst'),
        ExpectedSha256: sha(bomb),
        VolumeName: tiny,
        ExpectedUncompressedBytes: String(25 * 1024 * 1024),
        Verify: 'none',
      });
      expect(outcome.result, explain(outcome)).toMatchObject({ outcome: 'refused', failedPhase: 'preflight' });
      expect(outcome.result?.error).toMatch(/not enough free space on volume .*: 96 MiB free, the restore needs 10\d MiB \(.*and 9 MiB kept free\)/);
      expect(await inVolume(tiny, 'ls -A /data | wc -l')).toBe('0\n');
    });

    it('an archive of many empty files that would use up the inodes (the tar bound counts bytes, not inodes) is stopped and rolled back; the directory is not left behind', async () => {
      // A filesystem of 4,000 inodes and 3,900 empty files: a few MB of tar stream, well inside its byte bound.
      const many = await archiveOf('inodes.tar.zst', async (root) => {
        await run('bash', ['-c', 'cd "$1" && seq -f "f%g" 1 3900 | xargs touch', 'fill', root]);
      });
      await s3.put('archives/h/v/inodes.tar.zst', many);
      const base = `/srv/${uniqueName('inodes')}`;
      await mkdir(join(base, 'fs'), { recursive: true });
      await run('mount', ['-t', 'tmpfs', '-o', 'size=96m,nr_inodes=4000,mode=755', 'tmpfs', join(base, 'fs')]);
      try {
        const outcome = await restore({
          ArchiveUrl: await s3.presignGet('archives/h/v/inodes.tar.zst'),
          ExpectedSha256: sha(many),
          VolumeName: '',
          HostPath: join(base, 'fs', 'data'),
          ExpectedUncompressedBytes: String(4 * 1024 * 1024),
          Verify: 'none',
        });
        expect(outcome.result, explain(outcome)).toMatchObject({ outcome: 'failed', failedPhase: 'extract' });
        expect(outcome.result?.error).toMatch(
          /came within a twentieth of its size or inodes \(1 GiB at most\) of full as the archive was extracted: stopped and rolled back/,
        );
        expect(await readdir(join(base, 'fs'))).toEqual([]);
      } finally {
        await run('umount', [join(base, 'fs')]);
        await rm(base, { recursive: true, force: true });
      }
    });

    it('a bomb that claims to be small is stopped at its claimed size plus the margin and rolled back: the volume is empty again', async () => {
      const outcome = await restore({
        ArchiveUrl: await s3.presignGet('archives/h/v/bomb.tar.zst'),
        ExpectedSha256: sha(bomb),
        VolumeName: tiny,
        ExpectedUncompressedBytes: '4096',
        Verify: 'none',
      });
      expect(outcome.result, explain(outcome)).toMatchObject({ outcome: 'failed', failedPhase: 'extract' });
      expect(outcome.result?.error).toContain('expands beyond its expected uncompressed size');
      expect(await inVolume(tiny, 'ls -A /data | wc -l')).toBe('0\n');
    });

    it("a bomb onto a new volume is stopped the same way (never fills Docker's storage); the volume is removed", async () => {
      const volume = uniqueName('bombed');
      const outcome = await restore({
        ArchiveUrl: await s3.presignGet('archives/h/v/bomb.tar.zst'),
        VolumeName: volume,
        ExpectedUncompressedBytes: '4096',
        Verify: 'none',
      });
      expect(outcome.result, explain(outcome)).toMatchObject({ outcome: 'failed' });
      expect(outcome.result?.error).toContain('expands beyond');
      expect(await volumeExists(volume)).toBe(false);
    });
  });

  it('an archive whose size differs from the catalog is refused before the data goes live', async () => {
    const volume = uniqueName('size');
    const outcome = await restore({
      ArchiveUrl: await s3.presignGet('archives/h/v/small.tar.zst'),
      VolumeName: volume,
      ExpectedArchiveBytes: String(small.length + 1),
      Verify: 'none',
    });
    expect(outcome.result, explain(outcome)).toMatchObject({ outcome: 'failed', failedPhase: 'download' });
    expect(outcome.result?.error).toContain(`received ${String(small.length)} bytes`);
    expect(await volumeExists(volume)).toBe(false);
  });

  describe('env files and container logs', () => {
    const secret = `s3cr3t-${uniqueName('x')}`;
    const other = `other-${uniqueName('y')}`;

    it('only the named variables of a root-owned 0600 file in /etc/lifeboat/env reach the container', async () => {
      const file = join(envDir, `${uniqueName('env')}.env`);
      made.paths.push(file);
      await writeFile(file, `APP_SECRET=${secret}\nUNRELATED_SECRET=${other}\n`, { mode: 0o600 });
      const volume = uniqueName('envv');
      const container = uniqueName('envc');
      made.volumes.push(volume);
      made.containers.push(container);

      const outcome = await restore({
        ArchiveUrl: await s3.presignGet('archives/h/v/small.tar.zst'),
        VolumeName: volume,
        ContainerName: container,
        ContainerImage: HELPER_IMAGE,
        ContainerCommand: 'sleep 600',
        ContainerNetwork: 'none',
        ContainerEnvNames: 'APP_SECRET',
        ContainerEnvFile: file,
        MountPath: '/data',
        Verify: 'none',
      });

      expect(outcome.result, explain(outcome)).toMatchObject({ outcome: 'succeeded', containerAction: 'created' });
      const env = JSON.parse(await docker('inspect', '-f', '{{json .Config.Env}}', container)) as string[];
      expect(env).toContain(`APP_SECRET=${secret}`);
      expect(env.join('\n')).not.toContain(other);
    });

    it.each([
      [0o644, 'mode 0600'],
      [0o600, 'owned by root'],
    ])('an env file that others could read or write (mode %s, or not root-owned) is refused, nothing created', async (mode, says) => {
      const file = join(envDir, `${uniqueName('env')}.env`);
      made.paths.push(file);
      await writeFile(file, `APP_SECRET=${secret}\n`, { mode });
      await chmod(file, mode);
      if (says === 'owned by root') await chown(file, 1000, 1000);
      const volume = uniqueName('envbad');
      const outcome = await restore({
        ArchiveUrl: await s3.presignGet('archives/h/v/small.tar.zst'),
        VolumeName: volume,
        ContainerName: uniqueName('c'),
        ContainerImage: HELPER_IMAGE,
        ContainerCommand: 'sleep 600',
        ContainerEnvNames: 'APP_SECRET',
        ContainerEnvFile: file,
        MountPath: '/data',
        Verify: 'none',
      });
      expect(outcome.result, explain(outcome)).toMatchObject({ outcome: 'refused', failedPhase: 'preflight' });
      expect(outcome.result?.error).toContain(says);
      expect(await volumeExists(volume)).toBe(false);
    });

    it("a container's log lines never reach the result (they may print their secrets); they go to the command output", async () => {
      const file = join(envDir, `${uniqueName('env')}.env`);
      made.paths.push(file);
      await writeFile(file, `APP_SECRET=${secret}\n`, { mode: 0o600 });
      const volume = uniqueName('logs');
      const container = uniqueName('logc');
      // The "database" prints its environment and exits.
      const outcome = await restore({
        ArchiveUrl: await s3.presignGet('archives/h/v/small.tar.zst'),
        VolumeName: volume,
        ContainerName: container,
        ContainerImage: HELPER_IMAGE,
        ContainerCommand: 'env',
        ContainerNetwork: 'none',
        ContainerEnvNames: 'APP_SECRET',
        ContainerEnvFile: file,
        MountPath: '/data',
        Verify: 'running',
      });
      expect(outcome.result, explain(outcome)).toMatchObject({ outcome: 'failed', failedPhase: 'verify' });
      expect(outcome.result?.error).toContain('last log lines are in the command output');
      expect(outcome.stdout).not.toContain(secret);
      expect(outcome.stderr).toContain(secret);
      expect(await volumeExists(volume)).toBe(false);
    });
  });

  describe('HostPath targets', () => {
    it.each(['/tmp/lifeboat-data', '/home/alice/pgdata', '/var/lib/dpkg/pgdata'])(
      'a host path inside a shared or system directory (%s) is refused by restore and backup alike',
      async (hostPath) => {
        const outcome = await restore({ ArchiveUrl: await s3.presignGet('archives/h/v/small.tar.zst'), VolumeName: '', HostPath: hostPath, Verify: 'none' });
        expect(outcome.result, explain(outcome)).toMatchObject({ outcome: 'refused' });
        expect(outcome.result?.error).toContain('inside a system directory');
      },
    );

    it('a host path under a directory another user owns or can write is refused: nothing created', async () => {
      const base = `/srv/${uniqueName('hp')}`;
      made.paths.push(base);
      await mkdir(join(base, 'team'), { recursive: true });
      await chown(join(base, 'team'), 1000, 1000);
      const outcome = await restore({
        ArchiveUrl: await s3.presignGet('archives/h/v/small.tar.zst'),
        VolumeName: '',
        HostPath: join(base, 'team', 'pgdata'),
        Verify: 'none',
      });
      expect(outcome.result, explain(outcome)).toMatchObject({ outcome: 'refused' });
      expect(outcome.result?.error).toContain('is not owned by root');
      expect(await readdir(join(base, 'team'))).toEqual([]);

      await chown(join(base, 'team'), 0, 0);
      await chmod(join(base, 'team'), 0o777);
      const writable = await restore({
        ArchiveUrl: await s3.presignGet('archives/h/v/small.tar.zst'),
        VolumeName: '',
        HostPath: join(base, 'team', 'pgdata'),
        Verify: 'none',
      });
      expect(writable.result?.error).toContain('writable by group or others');
      expect((await stat(join(base, 'team'))).isDirectory()).toBe(true);
      expect(await readdir(join(base, 'team'))).toEqual([]);
    });
  });

  it('no helper container or staging volume is left behind by any of the above', async () => {
    expect(await volumesWithLabel('lifeboat.role=staging')).toEqual([]);
    expect((await docker('ps', '-aq', '--filter', 'label=lifeboat.role=helper')).trim()).toBe('');
  });
});
