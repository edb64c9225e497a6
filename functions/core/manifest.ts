import * as z from 'zod';
import { redactDriverOpts } from './policy.ts';

/**
 * A network the container was attached to, with its aliases there (the container's own
 * short id left out). A user-defined network also carries what `docker network inspect`
 * says of it, so a missing one can be created as it was. Absent in older manifests.
 */
export const ContainerNetworkSpec = z.object({
  name: z.string(),
  aliases: z.array(z.string()).nullable(),
  driver: z.string().optional(),
  internal: z.boolean().optional(),
  enableIPv6: z.boolean().optional(),
  labels: z.record(z.string(), z.string()).nullable().optional(),
  options: z.record(z.string(), z.string()).nullable().optional(),
});
export type ContainerNetworkSpec = z.infer<typeof ContainerNetworkSpec>;

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
  /** All the container's labels (its image's too); a restore passes on only those it allows. Absent in older manifests. */
  labels: z.record(z.string(), z.string()).nullable().optional(),
  networks: z.array(ContainerNetworkSpec).optional(),
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
  /** `key=value` labels, space-separated, for a container the restore creates (Compose's, and those the operator allows). */
  ContainerLabels: string;
  /** The same for a volume the restore creates; it then carries these and none of Lifeboat's own. */
  VolumeLabels: string;
  /** `NETWORK[:ALIAS,ALIAS]`, space-separated: every network a created container joins, with its aliases there. */
  ContainerNetworks: string;
  /** `NETWORK[,internal][,key=value...]`, space-separated: bridge networks to create when missing, as they were. */
  CreateNetworks: string;
  /** `TYPE:SOURCE:DESTINATION`, space-separated: mounts besides the data; the host refuses to recreate the container while there are any. */
  ContainerOtherMounts: string;
}

/** One label key (Docker takes more; these are what a document parameter carries). */
export const LABEL_KEY_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
/** One label value of a container or a volume. */
export const LABEL_VALUE_PATTERN = /^[A-Za-z0-9_.,:/@+=-]{0,255}$/;
/** One label value of a network (no comma: it separates the parts of a CreateNetworks entry). */
export const NETWORK_LABEL_VALUE_PATTERN = /^[A-Za-z0-9_.:/@+=-]{0,255}$/;
/** A network's name, or an alias on it. */
export const NETWORK_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
/** The labels Docker Compose reads to adopt a container, a volume or a network. */
export const COMPOSE_LABEL_PREFIX = 'com.docker.compose.';
/** The document's maxChars of each parameter (restore-volume.yaml). */
const MAX_CHARS = { ContainerLabels: 2048, VolumeLabels: 1024, ContainerNetworks: 1024, CreateNetworks: 1024, ContainerOtherMounts: 1024 } as const;
const MAX_NETWORKS = 8;
/** Docker's own networks: never created, and the default bridge takes no aliases. */
const PREDEFINED_NETWORKS = new Set(['bridge', 'host', 'none']);
/** The old container's short id, which Docker adds as an alias of its own. */
const SHORT_ID = /^[a-f0-9]{12}$/;

export interface RecreateOptions {
  /**
   * Label keys put back besides Compose's (`com.docker.compose.*`): exact keys, or
   * prefixes ending in `.` (e.g. `traefik.`). Labels drive other tools (proxies,
   * updaters, backup jobs), so the rest is left out. `lifeboat.*` never comes from a manifest.
   */
  readonly allowLabels?: readonly string[];
}

/** Something the manifest recorded that the restore leaves out, and why. */
export interface Dropped {
  readonly what: string;
  readonly reason: string;
}

export interface RecreatePlan {
  readonly parameters: RecreateParameters;
  /** What the manifest recorded and the restore leaves out (labels, aliases, networks it will not create). */
  readonly dropped: readonly Dropped[];
  /** Mounts besides the data, as `TYPE SOURCE at DESTINATION`: never created; refused when the container must be recreated. */
  readonly otherMounts: readonly string[];
}

const NO_NETWORK_CHANGE = new Set(['default', 'bridge', '']);

/** What the manifest recorded about the volume's driver (shown in plans, never used). */
export function recordedVolumeDriver(manifest: ArchiveManifest | undefined): { driver: string; driverOpts: Record<string, string> } | null {
  if (!manifest?.volume) return null;
  return { driver: manifest.volume.driver, driverOpts: redactDriverOpts(manifest.volume.driverOpts ?? {}) };
}

