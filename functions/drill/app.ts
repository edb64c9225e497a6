import { drillRequestFor, type ScheduledDrill } from '#core/protection.ts';
import { ClientError } from '#core/restore/errors.ts';
import type { Notifier } from '#core/restore/ports.ts';
import type { RestoreService, StartedRestore } from '#core/restore/service.ts';

export interface DrillDeps {
  readonly service: RestoreService;
  /** An online instance with the tag (SSM), for drill hosts chosen by tag. */
  readonly findHost: (key: string, value: string) => Promise<string | undefined>;
  readonly notifier: Notifier;
  /** Counts a drill that could not even start as a failed drill (the alarm watches it). */
  readonly notStarted: (drill: ScheduledDrill) => void;
}

export type DrillStart = { readonly started: true; readonly restore: StartedRestore } | { readonly started: false; readonly reason: string };

/**
 * A scheduled drill: find the drill host, start the drill. A drill that cannot start
 * (no host online, the volume has no archive, an unsafe manifest) is a failed
 * drill: counted for the alarm and published, never silently skipped.
 */
export async function startScheduledDrill(deps: DrillDeps, drill: ScheduledDrill): Promise<DrillStart> {
  const host = drill.drillHost;
  const instanceId = 'instanceId' in host ? host.instanceId : await deps.findHost(host.tag.key, host.tag.value);
  let reason: string;
  if (instanceId === undefined) {
    reason = 'tag' in host ? `no online Linux instance carries the tag ${host.tag.key}=${host.tag.value}` : 'no drill host';
  } else {
    try {
      return { started: true, restore: await deps.service.drill(drillRequestFor(drill, instanceId), 'schedule:lifeboat-drill') };
    } catch (e) {
      if (!(e instanceof ClientError)) throw e; // transient: the scheduler retries
      reason = e.message;
    }
  }
  deps.notStarted(drill);
  await deps.notifier.restoreFinished({
    restoreId: '-',
    state: 'failed',
    subject: `Lifeboat drill FAILED to start: ${drill.source}/${drill.volume}`,
    text: `The scheduled restore drill of ${drill.source}/${drill.volume} could not start: ${reason}.`,
    record: { drill },
  });
  return { started: false, reason };
}
