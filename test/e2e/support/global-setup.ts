import { buildCli } from '#root/scripts/build-cli.ts';
import { exec } from './exec.ts';
import { HELPER_IMAGE, MARIADB_IMAGE, POSTGRES_IMAGE, REDIS_IMAGE } from './docker.ts';

/**
 * The e2e suite needs a real Docker engine and the local test images. Without
 * them it fails loudly with what to do; it never passes by skipping.
 */
export default async function setup(): Promise<void> {
  const info = await exec('docker', ['info', '--format', '{{.ServerVersion}}']).catch((e: unknown) => ({ code: 127, stdout: '', stderr: String(e) }));
  if (info.code !== 0) {
    throw new Error(
      'The e2e tests need a running Docker engine, and `docker info` failed:\n' +
        `  ${info.stderr.trim().split('\n').pop() ?? ''}\n` +
        'Start one with `bash .ci/run` (installs docker.io, starts dockerd, builds the test images), ' +
        'or by hand: `apt-get install -y docker.io && (dockerd >/tmp/dockerd.log 2>&1 &)`.',
    );
  }
  for (const image of [HELPER_IMAGE, POSTGRES_IMAGE, MARIADB_IMAGE, REDIS_IMAGE]) {
    const found = await exec('docker', ['image', 'inspect', image]);
    if (found.code !== 0) {
      throw new Error(`The e2e tests need the local image ${image}; build it with \`bash scripts/test-images.sh\`.`);
    }
  }
  for (const tool of ['curl', 'aws']) {
    const found = await exec('sh', ['-c', 'command -v "$1"', 'sh', tool]);
    if (found.code !== 0) throw new Error(`The e2e tests need \`${tool}\` on this host (bash .ci/run installs it).`);
  }
  // The CLI tests run bin/lifeboat.mjs, the compiled CLI as it ships: compiled from these sources, never a stale dist/.
  await buildCli();
}
