/**
 * A consumer app's package-lock.json for `npm ci --offline`: the packed `lifeboat` tarball plus
 * aws-cdk-lib and constructs, every other package at the version and integrity this repository's
 * lockfile pins (so npm finds each in the cache `npm ci` filled, and needs no registry metadata).
 * Only what those three need at run time is in it: the closure of their dependencies, optional
 * and peer dependencies, and bundled packages. No dev dependency of this repository (esbuild,
 * typescript) is, unless a run-time dependency needs it.
 */
export interface LockEntry {
  readonly version?: string;
  readonly resolved?: string;
  readonly integrity?: string;
  readonly dev?: boolean;
  readonly devOptional?: boolean;
  readonly optional?: boolean;
  readonly peer?: boolean;
  readonly inBundle?: boolean;
  readonly dependencies?: Record<string, string>;
  readonly optionalDependencies?: Record<string, string>;
  readonly peerDependencies?: Record<string, string>;
  readonly peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  readonly [key: string]: unknown;
}

export interface Lock {
  readonly packages: Record<string, LockEntry>;
}

/** Where Node (and npm) finds `name` from the package at `from`: its own node_modules, then each parent's. */
function locate(packages: Record<string, LockEntry>, from: string, name: string): string | undefined {
  let base = from;
  for (;;) {
    const candidate = `${base === '' ? '' : `${base}/`}node_modules/${name}`;
    if (packages[candidate]) return candidate;
    if (base === '') return undefined;
    const at = base.lastIndexOf('/node_modules/');
    base = at === -1 ? '' : base.slice(0, at);
  }
}

export function consumerLock(
  repoLock: Lock,
  pkg: {
    version: string;
    license?: string;
    dependencies?: Record<string, string>;
    peerDependencies?: Record<string, string>;
    bin?: unknown;
    engines?: unknown;
  },
  tarball: string,
  peers: Record<string, string>,
): { lock: object; dependencies: Record<string, string> } {
  const repo = repoLock.packages;
  const keep = new Set<string>();
  const visit = (path: string): void => {
    if (keep.has(path)) return;
    keep.add(path);
    const e = repo[path];
    if (!e) return;
    for (const p of Object.keys(repo)) if (p.startsWith(`${path}/node_modules/`) && repo[p]?.inBundle) keep.add(p);
    const optionalPeer = (n: string): boolean => e.peerDependenciesMeta?.[n]?.optional === true;
    const names = [
      ...Object.keys(e.dependencies ?? {}),
      ...Object.keys(e.optionalDependencies ?? {}),
      ...Object.keys(e.peerDependencies ?? {}).filter((n) => !optionalPeer(n)),
    ];
    for (const name of names) {
      const found = locate(repo, path, name);
      if (found) visit(found);
    }
  };
  const roots = [...Object.keys(pkg.dependencies ?? {}), ...Object.keys(peers)];
  for (const name of roots) {
    const found = locate(repo, '', name);
    if (!found) throw new Error(`${name} is not in the repository's package-lock.json`);
    visit(found);
  }
  const dependencies = { lifeboat: tarball, ...peers };
  const packages: Record<string, object> = {
    '': { name: 'consumer', dependencies },
    'node_modules/lifeboat': {
      version: pkg.version,
      resolved: tarball,
      license: pkg.license,
      dependencies: pkg.dependencies,
      peerDependencies: pkg.peerDependencies,
      bin: pkg.bin,
      engines: pkg.engines,
    },
  };
  for (const path of [...keep].sort()) {
    const e = repo[path];
    if (!e) continue;
    // Flags describing this repository's tree (dev, devOptional), not the consumer's.
    packages[path] = Object.fromEntries(Object.entries(e).filter(([key]) => key !== 'dev' && key !== 'devOptional'));
  }
  return { lock: { name: 'consumer', lockfileVersion: 3, requires: true, packages }, dependencies };
}
