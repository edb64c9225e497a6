import type { DynamoDbCatalog } from '#core/catalog/dynamodb-catalog.ts';
import type { RestoreRecord } from '#core/catalog/model.ts';

/** The host's result line, as the restore document prints it last. */
export const resultLine = (outcome: string, extra: Record<string, unknown> = {}): string =>
  JSON.stringify({
    lifeboat: 'restore-result',
    version: 1,
    restoreId: 'x',
    outcome,
    failedPhase: outcome === 'succeeded' ? null : 'extract',
    error: outcome === 'succeeded' ? null : 'extract failed: Unexpected EOF',
    volume: 'pgdata',
    hostPath: null,
    container: 'db',
    containerAction: 'none',
    bytes: 10,
    sha256: null,
    compression: 'gzip',
    preservedVolume: null,
    rolledBack: false,
    verifyOutput: null,
    phases: { preflight: 1, download: 1, extract: 1, swap: 0, start: 0, verify: 0 },
    totalSeconds: 3,
    ...extra,
  });

/** Is the (instance, volume) lock free? (Takes it for a moment and gives it back.) */
export async function lockIsFree(catalog: DynamoDbCatalog, instanceId: string, volume: string, now = new Date()): Promise<boolean> {
  try {
    await catalog.acquireLock(instanceId, volume, 'probe', 1, now);
  } catch {
    return false;
  }
  await catalog.releaseLock(instanceId, volume, 'probe');
  return true;
}

/** A restore record as the service writes it, in the given state, holding its lock. */
export async function startedRestore(
  catalog: DynamoDbCatalog,
  fields: Pick<RestoreRecord, 'id' | 'instanceId' | 'volume' | 'state'> & Partial<RestoreRecord>,
  at: Date,
): Promise<RestoreRecord> {
  const record: RestoreRecord = {
    requestedBy: 'tester',
    mode: 'restore',
    archiveKey: 'archives/h/pgdata/20261127T000000Z.tar.gz',
    source: 'h',
    containerName: 'db',
    ifVolumeExists: 'fail',
    createdAt: at.toISOString(),
    updatedAt: at.toISOString(),
    ...fields,
  };
  await catalog.acquireLock(record.instanceId, record.volume, record.id, 8100, at);
  await catalog.createRestore(record);
  if (record.commandId) await catalog.linkCommand(record.commandId, record.id);
  return record;
}