/** Why a recorded label is not put back, or undefined when it is. */
export function labelRefusal(key: string, value: string, options: RecreateOptions = {}, valuePattern: RegExp = LABEL_VALUE_PATTERN): string | undefined {
  if (/^lifeboat\./i.test(key)) return "Lifeboat's own labels never come from a manifest";
  if (!LABEL_KEY_PATTERN.test(key)) return `the key does not match ${LABEL_KEY_PATTERN.source}`;
  const allowed = key.startsWith(COMPOSE_LABEL_PREFIX) || (options.allowLabels ?? []).some((a) => (a.endsWith('.') ? key.startsWith(a) : key === a));
  if (!allowed) return 'not a Compose label (com.docker.compose.*) nor one the operator allows';
  if (!valuePattern.test(value)) return `the value does not match ${valuePattern.source}`;
  return undefined;
}

/** Whether a label's key comes first: Compose's (needed for adoption), then the rest, each by key. */
const byKey = ([a]: [string, string], [b]: [string, string]): number =>
  Number(!a.startsWith(COMPOSE_LABEL_PREFIX)) - Number(!b.startsWith(COMPOSE_LABEL_PREFIX)) || (a < b ? -1 : a > b ? 1 : 0);

/** `key=value` words of the labels that may be put back, within `maxChars`; the rest goes to `dropped`. */
function labelWords(
  where: string,
  labels: Readonly<Record<string, string>> | null | undefined,
  options: RecreateOptions,
  dropped: Dropped[],
  maxChars: number,
  valuePattern: RegExp = LABEL_VALUE_PATTERN,
): string[] {
  const words: string[] = [];
  let length = -1;
  for (const [key, value] of Object.entries(labels ?? {}).sort(byKey)) {
    const shown = key.slice(0, 128);
    const reason = labelRefusal(key, value, options, valuePattern);
    if (reason !== undefined) {
      dropped.push({ what: `${where} label ${shown}`, reason });
      continue;
    }
    const word = `${key}=${value}`;
    if (length + 1 + word.length > maxChars) {
      dropped.push({ what: `${where} label ${shown}`, reason: `the labels exceed the parameter's ${maxChars.toString()} characters` });
      continue;
    }
    words.push(word);
    length += 1 + word.length;
  }
  return words;
}

/** A mount as the document parameter carries it: TYPE:SOURCE:DESTINATION, odd characters made `_` (it is only ever named). */
function mountWord(mount: ContainerSpec['mounts'][number]): string {
  const clean = (text: string): string => text.replace(/[^A-Za-z0-9_.@+/-]/g, '_').slice(0, 255);
  const type = /^[a-z]{1,16}$/.test(mount.type) ? mount.type : 'other';
  const source = mount.type === 'volume' ? (mount.name ?? '') : mount.source;
  return `${type}:${clean(source)}:${clean(mount.destination) || '_'}`;
}

/** The networks a recreated container joins (with aliases) and those the host may create when missing. */
function networkParameters(spec: ContainerSpec, options: RecreateOptions, dropped: Dropped[]): { join: string; create: string } {
  const join: string[] = [];
  const create: string[] = [];
  for (const network of spec.networks ?? []) {
    if (PREDEFINED_NETWORKS.has(network.name)) continue;
    if (!NETWORK_NAME_PATTERN.test(network.name) || join.length >= MAX_NETWORKS) {
      const reason =
        join.length >= MAX_NETWORKS
          ? `a container joins at most ${MAX_NETWORKS.toString()} networks here`
          : `the name does not match ${NETWORK_NAME_PATTERN.source}`;
      dropped.push({ what: `network ${network.name.slice(0, 64)}`, reason });
      continue;
    }
    const aliases: string[] = [];
    for (const alias of network.aliases ?? []) {
      if (SHORT_ID.test(alias) || aliases.includes(alias)) continue;
      if (NETWORK_NAME_PATTERN.test(alias)) aliases.push(alias);
      else dropped.push({ what: `alias ${alias.slice(0, 64)} on network ${network.name}`, reason: `it does not match ${NETWORK_NAME_PATTERN.source}` });
    }
    join.push(aliases.length > 0 ? `${network.name}:${aliases.join(',')}` : network.name);
    if (network.driver === undefined) continue;
    const notCreated = (reason: string): void => {
      dropped.push({
        what: `network ${network.name} (creation)`,
        reason: `${reason}; Lifeboat will not create it: create it before the restore if it is missing`,
      });
    };
    const opts = Object.keys(network.options ?? {});
    if (network.driver !== 'bridge') notCreated(`its driver is ${network.driver} (Lifeboat creates bridge networks only)`);
    else if (opts.length > 0) notCreated(`it has driver options (${opts.join(', ')})`);
    else if (network.enableIPv6 === true) notCreated('it has IPv6 enabled');
    else {
      const labels = labelWords(`network ${network.name}`, network.labels, options, dropped, 512, NETWORK_LABEL_VALUE_PATTERN);
      create.push([network.name, ...(network.internal === true ? ['internal'] : []), ...labels].join(','));
    }
  }
  const fit = (words: string[], name: keyof typeof MAX_CHARS): string => {
    const text = words.join(' ');
    if (text.length > MAX_CHARS[name])
      throw new UnsafeSpecError('networks', `the networks take ${text.length.toString()} characters in ${name}; at most ${MAX_CHARS[name].toString()}`);
    return text;
  };
  return { join: fit(join, 'ContainerNetworks'), create: fit(create, 'CreateNetworks') };
}

