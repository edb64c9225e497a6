import * as z from 'zod';
import { SOURCE_PATTERN, VOLUME_PATTERN } from './archive-key.ts';
import type { Catalog } from './catalog/model.ts';
import { IMAGE_PATTERN, RestorePolicy, VolumeCreation, VolumeVerify } from './policy.ts';
import { INSTANCE_ID_PATTERN } from './restore/request.ts';
import { DrillRequest } from './restore/schemas.ts';

const TAG_PART = /^[A-Za-z0-9 _.:/=+@-]{1,128}$/;
/** EventBridge Scheduler expressions: cron(6 fields) or rate(n unit). */
const SCHEDULE_PATTERN = /^(cron\((\S+ ){5}\S+\)|rate\([1-9][0-9]* (minute|minutes|hour|hours|day|days)\))$/;

/** Where drills run: a fixed instance, or any online instance carrying a tag. */
export const DrillHost = z.union(
  [
    z.strictObject({ instanceId: z.string().regex(INSTANCE_ID_PATTERN, { error: 'must be an EC2 instance or managed node id such as i-0123456789abcdef0' }) }),
    z.strictObject({
      tag: z.strictObject({
        key: z.string().regex(TAG_PART, { error: 'must be a tag key' }),
        value: z.string().regex(TAG_PART, { error: 'must be a tag value' }),
      }),
    }),
  ],
  { error: 'must be {"instanceId": "i-…"} or {"tag": {"key": "…", "value": "…"}}' },
);
export type DrillHost = z.infer<typeof DrillHost>;

/** A protected volume: how it is proven restorable and how fresh its backups must be (stack configuration). */
export const ProtectionPolicy = z.strictObject({
  source: z.string().regex(SOURCE_PATTERN, { error: `must be the archives' host or application name (${SOURCE_PATTERN.source})` }),
  volume: z.string().regex(VOLUME_PATTERN, { error: `must be a Docker volume name (${VOLUME_PATTERN.source})` }),
  drillHost: DrillHost,
  /** EventBridge Scheduler expression, UTC. @default daily at 04:00 */
  drillSchedule: z
    .string()
    .regex(SCHEDULE_PATTERN, { error: 'must be an EventBridge Scheduler expression such as "cron(0 4 * * ? *)" or "rate(1 day)"' })
    .default('cron(0 4 * * ? *)'),
  /** Recovery point objective: the newest archive may be at most this old. */
  rpoMinutes: z.number().int().min(1, { error: 'must be at least 1 minute' }).max(525_600),
  /**
   * How restores and drills prove the database answers: `engine` (postgres, mysql, redis,
   * mongodb, custom, running, none; default auto: from the archive), a read-only `check`
   * and `expectMinimum` for its answer, and for custom the `health` and `check` commands.
   * A restore or drill request may name another engine or check; custom commands only come from here.
   */
  verify: VolumeVerify.default({ engine: 'auto' }),
  /** Image for a drill's or a recreated container when the archive's manifest names none (must be in allowedImages). */
  containerImage: z.string().regex(IMAGE_PATTERN, { error: 'must be a Docker image reference' }).optional(),
  /** Driver and options when a restore creates this volume (never taken from the archive's manifest). @default a plain local volume */
  ...VolumeCreation.shape,
  /** E-mail addresses told about this volume's failed drills and overdue backups. */
  notify: z
    .array(z.email({ error: 'must be an e-mail address' }))
    .max(10)
    .default([]),
});
export type ProtectionPolicy = z.infer<typeof ProtectionPolicy>;

/**
 * What the drill schedule hands the drill function: which volume, where. How it is
 * verified is the protect config's `verify`, which the drill function's restore policy
 * carries (restorePolicyFor), so the schedule and the policy cannot disagree.
 */
export const ScheduledDrill = z.strictObject({
  source: z.string().regex(SOURCE_PATTERN),
  volume: z.string().regex(VOLUME_PATTERN),
  drillHost: DrillHost,
});
export type ScheduledDrill = z.infer<typeof ScheduledDrill>;

