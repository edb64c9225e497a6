import { docker, volumeDigest } from './docker.ts';

export interface HostSnapshot {
  readonly volumes: string[];
  readonly containers: string[];
  readonly digests: Record<string, string>;
}

/**
 * What an operator would compare after a failed restore: every volume and
 * container on the engine (name and state), and the full digest of the
 * volumes that matter.
 */
export async function snapshotHost(watchVolumes: string[]): Promise<HostSnapshot> {
  const volumes = (await docker('volume', 'ls', '-q')).split('\n').filter(Boolean).sort();
  const containers = (await docker('ps', '-a', '--format', '{{.Names}} {{.State}}')).split('\n').filter(Boolean).sort();
  const digests: Record<string, string> = {};
  for (const v of watchVolumes) digests[v] = await volumeDigest(v);
  return { volumes, containers, digests };
}
