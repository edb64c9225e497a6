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
