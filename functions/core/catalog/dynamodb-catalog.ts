import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { randomBytes } from 'node:crypto';
import { FINAL_RECOVERY_STATES, MemberProgress, RecoveryRecord, type MemberState, type RecoveryState } from '../recovery/model.ts';
import {
  ActiveRestore,
  ArchiveEntry,
  ArchiveVersionConflictError,
  DrillProof,
  LockHeldError,
  RESTORE_RATE_SAMPLES,
  RecoveryDrillProof,
  RecoveryExistsError,
  RestoreRateSample,
  RestoreRecord,
  TERMINAL_STATES,
  VolumeSummary,
  type Catalog,
  type RestoreState,
} from './model.ts';

/*
 * One table, keys `pk` / `sk` (strings), TTL attribute `expiration`:
 *   ARCHIVES#<source>#<volume>  <takenAt>#<key>   live archive entries (newest = highest sk)
 *   DELETED#<source>#<volume>   <takenAt>#<key>   archives deleted from S3, kept marked
 *   ARCHIVE#<key>               ARCHIVE           pointer: key -> its partition (for events that name only a key) and
 *                                                 its first cataloged S3 version (kept after deletion: the key's only version)
 *   VOLUMES                     <source>#<volume> newest archive per volume
 *   RESTORE#<id>                RESTORE           restore record
 *   COMMAND#<commandId>         COMMAND           command -> restore id
 *   LOCK#<instance>#<volume>    LOCK              one restore per (instance, volume), with expiry
 *   ACTIVE                      <id>              a restore not yet final (the sweeper's Query, never a Scan)
 *   RECOVERY#<id>               RECOVERY          whole-host recovery record (members: a map by volume)
 *   RATES#<source>#<volume>     <at>#<random>     a finished restore's/drill's timings (newest 10 kept)
 *   RECOVERYDRILL#<source>      RECOVERYDRILL     the newest whole-host recovery drill of a source
 * "latest", "latest at or before T" and "list newest first" are each one Query
 * with ScanIndexForward=false on an archive partition.
 * No transactions (not every DynamoDB-compatible server has them): writes are
 * ordered so that a retried event completes an interrupted change.
 */

const ACTIVE_PK = 'ACTIVE';
const archivesPk = (source: string, volume: string): string => `ARCHIVES#${source}#${volume}`;
const deletedPk = (source: string, volume: string): string => `DELETED#${source}#${volume}`;
const archiveSk = (e: { takenAt: string; key: string }): string => `${e.takenAt}#${e.key}`;
// '$' sorts right after '#', so every sk of time T is below `${T}$`.
const upToSk = (atOrBefore: string): string => `${new Date(atOrBefore).toISOString().replace('.000Z', 'Z')}$`;

