import { SOURCE_PATTERN } from '../archive-key.ts';
import { ClientError } from './errors.ts';
import type { InstanceStatus } from './ports.ts';

/** The tag a target host declares the sources it may receive with. */
export const TARGET_SOURCES_TAG = 'lifeboat:sources';
/** The tag value (alone or in the list) of a spare host that may receive any source. */
export const ANY_SOURCE = '*';

/**
 * The sources a `lifeboat:sources` tag value declares: comma-separated names, spaces
 * around them ignored; `*` for any. Anything that is not a source name is dropped
 * (a tag value is free text: it never widens what a host receives).
 */
export function parseSourcesTag(value: string | undefined): readonly string[] | undefined {
  if (value === undefined) return undefined;
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s === ANY_SOURCE || SOURCE_PATTERN.test(s));
}

/**
 * A target host declares which sources it may receive (issue 13 item 4): a host
 * without the tag, or whose tag does not list the source (nor `*`), is refused
 * before anything is locked or sent.
 */
export function assertTargetReceives(target: { readonly instanceId: string } & InstanceStatus, source: string): void {
  const declared = target.sources;
  if (declared?.includes(ANY_SOURCE) || declared?.includes(source)) return;
  const what =
    declared === undefined ? `has no ${TARGET_SOURCES_TAG} tag` : `has ${TARGET_SOURCES_TAG}=${JSON.stringify(declared.join(','))}, which does not list it`;
  throw new ClientError(
    403,
    `instance ${target.instanceId} may not receive source ${source}: it ${what}; nothing was locked or sent ` +
      `(tag the host ${TARGET_SOURCES_TAG}=${source}, comma-separated for several, or ${ANY_SOURCE} for a spare host)`,
    { instanceId: target.instanceId, source, tag: TARGET_SOURCES_TAG, declaredSources: declared ?? null },
  );
}

/** A volume the stack protects for a source (the protect config's entries, as the policy carries them). */
export interface ProtectedVolume {
  readonly source: string;
  readonly volume: string;
}

/** How a host's tag and the protect config bear on one source's volume there. */
function sharedHostView(
  target: InstanceStatus,
  source: string,
  volume: string,
  protectedVolumes: readonly ProtectedVolume[],
): {
  readonly declared: readonly string[];
  readonly others: readonly string[];
  readonly mine: readonly string[];
  readonly alsoTheirs: readonly string[];
  readonly spare: boolean;
  readonly mayBeAnothers: boolean;
} {
  const declared = target.sources ?? [];
  const others = [...new Set(declared.filter((s) => s !== source))];
  const mine = protectedVolumes.filter((p) => p.source === source).map((p) => p.volume);
  const spare = declared.includes(ANY_SOURCE);
  const alsoTheirs = [
    ...new Set(protectedVolumes.filter((p) => p.volume === volume && p.source !== source && (spare || others.includes(p.source))).map((p) => p.source)),
  ];
  return { declared, others, mine, alsoTheirs, spare, mayBeAnothers: others.length > 0 && !(mine.includes(volume) && alsoTheirs.length === 0) };
}

/**
 * Whether a volume of this name on this host may be another source's: the host serves other
 * sources too (its tag names them, or `*`) and the stack does not protect the volume for this
 * source alone. Such a restore may only make a new volume: the host is told `IfVolumeExists=absent`,
 * so an existing one, even empty (made ahead, or on another source's NFS export), is refused.
 */
export function mayBeAnothersVolume(target: InstanceStatus, source: string, volume: string, protectedVolumes: readonly ProtectedVolume[]): boolean {
  return sharedHostView(target, source, volume, protectedVolumes).mayBeAnothers;
}

/** What of a restore decides whether it acts on data already on the host. */
export interface ReplaceRequest {
  readonly source: string;
  readonly volume: string;
  /** The database container stopped, restarted and verified; undefined (or '') for a data-only restore. */
  readonly containerName?: string;
  readonly ifVolumeExists: 'fail' | 'preserve';
}

const sharedTag = (declared: readonly string[]): string => `${TARGET_SOURCES_TAG}=${JSON.stringify(declared.join(','))}`;

/**
 * Whether this restore may act on what is already on a host shared with other sources
 * (the tag names more sources than this one, or `*`). A caller granted one source can
 * restore that source's archives under any volume name (a compromised host of the source
 * can plant one under another source's volume name), so on a shared host replacing an
 * existing volume (`ifVolumeExists: preserve`) or stopping and restarting a container is
 * allowed only for a volume the stack protects for this source, and for no other source
 * the host may hold: those its tag names, and on a `*` (spare) host every source (sources
 * commonly name volumes alike, e.g. pgdata, and a spare is where several sources' restores
 * land on a disaster day; Docker has one volume of a name per host). A restore into a new volume
 * with no container touches nothing of anyone's and stays allowed (the host is told the volume
 * must not exist: {@link mayBeAnothersVolume}). Called after
 * {@link assertTargetReceives}: before anything is locked or sent.
 */
export function assertMayReplaceOnShared(
  target: { readonly instanceId: string } & InstanceStatus,
  request: ReplaceRequest,
  protectedVolumes: readonly ProtectedVolume[],
): void {
  const { source, volume } = request;
  const container = request.containerName || undefined;
  const replaces = request.ifVolumeExists === 'preserve';
  const shared = sharedHostView(target, source, volume, protectedVolumes);
  if (!shared.mayBeAnothers || (!replaces && container === undefined)) return;
  const { declared, others, mine, alsoTheirs, spare } = shared;
  const field = replaces ? 'ifVolumeExists' : 'containerName';
  const acts = [
    ...(replaces ? [`replace volume ${volume} if it exists`] : []),
    ...(container === undefined ? [] : [`stop and restart container ${container}`]),
  ].join(' and ');
  const theirs = spare ? 'which a host tagged * may hold too' : 'which this host serves too';
  const why = !mine.includes(volume)
    ? `the stack does not protect volume ${volume} for ${source} (protected for ${source}: ${mine.length === 0 ? 'none' : mine.join(', ')}), so it may be another source's`
    : `volume ${volume} is also protected for ${alsoTheirs.join(', ')}, ${theirs}, so it may be theirs`;
  const instead =
    `restore into a new volume with no containerName and ifVolumeExists fail, ` +
    (mine.includes(volume) ? '' : `add a protect entry for ${source}/${volume}, `) +
    `or restore on a host tagged ${TARGET_SOURCES_TAG}=${source} alone`;
  throw new ClientError(
    403,
    `a restore of source ${source} may not ${acts} on instance ${target.instanceId}: it is shared (${sharedTag(declared)}) and ${why}; ` +
      `nothing was locked or sent (${instead})`,
    {
      instanceId: target.instanceId,
      source,
      volume,
      tag: TARGET_SOURCES_TAG,
      declaredSources: target.sources ?? null,
      fields: [
        {
          field,
          problem: !mine.includes(volume)
            ? `not allowed on a host shared with other sources (${others.join(', ')}) unless the stack protects ${volume} for ${source}`
            : `not allowed on a host that may hold ${alsoTheirs.join(', ')}, which also protect a volume named ${volume}`,
        },
      ],
    },
  );
}
