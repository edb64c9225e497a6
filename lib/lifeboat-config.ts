import * as z from 'zod';
import { OUTPUT_ROOT } from './backups.ts';
import { HELPER_PLATFORMS } from './helper-image.ts';
import { outputIdCollisions } from './host-policies.ts';
import { RecoveryLaunchTemplate } from './recovery.ts';
import { SlackConfig } from './slack.ts';
import { ProtectionPolicy } from '#core/protection.ts';
import { recoveryConfigProblems } from '#core/recovery/plan.ts';
import { SOURCE_PATTERN } from '#core/archive-key.ts';
import { RecoveryDrillConfig } from '#core/recovery/model.ts';
import { DOCUMENTS } from '#core/paths.ts';
import { loadDocument } from '#core/runbooks/document.ts';
import { ReplicationConfig } from '#core/replication.ts';
import type { LifeboatSettings } from './lifeboat-props.ts';

/** The allowedPattern of a document's HelperImage parameter, if it has one (the one place the accepted form is declared). */
function helperImagePattern(name: (typeof DOCUMENTS)[number]): string | undefined {
  const parameters = (loadDocument(name) as { parameters?: Record<string, { allowedPattern?: string }> }).parameters;
  return parameters?.HelperImage?.allowedPattern;
}

/** Deployment configuration (cdk.json context `lifeboat`, or props), checked at synth. */
export const LifeboatConfig = z
  .strictObject({
    /** Use an existing archive bucket instead of creating one. */
    existingBucketName: z
      .string()
      .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, { error: 'must be an S3 bucket name' })
      .optional(),
    /**
     * The existing bucket's region, when it is not the stack's (only with existingBucketName): API-run
     * and scheduled backups upload there. @default the stack's region
     */
    existingBucketRegion: z
      .string()
      .regex(/^[a-z]{2}(-[a-z]+)+-[1-9][0-9]?$/, { error: 'must be an AWS region such as "eu-central-1"' })
      .optional(),
    /** Object Lock (compliance) retention in days for a new bucket. */
    objectLockDays: z.number().int().min(1).max(36500).optional(),
    /**
     * The helper image hosts run archives through, instead of the one the stack builds from
     * images/helper (air-gapped hosts, an internal registry). Checked against the documents'
     * HelperImage pattern. @default the stack's image asset, pinned by digest
     */
    helperImage: z.string().min(1).max(300).optional(),
    /** The CPU architecture of the helper image the stack builds (one per stack). @default linux/amd64 */
    helperPlatform: z.enum(Object.keys(HELPER_PLATFORMS) as [keyof typeof HELPER_PLATFORMS], { error: 'must be "linux/amd64" or "linux/arm64"' }).optional(),
    /** Only instances carrying this tag can receive Lifeboat commands. */
    instanceTag: z.strictObject({ key: z.string().min(1), value: z.string().min(1) }).default({ key: 'lifeboat:managed', value: 'true' }),
    /** Archive key prefix (not `lifeboat-output`: scheduled backups keep their output there). */
    archivePrefix: z
      .string()
      .regex(/^[a-z0-9][a-z0-9_-]{0,63}$/)
      .refine((p) => p !== OUTPUT_ROOT, { error: `must not be "${OUTPUT_ROOT}" (scheduled backups write their command output under ${OUTPUT_ROOT}/)` })
      .default('archives'),
    /** Protected volumes: scheduled restore drills, RPO alarms, dashboard rows. */
    protect: z
      .array(ProtectionPolicy)
      .max(100)
      .refine((ps) => new Set(ps.map((p) => `${p.source}/${p.volume}`)).size === ps.length, { error: 'each source/volume may be protected once' })
      .default([]),
    /** `/lifeboat` in Slack: who may use it. @default no Slack routes */
    slack: SlackConfig.optional(),
    /** How often backup freshness is checked (EventBridge Scheduler expression). */
    freshnessSchedule: z
      .string()
      .regex(/^rate\([1-9][0-9]* (minute|minutes|hour|hours)\)$/, { error: 'must be a rate expression such as "rate(15 minutes)"' })
      .default('rate(15 minutes)'),
    /**
     * Images a recreated or drill container may run: repositories (`postgres`, any tag),
     * prefixes ending in `/` (`123456789012.dkr.ecr.eu-west-1.amazonaws.com/db/`), or
     * pinned digests (`repo@sha256:…`). An archive's manifest names an image; only these run.
     * @default none (restores need the existing container; drills are refused)
     */
    allowedImages: z.array(z.string()).max(100).default([]),
    /** Sources that back up but are not protected (each protected source gets its writer policy anyway). */
    backupSources: z
      .array(z.string().regex(SOURCE_PATTERN, { error: `must be a source name (${SOURCE_PATTERN.source})` }))
      .max(200)
      .default([]),
    /** Scheduled whole-host recovery drills: each source's protected volumes restored in plan order on a drill host. @default none */
    recoveryDrills: z
      .array(RecoveryDrillConfig)
      .max(50)
      .refine((ds) => new Set(ds.map((d) => d.source)).size === ds.length, { error: 'each source may have one recovery drill' })
      .default([]),
    /**
     * Launch templates a recovery may start its replacement from ({"launchTemplate": {"id": …}} targets),
     * with the IAM role of each one's instance profile. @default none (launch-template targets are refused by IAM)
     */
    recoveryLaunchTemplates: z.array(RecoveryLaunchTemplate).max(20).default([]),
    /** The sweeper: finishes restores whose completion event was lost. */
    sweeper: z
      .strictObject({
        /** How often it runs, in minutes. */
        everyMinutes: z
          .number({ error: 'must be a whole number of minutes from 1 to 60' })
          .int({ error: 'must be a whole number of minutes from 1 to 60' })
          .min(1, { error: 'must be at least 1 minute' })
          .max(60, { error: 'must be at most 60 minutes' })
          .default(5),
        /** A restore without progress for this many minutes is checked with SSM (the completion event normally comes within seconds). */
        staleAfterMinutes: z
          .number({ error: 'must be a whole number of minutes from 2 to 1440' })
          .int({ error: 'must be a whole number of minutes from 2 to 1440' })
          .min(2, { error: 'must be at least 2 minutes' })
          .max(1440, { error: 'must be at most 1440 minutes (a day)' })
          .default(10),
      })
      .default({ everyMinutes: 5, staleAfterMinutes: 10 }),
    /**
     * Region loss: replicate archives and manifests to a bucket in a second region, served there by a
     * second Lifeboat stack from the same app (`cdk deploy --all`). @default - one region
     */
    replication: ReplicationConfig.optional(),
  })
  .superRefine((c, ctx) => {
    // Settings that cannot apply fail synth instead of being ignored.
    if (c.objectLockDays !== undefined && c.existingBucketName !== undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['objectLockDays'],
        message: 'applies only to a bucket the stack creates, not with existingBucketName (set Object Lock on the existing bucket itself)',
      });
    if (c.existingBucketRegion !== undefined && c.existingBucketName === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['existingBucketRegion'],
        message: "applies only with existingBucketName (a bucket the stack creates is in the stack's region)",
      });
    for (const problem of outputIdCollisions([...c.protect.map((p) => p.source), ...c.backupSources]))
      ctx.addIssue({ code: 'custom', path: ['protect'], message: problem });
    const protectedSources = new Set(c.protect.map((p) => p.source));
    c.recoveryDrills.forEach((d, i) => {
      if (!protectedSources.has(d.source))
        ctx.addIssue({
          code: 'custom',
          path: ['recoveryDrills', i, 'source'],
          message: `${d.source} has no protected volume (a recovery drill restores the protect entries of its source)`,
        });
    });
    for (const problem of recoveryConfigProblems(c.protect)) ctx.addIssue({ code: 'custom', path: ['protect'], message: problem });
    if (c.helperPlatform !== undefined && c.helperImage !== undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['helperPlatform'],
        message: 'applies only to the helper image the stack builds, not with helperImage (build that image for your hosts yourself)',
      });
    if (c.replication !== undefined && c.existingBucketName !== undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['replication'],
        message:
          'does not apply with existingBucketName: the stack cannot put a replication configuration on a bucket it imports (it would replace the bucket’s own). ' +
          'Let the stack create the archive bucket, or set up S3 Replication of <archivePrefix>/ on your bucket yourself and deploy the DR region with existingBucketName there',
      });
    if (c.helperImage !== undefined) {
      for (const name of DOCUMENTS) {
        const pattern = helperImagePattern(name);
        if (pattern && !new RegExp(pattern).test(c.helperImage))
          ctx.addIssue({ code: 'custom', path: ['helperImage'], message: `must be an image reference the ${name} document accepts (${pattern})` });
      }
    }
  });
export type LifeboatConfig = z.input<typeof LifeboatConfig>;

/** Every path of a type, with arrays and objects made readonly (the props are readonly, zod's input is not). */
type DeepReadonly<T> = T extends (infer E)[] ? readonly DeepReadonly<E>[] : T extends object ? { readonly [K in keyof T]: DeepReadonly<T[K]> } : T;
/** Identical types (not merely assignable both ways: an optional field in one only counts). */
// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- the standard exact-equality check compares two generic signatures
type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
/**
 * The plain props interfaces (lib/lifeboat-props.ts, what a consumer reads) and the schema
 * (what synth checks) describe the same configuration: the compiler refuses a field added to one only.
 */
export const PROPS_MATCH_SCHEMA: Same<DeepReadonly<LifeboatConfig>, DeepReadonly<LifeboatSettings>> = true;
