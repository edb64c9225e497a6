/**
 * The recovery planner: which volumes of a source, in which waves, from which archives, onto
 * which instances, how long it should take, and what would stop it. It records and sends
 * nothing: the dry run answers its plan, a start records and runs exactly that plan.
 */
import * as z from 'zod';
import type { Catalog } from '../catalog/model.ts';
import type { ProtectionPolicy } from '../protection.ts';
import { ClientError, NotFoundError } from '../restore/errors.ts';
import { CONTAINER_PATTERN } from '../restore/request.ts';
import { DrillRequest, RestoreRequest } from '../restore/schemas.ts';
import type { RestoreService } from '../restore/service.ts';
import { MAX_MEMBERS, MAX_WAVES, type RecoveryMemberPlan, type RecoveryPlan, type RecoveryRequest, type RecoveryTarget } from './model.ts';
import { predictMember, predictTotal } from './predict.ts';

/**
 * What is wrong with the recovery settings of the protect config: an `after` naming a volume
 * that is not protected for the same source (or the volume itself), and cycles of `after`.
 * Each problem names the source and volume. Empty when all is well (checked at synth time).
 */
export function recoveryConfigProblems(protect: readonly ProtectionPolicy[]): string[] {
  const problems: string[] = [];
  const bySource = new Map<string, Map<string, ProtectionPolicy>>();
  for (const p of protect) {
    const volumes = bySource.get(p.source) ?? new Map<string, ProtectionPolicy>();
    volumes.set(p.volume, p);
    bySource.set(p.source, volumes);
  }
  for (const [source, volumes] of bySource) {
    for (const p of volumes.values()) {
      for (const a of p.recovery?.after ?? []) {
        if (a === p.volume) problems.push(`${source}/${p.volume}: recovery.after names the volume itself`);
        else if (!volumes.has(a)) {
          const elsewhere = protect.filter((q) => q.volume === a).map((q) => q.source);
          problems.push(
            `${source}/${p.volume}: recovery.after names ${a}, which is not a protected volume of ${source}` +
              (elsewhere.length ? ` (it is one of ${elsewhere.join(', ')}: a recovery orders only the volumes of one source)` : '') +
              ` (protected: ${[...volumes.keys()].join(', ')})`,
          );
        }
      }
    }
    for (const cycle of cycles(volumes)) problems.push(`${source}: recovery.after forms a cycle: ${cycle.join(' → ')}`);
  }
  return problems;
}

/** Each cycle of `after` edges once, as the path that closes it (a → b → a). */
function cycles(volumes: ReadonlyMap<string, ProtectionPolicy>): string[][] {
  const found: string[][] = [];
  const done = new Set<string>();
  const visit = (v: string, path: string[]): void => {
    if (path.includes(v)) {
      found.push([...path.slice(path.indexOf(v)), v]);
      return;
    }
    if (done.has(v)) return;
    for (const a of volumes.get(v)?.recovery?.after ?? []) if (a !== v && volumes.has(a)) visit(a, [...path, v]);
    done.add(v);
  };
  for (const v of [...volumes.keys()].sort()) visit(v, []);
  return found;
}

/**
 * Each volume's wave: its configured `recovery.wave` (1 when absent), raised past every volume
 * it names in `after`. An edge that would close a cycle is ignored here (the cycle is a problem
 * of its own).
 */
export function waveOf(volumes: ReadonlyMap<string, ProtectionPolicy>): Map<string, number> {
  const waves = new Map<string, number>();
  const visit = (v: string, stack: readonly string[]): number => {
    const known = waves.get(v);
    if (known !== undefined) return known;
    const p = volumes.get(v);
    let wave = p?.recovery?.wave ?? 1;
    for (const a of p?.recovery?.after ?? []) {
      if (a === v || stack.includes(a) || !volumes.has(a)) continue;
      wave = Math.max(wave, visit(a, [...stack, v]) + 1);
    }
    waves.set(v, wave);
    return wave;
  };
  for (const v of volumes.keys()) visit(v, []);
  return waves;
}

export interface PlannerDeps {
  readonly catalog: Pick<Catalog, 'latestArchive' | 'restoreRates'>;
  /** Each member is dry-planned as the restore (or drill) a start would send, so the plan shows what it would refuse. */
  readonly restores: Pick<RestoreService, 'plan' | 'planDrill'>;
  readonly protect: readonly ProtectionPolicy[];
  /** The launch templates a replacement may be launched from (the stack's recoveryLaunchTemplates ids); absent: not checked. */
  readonly launchTemplates?: readonly string[];
}