export const scheduledDrill = (p: ProtectionPolicy): ScheduledDrill => ({ source: p.source, volume: p.volume, drillHost: p.drillHost });

/**
 * What the operator allows restores to do, from the stack configuration: the image
 * allowlist and each protected volume's image, volume driver and verification settings.
 */
export const restorePolicyFor = (allowedImages: readonly string[], protect: readonly ProtectionPolicy[]): RestorePolicy =>
  RestorePolicy.parse({
    allowedImages,
    volumes: protect.map((p) => ({
      source: p.source,
      volume: p.volume,
      ...(p.containerImage === undefined ? {} : { containerImage: p.containerImage }),
      ...(p.volumeDriver === undefined ? {} : { volumeDriver: p.volumeDriver }),
      ...(p.volumeDriverOpts === undefined ? {} : { volumeDriverOpts: p.volumeDriverOpts }),
      verify: p.verify,
    })),
  });

/** The drill request for a scheduled drill once its host is known (engine auto: the protect config's verify applies). */
export const drillRequestFor = (d: ScheduledDrill, instanceId: string): DrillRequest =>
  DrillRequest.parse({ source: d.source, volume: d.volume, archive: 'latest', instanceId });

/** What the freshness schedule hands the freshness function. */
export const FreshnessCheck = z.strictObject({
  volumes: z
    .array(z.strictObject({ source: z.string().regex(SOURCE_PATTERN), volume: z.string().regex(VOLUME_PATTERN), rpoSeconds: z.number().int().positive() }))
    .max(500),
});
export type FreshnessCheck = z.infer<typeof FreshnessCheck>;

export interface Freshness {
  readonly source: string;
  readonly volume: string;
  readonly rpoSeconds: number;
  /** Age of the newest archive; null when there is none. */
  readonly ageSeconds: number | null;
  readonly overdue: boolean;
  readonly newestKey: string | null;
  /** The newest archive claims a time after now (a host clock ahead, or this one behind). */
  readonly clockSkewSeconds: number;
  readonly reason: string;
}

/**
 * Is the newest backup within the RPO? Exactly at the RPO is still fresh; a second
 * over is overdue; no archive at all is overdue. An archive time in the future
 * (clock skew) counts as age 0 and is reported, never as overdue.
 */
export function judgeFreshness(
  input: { source: string; volume: string; rpoSeconds: number; newestTakenAt?: string; newestKey?: string },
  now: Date,
): Freshness {
  const { source, volume, rpoSeconds } = input;
  if (input.newestTakenAt === undefined) {
    return {
      source,
      volume,
      rpoSeconds,
      ageSeconds: null,
      overdue: true,
      newestKey: null,
      clockSkewSeconds: 0,
      reason: `no archive of ${source}/${volume} has ever been cataloged`,
    };
  }
  const raw = Math.floor((now.getTime() - Date.parse(input.newestTakenAt)) / 1000);
  const ageSeconds = Math.max(0, raw);
  const clockSkewSeconds = raw < 0 ? -raw : 0;
  const overdue = ageSeconds > rpoSeconds;
  const reason = overdue
    ? `the newest archive of ${source}/${volume} is ${ageSeconds.toString()} s old, over the RPO of ${rpoSeconds.toString()} s`
    : `the newest archive of ${source}/${volume} is ${ageSeconds.toString()} s old (RPO ${rpoSeconds.toString()} s)${clockSkewSeconds > 0 ? `; its time is ${clockSkewSeconds.toString()} s in the future (clock skew)` : ''}`;
  return { source, volume, rpoSeconds, ageSeconds, overdue, newestKey: input.newestKey ?? null, clockSkewSeconds, reason };
}

/** One catalog query per volume ("latest"), judged against its RPO. */
export async function checkFreshness(catalog: Pick<Catalog, 'latestArchive'>, check: FreshnessCheck, now: Date): Promise<Freshness[]> {
  const out: Freshness[] = [];
  for (const v of check.volumes) {
    const newest = await catalog.latestArchive(v.source, v.volume);
    out.push(judgeFreshness({ ...v, newestTakenAt: newest?.takenAt, newestKey: newest?.key }, now));
  }
  return out;
}
