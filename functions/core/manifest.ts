import * as z from 'zod';
import { redactDriverOpts } from './policy.ts';

/** The database container's spec as `backup-volume` records it (env NAMES only). */
export const ContainerSpec = z.object({
  name: z.string(),
  image: z.string(),
  envNames: z.array(z.string()),
  command: z.array(z.string()).nullable(),
  shmSize: z.number().int().nonnegative(),
  restartPolicy: z.string(),
  networkMode: z.string(),
  privileged: z.boolean(),
  capAdd: z.array(z.string()).nullable(),
  pidMode: z.string(),
  user: z.string(),
  mounts: z.array(
    z.object({
      type: z.string(),
      name: z.string().optional(),
      source: z.string(),
      destination: z.string(),
      readOnly: z.boolean(),
    }),
  ),
  ports: z.array(z.string()),
});
export type ContainerSpec = z.infer<typeof ContainerSpec>;

/** The manifest `backup-volume` writes beside each archive (`<key>.manifest.json`). */
export const ArchiveManifest = z.object({
  lifeboat: z.literal('archive-manifest'),
  version: z.literal(1),
  archiveKey: z.string(),
  createdAt: z.iso.datetime(),
  source: z.string(),
  backupId: z.string(),
  sha256: z.string().regex(/^[a-f0-9]{64}$/),
  compression: z.enum(['zstd', 'gzip', 'none']),
  compressedBytes: z.number().int().nonnegative(),
  uncompressedBytes: z.number().int().nonnegative(),
  fileCount: z.number().int().nonnegative(),
  consistency: z.enum(['pause', 'stop', 'none']),
  volume: z
    .object({
      name: z.string(),
      driver: z.string(),
      driverOpts: z.record(z.string(), z.string()).nullable(),
      labels: z.record(z.string(), z.string()).nullable(),
    })
    .nullable(),
  hostPath: z.string().nullable(),
  mountPath: z.string(),
  container: ContainerSpec.nullable(),
  /**
   * Top-level names in the data directory (at most 64), for telling the engine apart
   * (PG_VERSION, ibdata1, dump.rdb, WiredTiger). Absent in manifests made before engines.
   */
  dataMarkers: z.array(z.string().max(255)).max(64).optional(),
});
export type ArchiveManifest = z.infer<typeof ArchiveManifest>;

/** A manifest asks for something Lifeboat will not do on a host. */
export class UnsafeSpecError extends Error {
  override readonly name = 'UnsafeSpecError';
  constructor(
    readonly field: string,
    reason: string,
  ) {
    super(`manifest container.${field}: ${reason}`);
  }
}

/**
 * Restore-document parameters that recreate the container a manifest describes.
 * Never the volume's driver or options: those decide what the host mounts (a disk,
 * someone else's NFS server), so they come from the operator, not from the archive.
 */
export interface RecreateParameters {
  MountPath: string;
  ContainerImage: string;
  ContainerCommand: string;
  ContainerEnvNames: string;
  ContainerPorts: string;
  ShmSize: string;
  RestartPolicy: string;
  ContainerNetwork: string;
}

const NO_NETWORK_CHANGE = new Set(['default', 'bridge', '']);

/**
 * Turns a manifest into restore parameters for a bare host, refusing anything
 * that would widen the container's privileges: privileged mode, added
 * capabilities, host network or PID namespace, or mounts other than the data
 * volume itself. A manifest is data read from S3, so it is never trusted.
 */
/** What the manifest recorded about the volume's driver (shown in plans, never used). */
export function recordedVolumeDriver(manifest: ArchiveManifest | undefined): { driver: string; driverOpts: Record<string, string> } | null {
  if (!manifest?.volume) return null;
  return { driver: manifest.volume.driver, driverOpts: redactDriverOpts(manifest.volume.driverOpts ?? {}) };
}

export function recreateParameters(manifest: ArchiveManifest): RecreateParameters {
  const spec = manifest.container;
  const base = { MountPath: manifest.mountPath };
  if (!spec) {
    return {
      ...base,
      ContainerImage: '',
      ContainerCommand: '',
      ContainerEnvNames: '',
      ContainerPorts: '',
      ShmSize: '',
      RestartPolicy: '',
      ContainerNetwork: '',
    };
  }
  if (spec.privileged) throw new UnsafeSpecError('privileged', 'privileged containers are never recreated');
  if (spec.capAdd && spec.capAdd.length > 0) throw new UnsafeSpecError('capAdd', `added capabilities (${spec.capAdd.join(', ')}) are refused`);
  if (spec.networkMode === 'host' || spec.networkMode.startsWith('container:')) {
    throw new UnsafeSpecError('networkMode', `${spec.networkMode} network is refused; use a bridge network`);
  }
  if (spec.pidMode !== '') throw new UnsafeSpecError('pidMode', `${spec.pidMode} PID namespace is refused`);
  for (const mount of spec.mounts) {
    if (mount.destination === manifest.mountPath) continue;
    throw new UnsafeSpecError('mounts', `only the data volume is mounted; ${mount.type} mount at ${mount.destination} is refused`);
  }
  if (spec.command?.some((arg) => arg.includes(' '))) {
    throw new UnsafeSpecError('command', 'arguments containing spaces cannot be passed safely');
  }
  return {
    ...base,
    ContainerImage: spec.image,
    ContainerCommand: (spec.command ?? []).join(' '),
    ContainerEnvNames: spec.envNames.join(','),
    ContainerPorts: spec.ports.join(','),
    ShmSize: spec.shmSize > 0 ? `${spec.shmSize}b` : '',
    RestartPolicy: spec.restartPolicy === 'no' ? '' : spec.restartPolicy,
    ContainerNetwork: NO_NETWORK_CHANGE.has(spec.networkMode) ? '' : spec.networkMode,
  };
}