/** Why a launch template target cannot be used here (its template is not one this stack may launch from), or undefined. */
export function launchTemplateProblem(target: RecoveryTarget, launchTemplates: readonly string[] | undefined): string | undefined {
  if (!('launchTemplate' in target) || launchTemplates === undefined || launchTemplates.includes(target.launchTemplate.id)) return undefined;
  return (
    `target.launchTemplate.id: ${target.launchTemplate.id} is not a launch template this stack may launch from ` +
    `(recoveryLaunchTemplates: ${launchTemplates.length ? launchTemplates.join(', ') : 'none configured'})`
  );
}

/** A name from an archive's manifest (written by the backed-up host, so untrusted) fit to show: as is when it is a container name. */
const shownName = (name: string): string => (CONTAINER_PATTERN.test(name) ? name : JSON.stringify(name.slice(0, 64)));

/** What a member's restore request refused (a ZodError from building it), as one line naming the member's fields. */
export function requestIssues(e: z.ZodError): string {
  return `its restore request is not valid: ${e.issues.map((i) => `${i.path.map(String).join('.') || 'request'}: ${i.message}`).join('; ')}`;
}

export interface PlanOptions {
  readonly mode: 'restore' | 'drill';
  readonly now: Date;
  /**
   * Why no target is known (a scheduled drill without a host): members get instance '' and
   * this becomes the plan's one problem about the target.
   */
  readonly noTarget?: string;
}

/** The restore id a member's dry plan names (the real one is chosen at start). */
const DRY_RUN_ID = 'r-dryrun-00000000';

export type MemberRequest = { readonly mode: 'restore'; readonly request: RestoreRequest } | { readonly mode: 'drill'; readonly request: DrillRequest };

/** The restore (or, in drill mode, drill) request a member runs as: its pinned archive, on its instance. */
export function memberRequest(plan: RecoveryPlan, member: RecoveryMemberPlan, instanceId: string): MemberRequest {
  if (!member.archive) throw new ClientError(422, `${member.volume}: no archive to restore`);
  const common = {
    source: plan.source,
    volume: member.volume,
    archive: { key: member.archive.key },
    instanceId,
    ...(plan.containerEnvFile === undefined ? {} : { containerEnvFile: plan.containerEnvFile }),
  };
  if (plan.mode === 'drill') return { mode: 'drill', request: DrillRequest.parse(common) };
  return {
    mode: 'restore',
    request: RestoreRequest.parse({ ...common, ifVolumeExists: plan.ifVolumeExists, ...(member.containerName ? { containerName: member.containerName } : {}) }),
  };
}

/** The instance a target puts a volume on ('' : not known until a host is launched, or not named). */
function instanceFor(target: RecoveryTarget, volume: string): string {
  if ('instanceId' in target) return target.instanceId;
  if ('volumes' in target) return target.volumes[volume] ?? '';
  return '';
}

const ageSeconds = (now: Date, takenAt: string): number => Math.max(0, Math.round((now.getTime() - Date.parse(takenAt)) / 1000));

/**
 * Plans the recovery of `request.source`: its protected volumes (none → 404 naming the source),
 * each one's wave, role, container, instance and archive (newest, or newest at or before
 * `request.at`, pinned by key), predicted times, and every problem a start would refuse.
 */
