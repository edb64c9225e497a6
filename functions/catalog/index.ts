import type { Context } from 'aws-lambda';
import type { IngestDeps, IngestOutcome, ReconcileReport } from '#core/catalog/ingest.ts';
import type { S3ObjectEvent } from '../commons/event-schemas.ts';
import { firstUse } from '../commons/first-use.ts';

/** The catalog functions’ wiring (./wiring.ts), loaded on the first invocation (commons/first-use.ts). */
const wiring = firstUse(() => import('./wiring.ts'));

/** Loads the wiring now rather than on the first invocation. */
export const ready = async (): Promise<void> => {
  await wiring();
};

/** S3 "Object Created" / "Object Deleted" (EventBridge) -> catalog entry. */
export const handler = async (event: S3ObjectEvent, context: Context): Promise<IngestOutcome> => (await wiring()).handler(event, context);

/** Rebuilds the catalog from the bucket listing (invoke by hand or on a schedule). */
export const reconcile = async (event: unknown, context: Context): Promise<ReconcileReport> => (await wiring()).reconcile(event, context);

/** The business function of {@link handler}, with the deps given. */
export const onObjectEvent = async (d: IngestDeps, event: S3ObjectEvent): Promise<IngestOutcome> => (await wiring()).onObjectEvent(d, event);
