import { randomBytes } from 'node:crypto';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import { RecoveryPlan } from '../recovery/model.ts';
import { RestoreRequest } from '../restore/schemas.ts';
import { Who } from './access.ts';

/** A plan id: the only thing a Confirm / Cancel button carries. */
export const PLAN_ID = /^p-[a-f0-9]{32}$/;
export const newPlanId = (): string => `p-${randomBytes(16).toString('hex')}`;

/** A restore request pinned to one archive key (never `latest` or `before`), as shown in a plan. */
const PinnedRequest = RestoreRequest.refine((r) => typeof r.archive === 'object' && 'key' in r.archive, {
  error: 'a stored plan names its archive by key',
  path: ['archive'],
});

export const PLAN_STATES = ['pending', 'starting', 'started', 'failed', 'cancelled'] as const;

/**
 * A plan shown in Slack, kept server-side until its requester confirms it (once) or
 * it expires: pending → starting → started | failed, or pending → cancelled.
 * It is one restore (`request`, its archive pinned by key) or one whole-host recovery
 * (`recovery`, the plan exactly as shown: every member's archive pinned by key and version).
 */
export const StoredPlan = z
  .object({
    id: z.string().regex(PLAN_ID),
    request: PinnedRequest.optional(),
    recovery: RecoveryPlan.optional(),
    requester: Who,
    createdAt: z.iso.datetime(),
    expiresAt: z.iso.datetime(),
    state: z.enum(PLAN_STATES),
    restoreId: z.string().optional(),
    recoveryId: z.string().optional(),
    error: z.string().optional(),
    cancelledBy: z.string().optional(),
  })
  .refine((p) => (p.request === undefined) !== (p.recovery === undefined), { error: 'a stored plan is one restore request or one recovery plan' });
export type StoredPlan = z.infer<typeof StoredPlan>;

/** The source a stored plan acts on (what the user must be granted to confirm it). */
export const planSource = (plan: StoredPlan): string => plan.request?.source ?? plan.recovery?.source ?? '';

/** How a confirmed plan was started, or why not. */
export type PlanOutcome = { readonly restoreId: string } | { readonly recoveryId: string } | { readonly error: string };

/** The outcome of claiming (Confirm) or cancelling a plan: exactly one caller gets `ok`. */
export type PlanClaim =
  | { readonly ok: true; readonly plan: StoredPlan }
  | { readonly ok: false; readonly why: 'unknown' | 'expired' | Exclude<StoredPlan['state'], 'pending'>; readonly plan?: StoredPlan };

/** Plans awaiting Confirm, and the (timestamp, signature) pairs already received. */
export interface SlackStateStore {
  /** Records a signed request; false when the same (timestamp, signature) was seen before: a replay. */
  firstSeen(timestamp: string, signature: string, forgetAfter: Date): Promise<boolean>;
  savePlan(plan: StoredPlan): Promise<void>;
  getPlan(id: string): Promise<StoredPlan | undefined>;
  /** pending and unexpired → starting, atomically. */
  claimPlan(id: string, now: Date): Promise<PlanClaim>;
  /** starting → started (with its restore or recovery id) or failed (with why). */
  settlePlan(id: string, outcome: PlanOutcome): Promise<void>;
  /** pending and unexpired → cancelled, atomically. */
  cancelPlan(id: string, by: string, now: Date): Promise<PlanClaim>;
}

/** How long a stored plan stays readable after it expires (so a late click still hears "already started as r-…"). */
const KEEP_AFTER_EXPIRY_SECONDS = 24 * 3600;

const planKey = (id: string) => ({ pk: `SLACKPLAN#${id}`, sk: 'SLACKPLAN' });
const epochSeconds = (d: Date): number => Math.ceil(d.getTime() / 1000);
const iso = (d: Date): string => d.toISOString();

/*
 * In the catalog table (keys `pk` / `sk`, TTL attribute `expiration`):
 *   SLACKPLAN#<plan id>                     SLACKPLAN  a plan shown in Slack, until a day after it expires
 *   SLACKSEEN#<timestamp>#<signature>       SLACKSEEN  a signed request already received, for its replay window
 * Every state change is one conditional write, so two clicks (or a click and a
 * replayed request) can never both start the plan.
 */
export class DynamoDbSlackStore implements SlackStateStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async firstSeen(timestamp: string, signature: string, forgetAfter: Date): Promise<boolean> {
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { pk: `SLACKSEEN#${timestamp}#${signature}`, sk: 'SLACKSEEN', expiration: epochSeconds(forgetAfter) },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return true;
    } catch (e) {
      if (e instanceof ConditionalCheckFailedException) return false;
      throw e;
    }
  }

  async savePlan(plan: StoredPlan): Promise<void> {
    const item = StoredPlan.parse(plan);
    await this.db.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { ...planKey(item.id), ...item, expiration: epochSeconds(new Date(item.expiresAt)) + KEEP_AFTER_EXPIRY_SECONDS },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
  }

  async getPlan(id: string): Promise<StoredPlan | undefined> {
    if (!PLAN_ID.test(id)) return undefined;
    const out = await this.db.send(new GetCommand({ TableName: this.tableName, Key: planKey(id), ConsistentRead: true }));
    return out.Item ? StoredPlan.parse(out.Item) : undefined;
  }

  claimPlan(id: string, now: Date): Promise<PlanClaim> {
    return this.fromPending(id, now, 'starting', 'claimedAt = :now');
  }

  cancelPlan(id: string, by: string, now: Date): Promise<PlanClaim> {
    return this.fromPending(id, now, 'cancelled', 'cancelledAt = :now, cancelledBy = :by', { ':by': by });
  }

  async settlePlan(id: string, outcome: PlanOutcome): Promise<void> {
    const [attribute, value] =
      'restoreId' in outcome ? ['restoreId', outcome.restoreId] : 'recoveryId' in outcome ? ['recoveryId', outcome.recoveryId] : ['error', outcome.error];
    await this.db.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: planKey(id),
        UpdateExpression: 'SET #state = :to, #outcome = :v',
        ConditionExpression: '#state = :starting',
        ExpressionAttributeNames: { '#state': 'state', '#outcome': attribute },
        ExpressionAttributeValues: { ':to': attribute === 'error' ? 'failed' : 'started', ':v': value, ':starting': 'starting' },
      }),
    );
  }

  private async fromPending(id: string, now: Date, to: 'starting' | 'cancelled', set: string, values: Record<string, string> = {}): Promise<PlanClaim> {
    if (!PLAN_ID.test(id)) return { ok: false, why: 'unknown' };
    try {
      const out = await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: planKey(id),
          UpdateExpression: `SET #state = :to, ${set}`,
          // ISO timestamps of one format compare as strings.
          ConditionExpression: 'attribute_exists(pk) AND #state = :pending AND expiresAt > :now',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: { ':to': to, ':pending': 'pending', ':now': iso(now), ...values },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return { ok: true, plan: StoredPlan.parse(out.Attributes) };
    } catch (e) {
      if (!(e instanceof ConditionalCheckFailedException)) throw e;
    }
    const plan = await this.getPlan(id);
    if (!plan) return { ok: false, why: 'unknown' };
    return { ok: false, why: plan.state === 'pending' ? 'expired' : plan.state, plan };
  }
}
