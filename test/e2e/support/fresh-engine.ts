import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exec, run } from './exec.ts';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits (bounded) until `ready` answers true. */
async function waitFor(what: string, ready: () => Promise<boolean>, timeoutMs: number, log?: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ready())) {
    if (Date.now() > deadline) {
      const tail = log ? (await readFile(log, 'utf8').catch(() => '')).split('\n').slice(-20).join('\n') : '';
      throw new Error(`${what} did not answer within ${String(timeoutMs / 1000)} s\n${tail}`);
    }
    await sleep(250);
  }
}

/** Ends a process this test started: TERM, then KILL if it is still there after `graceMs`. */
async function stop(child: ChildProcess | undefined, graceMs: number): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      resolve();
    }),
  );
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** A free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (typeof address === 'object' && address) resolve(address.port);
        else reject(new Error('no port'));
      });
    });
  });
}

async function need(tool: string, hint: string): Promise<void> {
  const found = await exec('sh', ['-c', 'command -v "$1"', 'sh', tool]);
  if (found.code !== 0) throw new Error(`The fresh-host test needs \`${tool}\` on this host: ${hint}`);
}

/**
 * A second Docker engine owned by the test, as a replacement host has it: its own data root
 * (under /var/lib, where overlay2 works), exec root, pid file and socket, and no iptables
 * rules, so it holds no image and touches nothing of the main engine. Its default bridge is
 * one of its own, created here and left down (no traffic can flow on it; the test's
 * containers use --network none): `--bridge none` would not do, because dockerd then
 * deletes the host's `docker0` at start, which breaks the main engine's bridge networking.
 */
export class FreshEngine {
  private constructor(
    readonly dir: string,
    readonly dataRoot: string,
    readonly host: string,
    private readonly daemon: ChildProcess,
    private readonly bridge: string,
  ) {}

  static async start(): Promise<FreshEngine> {
    await need('dockerd', 'apt-get install docker.io (bash .ci/run does)');
    await need('ip', 'apt-get install iproute2');
    const dir = await mkdtemp(join(tmpdir(), 'lb-fresh-'));
    const dataRoot = `/var/lib/lifeboat-e2e-fresh-${randomBytes(4).toString('hex')}`;
    await mkdir(dataRoot, { mode: 0o700 });
    // Its own empty daemon.json: settings of the main engine's (e.g. hosts) must not apply here.
    await writeFile(join(dir, 'daemon.json'), '{}\n');
    const log = join(dir, 'dockerd.log');
    const out = createWriteStream(log);
    const host = `unix://${join(dir, 'docker.sock')}`;
    const args = ['--config-file', join(dir, 'daemon.json'), '--data-root', dataRoot, '--exec-root', join(dir, 'exec'), '--pidfile', join(dir, 'docker.pid')];
    // An interface name is at most 15 characters; 10.254.x.0/24 is only ever the address of this down bridge.
    const suffix = randomBytes(3);
    const bridge = `lbfresh${suffix.toString('hex')}`;
    await run('ip', ['link', 'add', 'name', bridge, 'type', 'bridge']);
    await run('ip', ['addr', 'add', `10.254.${(suffix[0] ?? 0).toString()}.1/24`, 'dev', bridge]);
    args.push('-H', host, '--bridge', bridge, '--iptables=false', '--ip-masq=false', '--ip-forward=false', '--log-level', 'warn');
    const env = { ...process.env };
    delete env.DOCKER_HOST;
    const daemon = spawn('dockerd', args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    daemon.stdout.pipe(out);
    daemon.stderr.pipe(out);
    const engine = new FreshEngine(dir, dataRoot, host, daemon, bridge);
    try {
      await waitFor('the fresh Docker engine', async () => daemon.exitCode === null && (await engine.exec('info')).code === 0, 60_000, log);
    } catch (error) {
      await engine.close();
      throw error;
    }
    return engine;
  }

  /** The environment a document run on this "host" gets. */
  get env(): Record<string, string> {
    return { DOCKER_HOST: this.host };
  }

  exec(...args: string[]): ReturnType<typeof exec> {
    return exec('docker', ['-H', this.host, ...args]);
  }

  docker(...args: string[]): Promise<string> {
    return run('docker', ['-H', this.host, ...args]);
  }

  /** Removes every container, stops the daemon (bounded), unmounts what it left and deletes its folders. */
  async close(): Promise<void> {
    if (this.daemon.exitCode === null) {
      const ids = (await this.exec('ps', '-aq')).stdout.split('\n').filter(Boolean);
      if (ids.length > 0) await this.exec('rm', '-f', ...ids);
    }
    await stop(this.daemon, 30_000);
    const mounts = (await readFile('/proc/self/mounts', 'utf8'))
      .split('\n')
      .map((line) => line.split(' ')[1] ?? '')
      .filter((path) => path.startsWith(`${this.dataRoot}/`) || path.startsWith(`${this.dir}/`))
      .reverse();
    for (const path of mounts) await exec('umount', ['-l', path]);
    await rm(this.dataRoot, { recursive: true, force: true });
    await rm(this.dir, { recursive: true, force: true });
    await exec('ip', ['link', 'del', this.bridge]);
  }
}

/** Debian's docker-registry (2.8.2) on 127.0.0.1, storing in a temporary folder. */
export class LocalRegistry {
  private constructor(
    readonly dir: string,
    readonly address: string,
    private process: ChildProcess | undefined,
  ) {}

