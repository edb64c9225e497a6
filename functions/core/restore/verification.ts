/**
 * How a restore or drill proves the database answers, decided once per plan: which
 * engine (request > protect config > the archive's data markers > its image > the
 * host), which read-only check with which minimum, and what will run in the container.
 * Plans show it; the restore document gets it as parameters.
 */
import {
  ENGINE_PROFILES,
  checkProblem,
  detectEngine,
  effectiveCheck,
  engineArgv,
  type Engine,
  type EngineRequest,
  type EngineSource,
} from '../engines/index.ts';
import type { ArchiveManifest } from '../manifest.ts';
import type { VolumeVerify } from '../policy.ts';
import { ClientError } from './errors.ts';

/** Where a check or a minimum came from. */
export type VerifySettingSource = 'request' | 'protect config' | 'engine default';

/** The verification as a plan shows it. */
export interface VerificationPlan {
  /** The engine whose profile verifies; `auto`: the host tells it from the extracted data. */
  readonly engine: Engine | 'auto';
  readonly from: EngineSource | 'data-only';
  /** Why this engine, and any evidence in the archive that disagrees. */
  readonly detail: string;
  /** What runs in the container until the database answers; null: nothing (no health command, or decided on the host). */
  readonly health: readonly string[] | null;
  /** The read-only check and what runs for it; null: none (health alone, or the host runs the detected engine's default). */
  readonly check: { readonly text: string; readonly from: VerifySettingSource; readonly argv: readonly string[] | null } | null;
  /** The check's answer must be a whole number at least this big. */
  readonly expectMinimum: { readonly value: number; readonly from: 'request' | 'protect config' } | null;
}

/** The restore document's verification parameters. */
export interface VerifyParameters {
  /** auto | postgres | mysql | redis | mongodb | custom | running | none */
  readonly Verify: string;
  /** '' : the profile's default user. */
  readonly VerifyUser: string;
  /** The check text ('' : the engine's default check); for custom, the check command. */
  readonly VerifyQuery: string;
  /** '' or a whole number the check's answer must reach. */
  readonly ExpectMinimum: string;
  /** custom only: the health command. */
  readonly HealthCommand: string;
}

export interface VerificationInput {
  /** What the request said (engine auto when it said nothing). */
  readonly request: { readonly engine?: EngineRequest | undefined; readonly check?: string | undefined; readonly expectMinimum?: number | undefined };
  /** The volume's protect config `verify`, when the volume is protected. */
  readonly configured?: Pick<VolumeVerify, 'engine' | 'check' | 'expectMinimum' | 'health'> | undefined;
  readonly manifest?: ArchiveManifest | undefined;
  /** A data-only restore: no container, nothing verified. */
  readonly dataOnly?: boolean;
  /** `source/volume`, for messages. */
  readonly where: string;
}

export interface Verification {
  readonly view: VerificationPlan;
  readonly parameters: VerifyParameters;
}

const NOTHING: Omit<VerifyParameters, 'Verify'> = { VerifyUser: '', VerifyQuery: '', ExpectMinimum: '', HealthCommand: '' };

/** Engines that take a read-only check. */
const takesCheck = (engine: Engine | 'auto'): boolean => engine === 'auto' || ENGINE_PROFILES[engine].checkRules !== null;

/**
 * The verification of one restore or drill. The request's check wins; otherwise the
 * protect config's, when it was written for the engine decided (or for `auto`). Custom
 * commands come only from the protect config. Throws a 400 ClientError naming the field
 * when the engine decided cannot run the check, or custom has no configured commands.
 */