export async function planRecovery(deps: PlannerDeps, request: RecoveryRequest, options: PlanOptions): Promise<RecoveryPlan> {
  const { source, target } = request;
  const protectedVolumes = new Map(deps.protect.filter((p) => p.source === source).map((p) => [p.volume, p]));
  if (protectedVolumes.size === 0) {
    throw new NotFoundError(
      `source ${source} has no protected volumes (protect[] in the Lifeboat configuration names none of it), so there is nothing to recover`,
    );
  }
  const problems: string[] = recoveryConfigProblems(deps.protect).filter((p) => p.startsWith(`${source}/`) || p.startsWith(`${source}:`));
  const warnings: string[] = [];
  if (protectedVolumes.size > MAX_MEMBERS)
    problems.push(`${source} has ${protectedVolumes.size.toString()} protected volumes; a recovery takes at most ${MAX_MEMBERS.toString()}`);
  if (options.noTarget !== undefined) problems.push(options.noTarget);
  else if ('launchTemplate' in target) {
    const problem = launchTemplateProblem(target, deps.launchTemplates);
    if (problem) problems.push(problem);
    warnings.push('members are checked against the replacement only after it is launched and online');
  } else if ('volumes' in target) {
    for (const v of Object.keys(target.volumes).sort()) {
      if (!protectedVolumes.has(v)) {
        problems.push(`target.volumes.${v}: ${v} is not a protected volume of ${source} (protected: ${[...protectedVolumes.keys()].sort().join(', ')})`);
      }
    }
    for (const v of [...protectedVolumes.keys()].sort()) {
      if (target.volumes[v] === undefined)
        problems.push(`target.volumes.${v}: no instance named for ${source}/${v} (every protected volume of the source needs one)`);
    }
  }

  const waves = waveOf(protectedVolumes);
  const members: RecoveryMemberPlan[] = [];
  for (const [volume, p] of [...protectedVolumes].sort(([a], [b]) => a.localeCompare(b))) {
    const wave = waves.get(volume) ?? 1;
    if (wave > MAX_WAVES)
      problems.push(
        `${volume}: its place after ${(p.recovery?.after ?? []).join(', ')} puts it in wave ${wave.toString()}; a recovery has at most ${MAX_WAVES.toString()} waves`,
      );
    const role = p.recovery?.role ?? 'critical';
    const entry = await deps.catalog.latestArchive(source, volume, request.at);
    if (!entry) {
      const none = `${volume}: no archive of ${source}/${volume}${request.at ? ` taken at or before ${request.at}` : ''} is in the catalog`;
      if (role === 'critical') problems.push(none);
      else warnings.push(`${none}; it is optional, so the recovery skips it`);
    }
    const archive = entry
      ? {
          key: entry.key,
          ...(entry.versionId ? { versionId: entry.versionId } : {}),
          takenAt: entry.takenAt,
          size: entry.size,
          ageSeconds: ageSeconds(options.now, entry.takenAt),
        }
      : null;
    const samples = await deps.catalog.restoreRates(source, volume);
    const predicted = predictMember({ source, volume }, archive?.size ?? null, samples);
    if (predicted.seconds === null && archive) warnings.push(`${volume}: ${predicted.basis}, so no time is predicted for it`);
    // Only the configuration names a container: a manifest is written by the backed-up host, and
    // the host script trusts the container it is given (it skips the "another running container
    // uses this volume" check for it), so a manifest naming one could stop another source's.
    const containerName = p.recovery?.container ?? p.backup?.container ?? '';
    const named = entry?.manifest?.container?.name;
    if (!containerName && named) {
      warnings.push(
        `${volume}: data only — the archive’s manifest names container ${shownName(named)}, but a recovery only stops or recreates a container named in the configuration (protect[].recovery.container)`,
      );
    }
    members.push({
      volume,
      wave,
      role,
      after: [...(p.recovery?.after ?? [])],
      instanceId: options.noTarget === undefined ? instanceFor(target, volume) : '',
      containerName,
      archive,
      predicted,
    });
  }

  const waveNumbers = [...new Set(members.map((m) => m.wave))].sort((a, b) => a - b);
  const plan: RecoveryPlan = {
    source,
    mode: options.mode,
    ...(request.at === undefined ? {} : { at: request.at }),
    target,
    ifVolumeExists: request.ifVolumeExists,
    parallel: request.parallel,
    ...(request.containerEnvFile === undefined ? {} : { containerEnvFile: request.containerEnvFile }),
    plannedAt: options.now.toISOString(),
    waves: waveNumbers.map((wave) => ({ wave, members: members.filter((m) => m.wave === wave) })),
    predicted: { seconds: null, basis: '' },
    problems,
    warnings,
  };
  plan.predicted = predictTotal(plan.waves, plan.parallel, { launch: 'launchTemplate' in target });
  await dryRunMembers(deps, plan);
  return plan;
}

/**
 * Plans each member's restore or drill as a start would send it (when its instance is known), so
 * a dry run shows what a start would refuse: an offline host, a host that does not receive the
 * source, an archive without a checksum, an image not allowed.
 */
async function dryRunMembers(deps: PlannerDeps, plan: RecoveryPlan): Promise<void> {
  for (const member of plan.waves.flatMap((w) => w.members)) {
    if (!member.archive || !member.instanceId) continue;
    try {
      const m = memberRequest(plan, member, member.instanceId);
      const dry = m.mode === 'drill' ? await deps.restores.planDrill(m.request, DRY_RUN_ID) : await deps.restores.plan(m.request, DRY_RUN_ID);
      // A start refuses an offline host (its dry plan only reports it).
      if (!dry.target.online) plan.problems.push(`${member.volume}: instance ${member.instanceId} is not online in SSM (${dry.target.pingStatus})`);
    } catch (e) {
      // A request the restore schema refuses is this member's problem (never a 400 naming a field the caller never sent).
      if (e instanceof z.ZodError) plan.problems.push(`${member.volume}: ${requestIssues(e)}`);
      else if (e instanceof ClientError) plan.problems.push(`${member.volume}: ${e.message}`);
      else throw e;
    }
  }
}
