import * as z from 'zod';
import { SOURCE_PATTERN, VOLUME_PATTERN } from './archive-key.ts';
import { ENGINE_VERIFY_FIELDS, engineVerifyIssues } from './engines/index.ts';

/**
 * A Docker image reference: `[registry[:port]/]repository[:tag][@sha256:digest]`, e.g.
 * `123456789012.dkr.ecr.eu-west-1.amazonaws.com/lifeboat-helper@sha256:…` or
 * `127.0.0.1:5000/postgres:15`. A port only right after a registry host (before the first `/`).
 */
export const IMAGE_PATTERN =
  /^([a-z0-9][a-z0-9.-]{0,127}:[0-9]{1,5}\/)?[a-z0-9][a-z0-9._/-]{0,200}(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[a-f0-9]{64})?$/;
/** A volume driver name (`local`, or a plugin such as `rexray/ebs:latest`). */
export const VOLUME_DRIVER_PATTERN = /^[a-z0-9][a-z0-9_.:/-]{0,63}$/;
export const DRIVER_OPT_KEY_PATTERN = /^[a-z0-9_.-]{1,32}$/;
export const DRIVER_OPT_VALUE_PATTERN = /^[A-Za-z0-9_.,:=/@+-]{0,512}$/;
/**
 * An allowlist entry: a repository (any tag), a repository prefix ending in `/`, or `repository@sha256:…`
 * (that digest only); a registry may carry a port (`127.0.0.1:5000/`, `127.0.0.1:5000/postgres@sha256:…`).
 * The shape of an image reference, so that an entry with a tag is refused by the rule below, which says why.
 */
export const ALLOWED_IMAGE_PATTERN =
  /^(([a-z0-9][a-z0-9.-]{0,127}:[0-9]{1,5}\/)?[a-z0-9][a-z0-9._/-]{0,200}(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[a-f0-9]{64})?|[a-z0-9][a-z0-9.-]{0,127}:[0-9]{1,5}\/)$/;

/** Filesystem types the local driver may mount for a created volume (network filesystems and tmpfs; never a disk). */
export const ALLOWED_VOLUME_TYPES = ['nfs', 'nfs4', 'cifs', 'tmpfs'] as const;

/** restore-volume.yaml's maxChars of VolumeDriverOpts. */
export const DRIVER_OPTS_MAX_CHARS = 1024;
export const DriverOpts = z
  .record(
    z.string().regex(DRIVER_OPT_KEY_PATTERN, { error: `option names must match ${DRIVER_OPT_KEY_PATTERN.source}` }),
    z.string().regex(DRIVER_OPT_VALUE_PATTERN, { error: `option values must match ${DRIVER_OPT_VALUE_PATTERN.source}` }),
  )
  .superRefine((opts, ctx) => {
    const problem = unsafeDriverOpts(opts);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
    const length = driverOptsParameter(opts).length;
    if (length > DRIVER_OPTS_MAX_CHARS)
      ctx.addIssue({
        code: 'custom',
        message: `the options come to ${length.toString()} characters as key=value words; at most ${DRIVER_OPTS_MAX_CHARS.toString()} (restore-volume's VolumeDriverOpts)`,
      });
  });
export type DriverOpts = z.infer<typeof DriverOpts>;

/**
 * Why a created volume's driver options are refused, or undefined. The host script
 * applies the same rules (and checks device nodes, which only the host can see).
 */
export function unsafeDriverOpts(opts: Readonly<Record<string, string>>): string | undefined {
  for (const [key, value] of Object.entries(opts)) {
    if (key === 'device' && (value.startsWith('/dev/') || value === '/dev'))
      return `device=${value} names a host device; only network filesystems (${ALLOWED_VOLUME_TYPES.join(', ')}) may back a created volume`;
    if (key === 'type' && !(ALLOWED_VOLUME_TYPES as readonly string[]).includes(value))
      return `type=${value} is not allowed; allowed: ${ALLOWED_VOLUME_TYPES.join(', ')}`;
    if (key === 'o' && value.split(',').some((o) => /^r?bind$/.test(o))) return `o=${value} would bind a host directory; use HostPath for bind targets`;
  }
  if (opts.device !== undefined && opts.type === undefined) return 'device= needs type= (one of nfs, nfs4, cifs, tmpfs)';
  return undefined;
}

/** How a volume this restore creates is made: chosen by the operator, never by the archive's manifest. */
export const VolumeCreation = z.strictObject({
  /** @default local */
  volumeDriver: z
    .string()
    .regex(VOLUME_DRIVER_PATTERN, { error: `must be a volume driver name (${VOLUME_DRIVER_PATTERN.source})` })
    .optional(),
  /** e.g. {"type": "nfs", "o": "addr=10.0.0.5,rw", "device": ":/exports/pg"} @default none */
  volumeDriverOpts: DriverOpts.optional(),
});
export type VolumeCreation = z.infer<typeof VolumeCreation>;

/**
 * How a protected volume's restores and drills prove the database answers (the protect
 * config's `verify`): the engine (`auto`: from the archive), a read-only check and the
 * minimum its answer must reach, and for `custom` the health and check commands. Only
 * here may custom commands be named: they run as given inside the database container.
 */