  static async start(): Promise<LocalRegistry> {
    await need('docker-registry', 'apt-get install docker-registry (bash .ci/run does)');
    const dir = await mkdtemp(join(tmpdir(), 'lb-registry-'));
    const address = `127.0.0.1:${String(await freePort())}`;
    const config = join(dir, 'config.yml');
    await writeFile(
      config,
      ['version: 0.1', 'log:', '  level: warn', 'storage:', '  filesystem:', `    rootdirectory: ${join(dir, 'data')}`, 'http:', `  addr: ${address}`, ''].join(
        '\n',
      ),
    );
    const log = join(dir, 'registry.log');
    const out = createWriteStream(log);
    const child = spawn('docker-registry', ['serve', config], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.pipe(out);
    child.stderr.pipe(out);
    const registry = new LocalRegistry(dir, address, child);
    try {
      await waitFor('the local registry', () => registry.answers(), 30_000, log);
    } catch (error) {
      await registry.close();
      throw error;
    }
    return registry;
  }

  async answers(): Promise<boolean> {
    if (!this.process || this.process.exitCode !== null) return false;
    return fetch(`http://${this.address}/v2/`).then(
      (r) => r.ok,
      () => false,
    );
  }

  /**
   * Pushes a local image of the main engine as `<registry>/<repository>:<tag>` and returns
   * its reference by digest, `<registry>/<repository>@sha256:…`; the push tag is removed again.
   */
  async push(image: string, repository: string, tag: string): Promise<string> {
    const ref = `${this.address}/${repository}`;
    await run('docker', ['tag', image, `${ref}:${tag}`]);
    try {
      await run('docker', ['push', `${ref}:${tag}`], { timeoutMs: 300_000 });
      const digests = (await run('docker', ['image', 'inspect', '-f', '{{range .RepoDigests}}{{println .}}{{end}}', `${ref}:${tag}`])).split('\n');
      const digest = digests.find((d) => d.startsWith(`${ref}@sha256:`));
      if (!digest) throw new Error(`no digest of ${ref} after the push: ${digests.join(', ')}`);
      return digest;
    } finally {
      await exec('docker', ['rmi', `${ref}:${tag}`]);
    }
  }

  /** Stops the registry (bounded); the store stays until close. */
  async stop(): Promise<void> {
    await stop(this.process, 10_000);
    this.process = undefined;
  }

  async close(): Promise<void> {
    await this.stop();
    await rm(this.dir, { recursive: true, force: true });
  }
}
