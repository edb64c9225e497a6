import type { ArchiveManifest } from '../manifest.ts';
import { DATABASE_ENGINES, ENGINE_PROFILES, type Engine, type EngineRequest } from './profiles.ts';

/** Where an engine decision came from, strongest first. */
export const ENGINE_SOURCES = ['request', 'protect-config', 'manifest-markers', 'manifest-image', 'host'] as const;
export type EngineSource = (typeof ENGINE_SOURCES)[number];

export interface DetectEngineInput {
  /** The request's engine; absent or `auto` leaves it to what follows. */
  readonly override?: EngineRequest | undefined;
  /** The protect config's engine for this volume; absent or `auto` leaves it to the archive. */
  readonly protectedEngine?: EngineRequest | undefined;
  /** The archive's manifest: its container image is a hint. */
  readonly manifest?: Pick<ArchiveManifest, 'container'> | null | undefined;
  /** Top-level names in the archived data directory (`PG_VERSION`, `./ibdata1`, `mysql/`), as the manifest records them. */
  readonly dataMarkers?: readonly string[] | undefined;
}

export interface EngineDetection {
  /** `auto`: the plan could not tell; the host decides from the extracted data (its ENGINE_MARKERS). */
  readonly engine: Engine | 'auto';
  readonly source: EngineSource;
  /** One sentence for plans: why this engine, and any evidence that disagrees. */
  readonly detail: string;
}

interface Evidence {
  readonly engine: Engine;
  readonly why: string;
}

/** A data directory's top-level name, however the archive listed it (`./mysql/user.frm` → `mysql`). */
const topLevelName = (name: string): string => name.replace(/^(\.\/)+/, '').split('/')[0] ?? '';

const markerMatches = (marker: string, name: string): boolean => (marker.endsWith('*') ? name.startsWith(marker.slice(0, -1)) : name === marker);

/** Each database engine whose data markers are among `names`, with the markers found. */
export function enginesFromMarkers(names: readonly string[]): { engine: Engine; markers: string[] }[] {
  const top = [...new Set(names.map(topLevelName).filter((n) => n !== '' && n !== '.'))];
  return DATABASE_ENGINES.flatMap((engine) => {
    const markers = top.filter((name) => ENGINE_PROFILES[engine].dataMarkers.some((m) => markerMatches(m, name)));
    return markers.length > 0 ? [{ engine, markers: markers.sort() }] : [];
  });
}

/** An image reference's repository name, lower-cased, without registry, path, tag or digest (`docker.io/library/postgres:16` → `postgres`). */
export function imageRepositoryName(image: string): string {
  const withoutDigest = image.split('@')[0] ?? '';
  const lastPart = withoutDigest.split('/').pop() ?? '';
  return (lastPart.split(':')[0] ?? '').toLowerCase();
}

/** The database engine an image's repository name suggests, or null. */
export function engineFromImage(image: string): Engine | null {
  const name = imageRepositoryName(image);
  return DATABASE_ENGINES.find((e) => ENGINE_PROFILES[e].imageHints.some((hint) => hint.test(name))) ?? null;
}

function markerEvidence(names: readonly string[] | undefined): { found: Evidence | null; note: string } {
  if (names === undefined) return { found: null, note: '' };
  const hits = enginesFromMarkers(names);
  const list = hits.map((h) => `${h.engine}: ${h.markers.join(', ')}`).join('; ');
  const [only] = hits;
  if (hits.length === 1 && only) return { found: { engine: only.engine, why: `the archive's data holds ${only.markers.join(', ')}` }, note: '' };
  return { found: null, note: hits.length > 1 ? `the archive's data holds markers of several engines (${list})` : '' };
}

function imageEvidence(manifest: DetectEngineInput['manifest']): Evidence | null {
  const image = manifest?.container?.image;
  if (!image) return null;
  const engine = engineFromImage(image);
  return engine === null ? null : { engine, why: `the archive's manifest names image ${image}` };
}

/**
 * Which engine verifies a restore: the request's choice, else the protect config's,
 * else the archive's data markers, else the manifest's image, else `auto` (the host
 * tells from the extracted data). Evidence that disagrees with the choice is said in
 * `detail`, so a plan shows it; it never changes an explicit choice.
 */
export function detectEngine(input: DetectEngineInput): EngineDetection {
  const markers = markerEvidence(input.dataMarkers);
  const image = imageEvidence(input.manifest);
  const evidence = [markers.found, image].filter((e): e is Evidence => e !== null);
  const against = (engine: Engine): string => {
    const other = evidence.filter((e) => e.engine !== engine).map((e) => `${e.why}, which looks like ${e.engine}`);
    return [...other, ...(markers.note ? [markers.note] : [])].map((s) => `; but ${s}`).join('');
  };
  const decided = (engine: Engine, source: EngineSource, why: string): EngineDetection => ({
    engine,
    source,
    detail: `${engine} (${ENGINE_PROFILES[engine].label}): ${why}${against(engine)}`,
  });

  if (input.override !== undefined && input.override !== 'auto') return decided(input.override, 'request', 'named in the request');
  if (input.protectedEngine !== undefined && input.protectedEngine !== 'auto') {
    return decided(input.protectedEngine, 'protect-config', "named in the volume's protect config");
  }
  if (markers.found) return decided(markers.found.engine, 'manifest-markers', markers.found.why);
  if (image) return decided(image.engine, 'manifest-image', image.why);
  const why =
    markers.note ||
    (input.manifest?.container?.image
      ? `the manifest's image ${input.manifest.container.image} is not one Lifeboat knows`
      : 'the archive has no manifest naming an image or data markers');
  return { engine: 'auto', source: 'host', detail: `decided on the host from the extracted data: ${why}` };
}