export class DynamoDbCatalog implements Catalog {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async putArchive(entry: ArchiveEntry): Promise<void> {
    const item = ArchiveEntry.parse(entry);
    const pk = archivesPk(item.source, item.volume);
    // The pointer first: it outlives the entry's deletion, so it holds the key's first cataloged version.
    if (item.versionId) await this.pinVersion(item.key, item.versionId, pk, archiveSk(item));
    try {
      // The first cataloged S3 version of a key is the archive: a later version never replaces it.
      await this.db.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { pk, sk: archiveSk(item), ...item },
          ...(item.versionId
            ? {
                ConditionExpression: 'attribute_not_exists(pk) OR attribute_not_exists(versionId) OR versionId = :v',
                ExpressionAttributeValues: { ':v': item.versionId },
              }
            : {}),
        }),
      );
    } catch (e) {
      if (!(e instanceof ConditionalCheckFailedException)) throw e;
      const current = await this.getArchive(item.key);
      throw new ArchiveVersionConflictError(item.key, current?.versionId ?? 'unknown', item.versionId ?? 'unknown');
    }
    if (!item.versionId) {
      await this.db.send(
        new PutCommand({ TableName: this.tableName, Item: { pk: `ARCHIVE#${item.key}`, sk: 'ARCHIVE', archivePk: pk, archiveSk: archiveSk(item) } }),
      );
    }
    await this.raiseNewest(item);
  }

  /**
   * Writes the key's pointer with its S3 version, unless the key was cataloged with another
   * version: live or deleted (a host may delete a known-good archive and write its key again,
   * and the substitute must never be cataloged under the old archive's name and time).
   */
  private async pinVersion(key: string, versionId: string, archivePk: string, archiveSk: string): Promise<void> {
    const pin = (condition: string) =>
      this.db.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { pk: `ARCHIVE#${key}`, sk: 'ARCHIVE', archivePk, archiveSk, versionId },
          ConditionExpression: condition,
          ExpressionAttributeValues: { ':v': versionId },
        }),
      );
    try {
      await pin('attribute_not_exists(pk) OR versionId = :v');
      return;
    } catch (e) {
      if (!(e instanceof ConditionalCheckFailedException)) throw e;
    }
    // Pinned to another version, or a pointer written before pointers held versions: its entry decides.
    const current = await this.getArchive(key);
    const conflict = () => new ArchiveVersionConflictError(key, current?.versionId ?? 'unknown', versionId, current?.deletedAt);
    if (current?.versionId !== undefined && current.versionId !== versionId) throw conflict();
    try {
      await pin('attribute_not_exists(versionId) OR versionId = :v');
    } catch (e) {
      if (!(e instanceof ConditionalCheckFailedException)) throw e;
      throw conflict();
    }
  }

  private async raiseNewest(item: ArchiveEntry): Promise<void> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: 'VOLUMES', sk: `${item.source}#${item.volume}` },
          UpdateExpression: 'SET #s = :s, #v = :v, newestKey = :k, newestTakenAt = :t',
          ConditionExpression: 'attribute_not_exists(newestTakenAt) OR newestTakenAt < :t OR (newestTakenAt = :t AND newestKey <= :k)',
          ExpressionAttributeNames: { '#s': 'source', '#v': 'volume' },
          ExpressionAttributeValues: { ':s': item.source, ':v': item.volume, ':k': item.key, ':t': item.takenAt },
        }),
      );
    } catch (e) {
      if (!(e instanceof ConditionalCheckFailedException)) throw e; // a newer archive is already the newest
    }
  }

  async getArchive(key: string): Promise<ArchiveEntry | undefined> {
    const pointer = await this.db.send(new GetCommand({ TableName: this.tableName, Key: { pk: `ARCHIVE#${key}`, sk: 'ARCHIVE' } }));
    const p = pointer.Item as { archivePk?: string; archiveSk?: string } | undefined;
    if (!p?.archivePk || !p.archiveSk) return undefined;
    const live = await this.db.send(new GetCommand({ TableName: this.tableName, Key: { pk: p.archivePk, sk: p.archiveSk } }));
    if (live.Item) return ArchiveEntry.parse(live.Item);
    const gone = await this.db.send(new GetCommand({ TableName: this.tableName, Key: { pk: p.archivePk.replace(/^ARCHIVES#/, 'DELETED#'), sk: p.archiveSk } }));
    return gone.Item ? ArchiveEntry.parse(gone.Item) : undefined;
  }

  async markArchiveDeleted(key: string, deletedAt: string): Promise<boolean> {
    const entry = await this.getArchive(key);
    if (!entry || entry.deletedAt) return false;
    const { source, volume } = entry;
    // The marked copy first, then the live entry goes: a crash in between is healed by the redelivered event.
    await this.db.send(new PutCommand({ TableName: this.tableName, Item: { pk: deletedPk(source, volume), sk: archiveSk(entry), ...entry, deletedAt } }));
    try {
      await this.db.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: { pk: archivesPk(source, volume), sk: archiveSk(entry) },
          ConditionExpression: 'attribute_exists(pk)',
        }),
      );
    } catch (e) {
      if (e instanceof ConditionalCheckFailedException) return false; // deleted concurrently
      throw e;
    }
    await this.recomputeNewest(source, volume);
    return true;
  }

  private async recomputeNewest(source: string, volume: string): Promise<void> {
    const newest = await this.latestArchive(source, volume);
    const Key = { pk: 'VOLUMES', sk: `${source}#${volume}` };
    if (!newest) {
      await this.db.send(new DeleteCommand({ TableName: this.tableName, Key }));
      return;
    }
    // An update, not a put: the volume's drill history stays.
    await this.db.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key,
        UpdateExpression: 'SET #s = :s, #v = :v, newestKey = :k, newestTakenAt = :t',
        ExpressionAttributeNames: { '#s': 'source', '#v': 'volume' },
        ExpressionAttributeValues: { ':s': source, ':v': volume, ':k': newest.key, ':t': newest.takenAt },
      }),
    );
  }

  async recordDrill(source: string, volume: string, proof: DrillProof): Promise<void> {
    const item = DrillProof.parse(proof);
    const newerOnly = 'attribute_exists(pk) AND (attribute_not_exists(lastDrill) OR lastDrill.#at <= :at)';
    const entry = await this.getArchive(item.archiveKey);
    if (entry && !entry.deletedAt) {
      await this.conditional(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: archivesPk(entry.source, entry.volume), sk: archiveSk(entry) },
          UpdateExpression: 'SET lastDrill = :p',
          ConditionExpression: newerOnly,
          ExpressionAttributeNames: { '#at': 'at' },
          ExpressionAttributeValues: { ':p': item, ':at': item.at },
        }),
      );
    }
    const proven = item.outcome === 'succeeded';
    await this.conditional(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: 'VOLUMES', sk: `${source}#${volume}` },
        UpdateExpression: proven ? 'SET lastDrill = :p, lastProvenAt = :at, lastProvenKey = :k' : 'SET lastDrill = :p',
        ConditionExpression: newerOnly,
        ExpressionAttributeNames: { '#at': 'at' },
        ExpressionAttributeValues: { ':p': item, ':at': item.at, ...(proven ? { ':k': item.archiveKey } : {}) },
      }),
    );
  }

  /** Sends a conditional update; a failed condition (gone, or something newer) is not an error. */
  private async conditional(command: UpdateCommand): Promise<void> {
    try {
      await this.db.send(command);
    } catch (e) {
      if (!(e instanceof ConditionalCheckFailedException)) throw e;
    }
  }

  async latestArchive(source: string, volume: string, atOrBefore?: string): Promise<ArchiveEntry | undefined> {
    const [entry] = await this.listArchives(source, volume, { atOrBefore, limit: 1 });
    return entry;
  }

  async listArchives(source: string, volume: string, options: { atOrBefore?: string; limit?: number } = {}): Promise<ArchiveEntry[]> {
    const values: Record<string, string> = { ':pk': archivesPk(source, volume) };
    let condition = 'pk = :pk';
    if (options.atOrBefore) {
      condition += ' AND sk < :upTo';
      values[':upTo'] = upToSk(options.atOrBefore);
    }
    const out = await this.db.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: condition,
        ExpressionAttributeValues: values,
        ScanIndexForward: false,
        Limit: options.limit ?? 50,
      }),
    );
    return (out.Items ?? []).map((i) => ArchiveEntry.parse(i));
  }

  async listVolumes(): Promise<VolumeSummary[]> {
    const volumes: VolumeSummary[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const out = await this.db.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': 'VOLUMES' },
          ExclusiveStartKey: start,
        }),
      );
      for (const i of out.Items ?? []) volumes.push(VolumeSummary.parse(i));
      start = out.LastEvaluatedKey;
    } while (start);
    return volumes;
  }

  async createRestore(record: RestoreRecord): Promise<void> {
    const item = RestoreRecord.parse(record);
    // The index entry first: a crash in between leaves an entry without a record (tidied by the
    // sweeper), never an unfinished restore nobody can find.
    if (!TERMINAL_STATES.includes(item.state)) {
      await this.db.send(new PutCommand({ TableName: this.tableName, Item: { pk: ACTIVE_PK, sk: item.id, id: item.id, createdAt: item.createdAt } }));
    }
    await this.db.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { pk: `RESTORE#${item.id}`, sk: 'RESTORE', ...item },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
  }

  async getRestore(id: string): Promise<RestoreRecord | undefined> {
    const out = await this.db.send(new GetCommand({ TableName: this.tableName, Key: { pk: `RESTORE#${id}`, sk: 'RESTORE' } }));
    return out.Item ? RestoreRecord.parse(out.Item) : undefined;
  }

  async updateRestore(id: string, from: readonly RestoreState[], change: Partial<Omit<RestoreRecord, 'id'>>): Promise<RestoreRecord | undefined> {
    const names: Record<string, string> = { '#state': 'state' };
    const values: Record<string, unknown> = {};
    const sets: string[] = [];
    // Fields given as undefined are left alone.
    const fields = Object.entries({ ...change, updatedAt: change.updatedAt ?? new Date().toISOString() }) as [string, unknown][];
    for (const [i, [k, v]] of fields.entries()) {
      if (v === undefined) continue;
      names[`#a${i}`] = k;
      values[`:a${i}`] = v;
      sets.push(`#a${i} = :a${i}`);
    }
    const allowed = from.map((s, i) => {
      values[`:from${i}`] = s;
      return `:from${i}`;
    });
    try {
      const out = await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: `RESTORE#${id}`, sk: 'RESTORE' },
          UpdateExpression: `SET ${sets.join(', ')}`,
          ConditionExpression: `attribute_exists(pk) AND #state IN (${allowed.join(', ')})`,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_NEW',
        }),
      );
      const updated = RestoreRecord.parse(out.Attributes);
      if (TERMINAL_STATES.includes(updated.state)) await this.forgetActiveRestore(id);
      return updated;
    } catch (e) {
      if (e instanceof ConditionalCheckFailedException) return undefined;
      throw e;
    }
  }

  async listActiveRestores(): Promise<ActiveRestore[]> {
    const active: ActiveRestore[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const out = await this.db.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': ACTIVE_PK },
          ExclusiveStartKey: start,
        }),
      );
      for (const i of out.Items ?? []) active.push(ActiveRestore.parse(i));
      start = out.LastEvaluatedKey;
    } while (start);
    return active;
  }

  async forgetActiveRestore(id: string): Promise<void> {
    await this.db.send(new DeleteCommand({ TableName: this.tableName, Key: { pk: ACTIVE_PK, sk: id } }));
  }

  async linkCommand(commandId: string, restoreId: string): Promise<void> {
    await this.db.send(new PutCommand({ TableName: this.tableName, Item: { pk: `COMMAND#${commandId}`, sk: 'COMMAND', restoreId } }));
  }

  async restoreIdForCommand(commandId: string): Promise<string | undefined> {
    const out = await this.db.send(new GetCommand({ TableName: this.tableName, Key: { pk: `COMMAND#${commandId}`, sk: 'COMMAND' } }));
    const id = (out.Item as { restoreId?: unknown } | undefined)?.restoreId;
    return typeof id === 'string' ? id : undefined;
  }

  async acquireLock(instanceId: string, volume: string, restoreId: string, ttlSeconds: number, now = new Date()): Promise<void> {
    const nowS = Math.floor(now.getTime() / 1000);
    const Key = { pk: `LOCK#${instanceId}#${volume}`, sk: 'LOCK' };
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...Key, restoreId, expiresAt: nowS + ttlSeconds, expiration: nowS + ttlSeconds + 3600 },
          ConditionExpression: 'attribute_not_exists(pk) OR expiresAt < :now OR restoreId = :id',
          ExpressionAttributeValues: { ':now': nowS, ':id': restoreId },
        }),
      );
    } catch (e) {
      if (!(e instanceof ConditionalCheckFailedException)) throw e;
      const held = await this.db.send(new GetCommand({ TableName: this.tableName, Key, ConsistentRead: true }));
      const item = held.Item as { restoreId?: string; expiresAt?: number } | undefined;
      throw new LockHeldError(instanceId, volume, item?.restoreId ?? 'unknown', new Date((item?.expiresAt ?? nowS) * 1000).toISOString());
    }
  }

  async releaseLock(instanceId: string, volume: string, restoreId: string): Promise<void> {
    try {
      await this.db.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: { pk: `LOCK#${instanceId}#${volume}`, sk: 'LOCK' },
          ConditionExpression: 'restoreId = :id',
          ExpressionAttributeValues: { ':id': restoreId },
        }),
      );
    } catch (e) {
      if (!(e instanceof ConditionalCheckFailedException)) throw e; // not ours (expired and taken over) or already gone
    }
  }

  async createRecovery(record: RecoveryRecord): Promise<void> {
    const item = RecoveryRecord.parse(record);
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { pk: `RECOVERY#${item.id}`, sk: 'RECOVERY', ...item },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    } catch (e) {
      if (e instanceof ConditionalCheckFailedException) throw new RecoveryExistsError(item.id);
      throw e;
    }
  }

  async getRecovery(id: string): Promise<RecoveryRecord | undefined> {
    const out = await this.db.send(new GetCommand({ TableName: this.tableName, Key: { pk: `RECOVERY#${id}`, sk: 'RECOVERY' }, ConsistentRead: true }));
    return out.Item ? RecoveryRecord.parse(out.Item) : undefined;
  }

  async updateRecovery(
    id: string,
    from: readonly RecoveryState[],
    change: Partial<Omit<RecoveryRecord, 'id' | 'members'>>,
  ): Promise<RecoveryRecord | undefined> {
    const names: Record<string, string> = { '#state': 'state' };
    const values: Record<string, unknown> = {};
    const sets: string[] = [];
    const fields = Object.entries({ ...change, updatedAt: change.updatedAt ?? new Date().toISOString() }) as [string, unknown][];
    for (const [i, [k, v]] of fields.entries()) {
      // Members change one at a time (updateRecoveryMember), never as a whole.
      if (v === undefined || k === 'id' || k === 'members') continue;
      names[`#a${i.toString()}`] = k;
      values[`:a${i.toString()}`] = v;
      sets.push(`#a${i.toString()} = :a${i.toString()}`);
    }
    const allowed = from.map((s, i) => {
      values[`:from${i.toString()}`] = s;
      return `:from${i.toString()}`;
    });
    return this.updateRecoveryItem(id, `SET ${sets.join(', ')}`, `attribute_exists(pk) AND #state IN (${allowed.join(', ')})`, names, values);
  }

  async updateRecoveryMember(
    id: string,
    volume: string,
    progress: Partial<MemberProgress>,
    options: { readonly from?: readonly MemberState[]; readonly orRestoreId?: string } = {},
  ): Promise<RecoveryRecord | undefined> {
    const checked = MemberProgress.partial().parse(progress);
    // One SET per field of one map entry: parallel members (and the fields a member keeps, such
    // as its startedAt) are never overwritten by another writer's copy.
    const names: Record<string, string> = { '#m': 'members', '#v': volume, '#state': 'state' };
    const values: Record<string, unknown> = { ':now': new Date().toISOString() };
    const sets = ['updatedAt = :now'];
    for (const [i, [k, v]] of (Object.entries(checked) as [string, unknown][]).entries()) {
      if (v === undefined) continue;
      names[`#f${i.toString()}`] = k;
      values[`:f${i.toString()}`] = v;
      sets.push(`#m.#v.#f${i.toString()} = :f${i.toString()}`);
    }
    const conditions: string[] = [];
    if (options.from) {
      const allowed = options.from.map((s, i) => {
        values[`:from${i.toString()}`] = s;
        return `:from${i.toString()}`;
      });
      conditions.push(`#m.#v.#state IN (${allowed.join(', ')})`);
    }
    if (options.orRestoreId !== undefined) {
      names['#rid'] = 'restoreId';
      values[':rid'] = options.orRestoreId;
      conditions.push('#m.#v.#rid = :rid');
    }
    const finals = FINAL_RECOVERY_STATES.map((s, i) => {
      values[`:final${i.toString()}`] = s;
      return `:final${i.toString()}`;
    });
    // A finished recovery's members stay as its report describes them.
    const condition = `attribute_exists(#m.#v) AND NOT (#state IN (${finals.join(', ')}))${conditions.length ? ` AND (${conditions.join(' OR ')})` : ''}`;
    return this.updateRecoveryItem(id, `SET ${sets.join(', ')}`, condition, names, values);
  }

  private async updateRecoveryItem(
    id: string,
    update: string,
    condition: string,
    names: Record<string, string>,
    values: Record<string, unknown>,
  ): Promise<RecoveryRecord | undefined> {
    try {
      const out = await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: `RECOVERY#${id}`, sk: 'RECOVERY' },
          UpdateExpression: update,
          ConditionExpression: condition,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_NEW',
        }),
      );
      return RecoveryRecord.parse(out.Attributes);
    } catch (e) {
      if (e instanceof ConditionalCheckFailedException) return undefined;
      throw e;
    }
  }

  async recordRestoreRate(source: string, volume: string, sample: RestoreRateSample): Promise<void> {
    const item = RestoreRateSample.parse(sample);
    const pk = `RATES#${source}#${volume}`;
    await this.db.send(new PutCommand({ TableName: this.tableName, Item: { pk, sk: `${item.at}#${randomBytes(4).toString('hex')}`, ...item } }));
    // Keep the newest few: older samples would only drag a prediction towards old hardware.
    const out = await this.db.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': pk },
        ProjectionExpression: 'pk, sk',
        ScanIndexForward: false,
        Limit: RESTORE_RATE_SAMPLES + 20,
      }),
    );
    for (const old of (out.Items ?? []).slice(RESTORE_RATE_SAMPLES)) {
      await this.db.send(new DeleteCommand({ TableName: this.tableName, Key: { pk, sk: old.sk as string } }));
    }
  }

  async restoreRates(source: string, volume: string): Promise<RestoreRateSample[]> {
    const out = await this.db.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': `RATES#${source}#${volume}` },
        ScanIndexForward: false,
        Limit: RESTORE_RATE_SAMPLES,
      }),
    );
    return (out.Items ?? []).map((i) => RestoreRateSample.parse(i));
  }

  async recordRecoveryDrill(source: string, proof: RecoveryDrillProof): Promise<void> {
    const item = RecoveryDrillProof.parse(proof);
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { pk: `RECOVERYDRILL#${source}`, sk: 'RECOVERYDRILL', source, ...item },
          ConditionExpression: 'attribute_not_exists(pk) OR #at <= :at',
          ExpressionAttributeNames: { '#at': 'at' },
          ExpressionAttributeValues: { ':at': item.at },
        }),
      );
    } catch (e) {
      if (!(e instanceof ConditionalCheckFailedException)) throw e; // a newer drill is already recorded
    }
  }

  async lastRecoveryDrill(source: string): Promise<RecoveryDrillProof | undefined> {
    const out = await this.db.send(new GetCommand({ TableName: this.tableName, Key: { pk: `RECOVERYDRILL#${source}`, sk: 'RECOVERYDRILL' } }));
    return out.Item ? RecoveryDrillProof.parse(out.Item) : undefined;
  }
}
