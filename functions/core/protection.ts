import * as z from 'zod';
import { CLOCK_SKEW_ALLOWANCE_SECONDS, SOURCE_PATTERN, VOLUME_PATTERN } from './archive-key.ts';
import type { Catalog } from './catalog/model.ts';
import { IMAGE_PATTERN, RestorePolicy, VolumeCreation, VolumeVerify } from './policy.ts';
import { INSTANCE_ID_PATTERN } from './restore/request.ts';
import { DrillRequest } from './restore/schemas.ts';
import { RecoveryRole } from './recovery/model.ts';

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

/**
 * Why a State Manager association schedule would be refused, or undefined when it is accepted.
 * Associations take less than EventBridge Scheduler (AWS Systems Manager user guide, "Cron and rate
 * expressions for associations"): rates of 30 minutes up to 30 days; cron every 1/2, 1, 2, 4, 8 or
 * 12 hours, or daily, weekly, the nth or last weekday of the month at a time; never a month or year.
 */
export function associationScheduleProblem(expression: string): string | undefined {
  const rate = /^rate\(([1-9][0-9]{0,4}) (minute|minutes|hour|hours|day|days)\)$/.exec(expression);
  if (rate) {
    const n = Number(rate[1]);
    const unit = rate[2] ?? '';
    if ((n === 1) !== !unit.endsWith('s')) return `${expression}: the unit is singular for 1 and plural otherwise, e.g. "rate(1 hour)", "rate(2 hours)"`;
    const minutes = n * (unit.startsWith('minute') ? 1 : unit.startsWith('hour') ? 60 : 1440);
    if (minutes < 30) return `${expression}: State Manager runs associations at most every 30 minutes`;
    if (minutes >= 31 * 1440) return `${expression}: State Manager rates must be shorter than 31 days`;
    return undefined;
  }
  const cron = /^cron\((.+)\)$/.exec(expression);
  if (!cron) return `${expression}: must be "rate(<n> minutes|hours|days)" or "cron(<minutes> <hours> <day-of-month> * <day-of-week> *)"`;
  let fields = (cron[1] ?? '').split(' ');
  if (fields.length === 7 && fields[0] === '0') fields = fields.slice(1);
  if (fields.length !== 6) return `${expression}: a cron expression has six fields: minutes hours day-of-month month day-of-week year`;
  const [minute = '', hour = '', dom = '', month = '', dow = '', year = ''] = fields;
  const HOUR = '([0-9]|1[0-9]|2[0-3])';
  if (month !== '*' || year !== '*') return `${expression}: State Manager takes no month or year in an association's cron expression (use "*")`;
  if (!/^([0-9]|[1-5][0-9])$/.test(minute) && !/^(0|\*)\/30$/.test(minute)) return `${expression}: minutes must be 0-59, or 0/30 for every half hour`;
  if (minute.includes('/') ? hour !== '*' : !new RegExp(`^(\\*|${HOUR}|(\\*|${HOUR})\\/(1|2|4|8|12))$`).test(hour))
    return `${expression}: hours must be 0-23, "*" (every hour), or <start>/<1|2|4|8|12> (every n hours)`;
  if ((dom === '?') === (dow === '?')) return `${expression}: exactly one of day-of-month and day-of-week must be "?"`;
  if (dom !== '?' && !/^(\*|L|[1-9]|[12][0-9]|3[01])$/.test(dom)) return `${expression}: day-of-month must be *, L or 1-31`;
  const DAY = '([1-7]|SUN|MON|TUE|WED|THU|FRI|SAT)';
  if (dow !== '?' && !new RegExp(`^(\\*|${DAY}(#[1-5]|L)?|${DAY}(-${DAY}|(,${DAY})+))$`).test(dow))
    return `${expression}: day-of-week must be *, a day (MON or 2), a range (MON-FRI), a list (MON,THU), TUE#3 (third Tuesday) or 3L (last Tuesday)`;
  return undefined;
}