export const VolumeVerify = z
  .strictObject({
    ...ENGINE_VERIFY_FIELDS,
    /** Before engine profiles the check was a PostgreSQL `query`: said plainly rather than "unrecognized key". */
    query: z.never({ error: 'was renamed check (the same SELECT; engine postgres, or auto to detect it)' }).optional(),
  })
  .superRefine((v, ctx) => {
    for (const { path, message } of engineVerifyIssues(v)) ctx.addIssue({ code: 'custom', path: [path], message });
  });
export type VolumeVerify = z.infer<typeof VolumeVerify>;

/** Per-volume settings the operator declares (the protect config's entries carry them). */
export const VolumeSettings = VolumeCreation.extend({
  source: z.string().regex(SOURCE_PATTERN),
  volume: z.string().regex(VOLUME_PATTERN),
  /** Image for a recreated or drill container when the archive's manifest names none. */
  containerImage: z.string().regex(IMAGE_PATTERN).optional(),
  /** How restores and drills of this volume are verified. @default engine auto, the engine's default check */
  verify: VolumeVerify.optional(),
});
export type VolumeSettings = z.infer<typeof VolumeSettings>;

/**
 * What the operator allows restores to do on hosts (stack configuration, handed to
 * every function that plans restores). A manifest can only ask within it.
 */
export const RestorePolicy = z.strictObject({
  /** Images a recreated or drill container may run: repositories, prefixes ending in `/`, or pinned digests. @default none */
  allowedImages: z
    .array(
      z
        .string()
        .regex(ALLOWED_IMAGE_PATTERN, { error: 'must be an image repository, a prefix ending in /, or repository@sha256:<digest>' })
        // A tag would be ignored (tags move): pin with a digest instead.
        .refine((e) => !/:[^/@]*$/.test(e.split('@')[0] ?? ''), {
          error: 'must name a repository without a tag (tags move: pin with @sha256:<digest> instead)',
        }),
    )
    .max(100)
    .default([]),
  volumes: z.array(VolumeSettings).max(500).default([]),
});
export type RestorePolicy = z.infer<typeof RestorePolicy>;

/** The policy as a function's environment carries it (LIFEBOAT_POLICY, JSON written at synth); checked at cold start. */
export function policyFromJson(text: string): RestorePolicy {
  return RestorePolicy.parse(JSON.parse(text));
}

/** `postgres` → `docker.io/library/postgres`; `local/pg` → `docker.io/local/pg`; registries kept. */
function normalizeRepository(repository: string): string {
  const first = repository.split('/')[0] ?? '';
  const hasRegistry = repository.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost');
  if (hasRegistry) return repository;
  return repository.includes('/') ? `docker.io/${repository}` : `docker.io/library/${repository}`;
}

function splitImage(image: string): { repository: string; digest?: string } {
  const [nameTag = '', digest] = image.split('@');
  const lastSlash = nameTag.lastIndexOf('/');
  const colon = nameTag.indexOf(':', lastSlash + 1);
  const repository = colon === -1 ? nameTag : nameTag.slice(0, colon);
  return { repository: normalizeRepository(repository), ...(digest ? { digest } : {}) };
}

/** Is this image allowed by the policy's allowlist? */
export function imageAllowed(policy: Pick<RestorePolicy, 'allowedImages'>, image: string): boolean {
  const wanted = splitImage(image);
  return policy.allowedImages.some((entry) => {
    if (entry.endsWith('/')) {
      // `registry.example.com/` names a whole registry; `team/` a namespace on Docker Hub.
      const prefix = entry.slice(0, -1);
      const registry = !prefix.includes('/') && (prefix.includes('.') || prefix.includes(':') || prefix === 'localhost');
      const base = registry ? prefix : prefix.includes('/') ? normalizeRepository(prefix) : `docker.io/${prefix}`;
      return wanted.repository.startsWith(`${base}/`);
    }
    const allowed = splitImage(entry);
    if (allowed.repository !== wanted.repository) return false;
    return allowed.digest === undefined || allowed.digest === wanted.digest;
  });
}

export const settingsFor = (policy: RestorePolicy, source: string, volume: string): VolumeSettings | undefined =>
  policy.volumes.find((v) => v.source === source && v.volume === volume);

/**
 * Driver options as plans and records show them: credentials inside `o=` (a CIFS
 * `password=`, `credentials=` file, anything named secret or token) replaced by `***`.
 */
export function redactDriverOpts(opts: Readonly<Record<string, string>>): Record<string, string> {
  const secret = /^(pass(word)?|credentials|.*secret.*|.*token.*)$/i;
  return Object.fromEntries(
    Object.entries(opts).map(([k, v]) => [
      k,
      secret.test(k)
        ? '***'
        : v
            .split(',')
            .map((part) => (secret.test(part.split('=')[0] ?? '') && part.includes('=') ? `${part.split('=')[0] ?? ''}=***` : part))
            .join(','),
    ]),
  );
}

/** `{type: nfs, o: …}` → `type=nfs o=…`, the restore document's VolumeDriverOpts. */
export const driverOptsParameter = (opts: Readonly<Record<string, string>> | undefined): string =>
  Object.entries(opts ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