/**
 * Turns a manifest into restore parameters for a bare host, refusing anything
 * that would widen the container's privileges: privileged mode, added
 * capabilities, host network or PID namespace. Mounts besides the data volume are
 * never created: they go to the host by name only, which refuses to recreate the
 * container while there are any (an existing container is only restarted). Labels
 * and networks are put back so that Docker Compose adopts what the restore creates;
 * what does not fit the allowlists is left out and listed in `dropped`. A manifest
 * is data read from S3, so it is never trusted.
 */
export function recreatePlan(manifest: ArchiveManifest, options: RecreateOptions = {}): RecreatePlan {
  const spec = manifest.container;
  const dropped: Dropped[] = [];
  const base = {
    MountPath: manifest.mountPath,
    VolumeLabels: labelWords('volume', manifest.volume?.labels, options, dropped, MAX_CHARS.VolumeLabels).join(' '),
  };
  if (!spec) {
    return {
      parameters: {
        ...base,
        ContainerImage: '',
        ContainerCommand: '',
        ContainerEnvNames: '',
        ContainerPorts: '',
        ShmSize: '',
        RestartPolicy: '',
        ContainerNetwork: '',
        ContainerLabels: '',
        ContainerNetworks: '',
        CreateNetworks: '',
        ContainerOtherMounts: '',
      },
      dropped,
      otherMounts: [],
    };
  }
  if (spec.privileged) throw new UnsafeSpecError('privileged', 'privileged containers are never recreated');
  if (spec.capAdd && spec.capAdd.length > 0) throw new UnsafeSpecError('capAdd', `added capabilities (${spec.capAdd.join(', ')}) are refused`);
  if (spec.networkMode === 'host' || spec.networkMode.startsWith('container:')) {
    throw new UnsafeSpecError('networkMode', `${spec.networkMode} network is refused; use a bridge network`);
  }
  if (spec.pidMode !== '') throw new UnsafeSpecError('pidMode', `${spec.pidMode} PID namespace is refused`);
  if (spec.command?.some((arg) => arg.includes(' '))) {
    throw new UnsafeSpecError('command', 'arguments containing spaces cannot be passed safely');
  }
  const others = spec.mounts.filter((m) => m.destination !== manifest.mountPath);
  const otherMounts = others.map((m) => `${m.type} ${m.type === 'volume' ? (m.name ?? '') : m.source} at ${m.destination}`);
  const mountWords = others.map(mountWord).join(' ');
  if (mountWords.length > MAX_CHARS.ContainerOtherMounts) {
    throw new UnsafeSpecError(
      'mounts',
      `only the data volume is ever mounted, and the other mounts are too many to name on the host: ${otherMounts.join('; ')}`,
    );
  }
  const containerLabels = labelWords('container', spec.labels, options, dropped, MAX_CHARS.ContainerLabels).join(' ');
  const networks = networkParameters(spec, options, dropped);
  return {
    parameters: {
      ...base,
      ContainerImage: spec.image,
      ContainerCommand: (spec.command ?? []).join(' '),
      ContainerEnvNames: spec.envNames.join(','),
      ContainerPorts: spec.ports.join(','),
      ShmSize: spec.shmSize > 0 ? `${spec.shmSize}b` : '',
      RestartPolicy: spec.restartPolicy === 'no' ? '' : spec.restartPolicy,
      ContainerNetwork: NO_NETWORK_CHANGE.has(spec.networkMode) ? '' : spec.networkMode,
      ContainerLabels: containerLabels,
      ContainerNetworks: networks.join,
      CreateNetworks: networks.create,
      ContainerOtherMounts: mountWords,
    },
    dropped,
    otherMounts,
  };
}

/** The parameters of {@link recreatePlan}; use the plan itself to show what was left out. */
export function recreateParameters(manifest: ArchiveManifest, options: RecreateOptions = {}): RecreateParameters {
  return recreatePlan(manifest, options).parameters;
}