/** A State Manager association schedule (see {@link associationScheduleProblem}). */
export const AssociationSchedule = z.string().superRefine((s, ctx) => {
  const problem = associationScheduleProblem(s);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

/**
 * The host of a scheduled backup: one instance by id, or the instance carrying a tag. A tag lets
 * a replacement host (launched with the same tags) take over the schedule with no redeploy; it
 * must mark exactly one host at a time: State Manager runs the association on every instance
 * its targets match (MaxConcurrency only paces them), so two tagged hosts holding the volume
 * would both write the same source/volume. A tagged host without the volume fails (and alarms);
 * it never writes an empty archive.
 */
export const BackupHost = DrillHost;
export type BackupHost = z.infer<typeof BackupHost>;

/** The container name the backup document takes (its ContainerName parameter's pattern). */
const CONTAINER_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/;

/**
 * A scheduled backup of a protected volume: one State Manager association running the backup
 * document on `host` with the stack's bucket and prefix.
 */
export const BackupSchedule = z
  .strictObject({
    /** State Manager schedule, UTC: "rate(1 hour)" (30 minutes to 30 days) or "cron(0 2 ? * * *)" (no months). */
    schedule: AssociationSchedule,
    /** The host holding the volume: {instanceId} or {tag} marking exactly one host (see {@link BackupHost}). */
    host: BackupHost,
    /**
     * The database container using the volume: paused or stopped for the copy, its spec written
     * into the manifest so a bare host can recreate it. @default none: a data-only archive
     */
    container: z
      .string()
      .regex(CONTAINER_NAME, { error: `must be a Docker container name (${CONTAINER_NAME.source})` })
      .optional(),
    /**
     * pause (freeze the container while reading: crash-consistent), stop (clean shutdown, restarted
     * after), none (live copy). pause and stop need `container`.
     * @default pause with a container; none without one (there is nothing to pause)
     */
    consistency: z.enum(['pause', 'stop', 'none'], { error: 'must be "pause", "stop" or "none"' }).optional(),
  })
  .superRefine((b, ctx) => {
    if (b.consistency !== undefined && b.consistency !== 'none' && b.container === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['consistency'],
        message: `${b.consistency} needs backup.container (the container to ${b.consistency}); say "none" for a live, data-only copy`,
      });
  });
export type BackupSchedule = z.infer<typeof BackupSchedule>;

/** The consistency a scheduled backup runs with (its default depends on whether a container is named). */
export const backupConsistency = (b: BackupSchedule): 'pause' | 'stop' | 'none' => b.consistency ?? (b.container === undefined ? 'none' : 'pause');

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
  /** Back this volume up on a schedule (a State Manager association). @default no scheduled backup */
  backup: BackupSchedule.optional(),
  /**
   * This volume's place in a whole-host recovery of its source: `wave`, `after` (volumes of the
   * same source restored first), `role` (critical or optional), `container`.
   * @default wave 1, critical, the container the archive's manifest names
   */
  recovery: RecoveryRole.optional(),
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
  /** Age of the newest archive; null when there is none, or its time is further in the future than clock skew explains. */
  readonly ageSeconds: number | null;
  readonly overdue: boolean;
  readonly newestKey: string | null;
  /**
   * How far after now the newest archive's time is (a host clock ahead, or this one behind). Up to
   * CLOCK_SKEW_ALLOWANCE_SECONDS it is clock skew; beyond, the archive proves nothing (overdue).
   */
  readonly clockSkewSeconds: number;
  /**
   * How long the newest archive took to reach this catalog after it was taken (cataloged − taken,
   * never below 0): the upload, plus in the DR region the replication lag. Null when there is none.
   */
  readonly arrivalLagSeconds: number | null;
  readonly reason: string;
}