export function planVerification(input: VerificationInput): Verification {
  if (input.dataOnly) {
    return {
      view: {
        engine: 'none',
        from: 'data-only',
        detail: 'none: a data-only restore starts no container, so nothing is verified',
        health: null,
        check: null,
        expectMinimum: null,
      },
      parameters: { Verify: 'none', ...NOTHING },
    };
  }
  const { request, configured, manifest, where } = input;
  const detection = detectEngine({ override: request.engine, protectedEngine: configured?.engine, manifest, dataMarkers: manifest?.dataMarkers });
  const { engine } = detection;
  const configApplies = configured !== undefined && (configured.engine === engine || configured.engine === 'auto') && takesCheck(engine);

  let health: string | undefined;
  if (engine === 'custom') {
    if (configured?.engine !== 'custom' || configured.health === undefined) {
      throw new ClientError(
        400,
        `engine: custom runs the health and check commands of the volume's protect config, and ${where} has none (verify.engine custom with verify.health, in the Lifeboat configuration); a request may not name them`,
      );
    }
    health = configured.health;
  }

  const [check, checkFrom]: [string | undefined, 'request' | 'protect config' | undefined] =
    request.check !== undefined
      ? [request.check, 'request']
      : configApplies && configured.check !== undefined
        ? [configured.check, 'protect config']
        : [undefined, undefined];
  const [minimum, minimumFrom]: [number | undefined, 'request' | 'protect config' | undefined] =
    request.expectMinimum !== undefined
      ? [request.expectMinimum, 'request']
      : checkFrom === 'protect config' && configured?.expectMinimum !== undefined
        ? [configured.expectMinimum, 'protect config']
        : [undefined, undefined];

  if (engine === 'custom' && checkFrom === 'request') {
    // With engine auto a request's check may pass another engine's rules and still be a program name: never run it as one.
    throw new ClientError(400, `check: ${where} is verified by custom commands, which come only from its protect config; leave check out of the request`);
  }
  if (check !== undefined && engine !== 'auto') {
    const problem = checkProblem(engine, check);
    if (problem !== null) {
      const origin = checkFrom === 'request' ? 'the request' : `the protect config of ${where}`;
      throw new ClientError(400, `check: ${problem}; the check came from ${origin} and the engine is ${detection.detail}`);
    }
  }
  if (minimum !== undefined && check === undefined && (engine === 'auto' || effectiveCheck(engine, undefined) === null)) {
    throw new ClientError(400, `expectMinimum: needs a check whose answer is a number, and ${engine} has none here`);
  }

  const shownCheck = check ?? (engine === 'auto' ? null : effectiveCheck(engine, undefined));
  const view: VerificationPlan = {
    engine,
    from: detection.source,
    detail: detection.detail,
    health: engine === 'auto' ? null : engineArgv(engine, 'health', engine === 'custom' ? { text: health } : {}),
    check:
      shownCheck === null
        ? null
        : {
            text: shownCheck,
            from: checkFrom ?? 'engine default',
            argv: engine === 'auto' ? null : engineArgv(engine, 'check', { text: shownCheck }),
          },
    expectMinimum: minimum === undefined || minimumFrom === undefined ? null : { value: minimum, from: minimumFrom },
  };
  return {
    view,
    parameters: {
      Verify: engine,
      VerifyUser: '',
      VerifyQuery: check ?? '',
      ExpectMinimum: minimum === undefined ? '' : minimum.toString(),
      HealthCommand: health ?? '',
    },
  };
}

/** Where an engine decision came from, in words. */
const FROM: Record<VerificationPlan['from'], string> = {
  request: 'the request',
  'protect-config': 'the protect config',
  'manifest-markers': "the archive's data markers",
  'manifest-image': "the archive's image",
  host: 'the host, from the extracted data',
  'data-only': 'a data-only restore',
};

/** An argument list as a reader copies it into a shell: words with spaces or quotes single-quoted. */
export const shownArgv = (argv: readonly string[]): string =>
  argv.map((word) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`)).join(' ');

/** The verification for people, a line each: the engine and why, what proves it answers, the check and its minimum. */
export function verificationLines(v: VerificationPlan): string[] {
  const lines = [v.from === 'host' ? `engine ${v.detail}` : `engine ${v.detail} (decided by ${FROM[v.from]})`];
  if (v.engine === 'none') return lines;
  if (v.health) lines.push(`answers when \`${shownArgv(v.health)}\` succeeds in the container`);
  else if (v.engine === 'running') return [...lines, 'answers when the container stays up; no check'];
  else if (v.engine === 'auto') lines.push("answers by the detected engine's profile");
  const minimum = v.expectMinimum ? `, and its answer must be a number at least ${v.expectMinimum.value.toString()} (${v.expectMinimum.from})` : '';
  if (v.check)
    lines.push(`read-only check ${JSON.stringify(v.check.text)} (${v.check.from})${v.check.argv ? `: \`${shownArgv(v.check.argv)}\`` : ''}${minimum}`);
  else if (v.engine === 'auto') lines.push(`read-only check: the detected engine's default${minimum}`);
  else lines.push('no read-only check (the health command alone)');
  return lines;
}