/**
 * Is the newest backup within the RPO? Exactly at the RPO is still fresh; a second
 * over is overdue; no archive at all is overdue. An archive time in the future by up to
 * CLOCK_SKEW_ALLOWANCE_SECONDS (clock skew) counts as age 0 and is reported, not as overdue.
 * Further in the future it is not believed: keys are written by the hosts, and a far-future one
 * (a host clock far off, or a key written to pin "latest") would otherwise silence the alarm for
 * as long as it claims; it counts as overdue with no age.
 */
export function judgeFreshness(
  input: { source: string; volume: string; rpoSeconds: number; newestTakenAt?: string; newestKey?: string; newestCatalogedAt?: string },
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
      arrivalLagSeconds: null,
      reason: `no archive of ${source}/${volume} has ever been cataloged`,
    };
  }
  const aheadMs = Date.parse(input.newestTakenAt) - now.getTime();
  const raw = Math.floor(-aheadMs / 1000);
  const clockSkewSeconds = raw < 0 ? -raw : 0;
  const arrivalLagSeconds =
    input.newestCatalogedAt === undefined ? null : Math.max(0, Math.floor((Date.parse(input.newestCatalogedAt) - Date.parse(input.newestTakenAt)) / 1000));
  const newestKey = input.newestKey ?? null;
  if (aheadMs > CLOCK_SKEW_ALLOWANCE_SECONDS * 1000) {
    const reason =
      `the newest archive of ${source}/${volume}${newestKey === null ? '' : ` (${newestKey})`} claims a time ${clockSkewSeconds.toString()} s in the future, ` +
      `more than the ${CLOCK_SKEW_ALLOWANCE_SECONDS.toString()} s allowed for clock skew: it does not prove a backup within the RPO ` +
      `(a host clock far ahead, or a key written to pin "latest")`;
    return { source, volume, rpoSeconds, ageSeconds: null, overdue: true, newestKey, clockSkewSeconds, arrivalLagSeconds, reason };
  }
  const ageSeconds = Math.max(0, raw);
  const overdue = ageSeconds > rpoSeconds;
  const reason = overdue
    ? `the newest archive of ${source}/${volume} is ${ageSeconds.toString()} s old, over the RPO of ${rpoSeconds.toString()} s`
    : `the newest archive of ${source}/${volume} is ${ageSeconds.toString()} s old (RPO ${rpoSeconds.toString()} s)${clockSkewSeconds > 0 ? `; its time is ${clockSkewSeconds.toString()} s in the future (clock skew)` : ''}`;
  return { source, volume, rpoSeconds, ageSeconds, overdue, newestKey, clockSkewSeconds, arrivalLagSeconds, reason };
}

/**
 * One catalog query per volume ("latest"), judged against its RPO. Run over the DR region's
 * catalog it judges what has arrived there: an archive not yet replicated does not count.
 */
export async function checkFreshness(catalog: Pick<Catalog, 'latestArchive'>, check: FreshnessCheck, now: Date): Promise<Freshness[]> {
  const out: Freshness[] = [];
  for (const v of check.volumes) {
    const newest = await catalog.latestArchive(v.source, v.volume);
    out.push(judgeFreshness({ ...v, newestTakenAt: newest?.takenAt, newestKey: newest?.key, newestCatalogedAt: newest?.catalogedAt }, now));
  }
  return out;
}

/**
 * The protect entries cut down to what a recovery plan reads (which volumes a source has, their
 * `recovery` role, the `backup.container` a member defaults to) plus the fields the entry's schema
 * requires, so the functions' environment (LIFEBOAT_PROTECT) stays well under Lambda's 4 KB. How
 * restores verify, and which images and drivers they may use, travel in LIFEBOAT_POLICY.
 */
export function recoveryProtect(protect: readonly ProtectionPolicy[]): string {
  return JSON.stringify(
    protect.map((p) => ({
      source: p.source,
      volume: p.volume,
      drillHost: p.drillHost,
      rpoMinutes: p.rpoMinutes,
      ...(p.recovery === undefined ? {} : { recovery: p.recovery }),
      ...(p.backup === undefined ? {} : { backup: p.backup }),
    })),
  );
}
