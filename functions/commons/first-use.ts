/**
 * A module loaded on first use, once per execution environment. Each function's
 * `index.ts` is a shell whose handlers load the function's wiring (its environment
 * check, clients, services, middlewares: `wiring.ts`) through this on their first
 * invocation, so that module init stays short and the SDK is required only then (the
 * bundles alias it to `commons/sdk/*.cts`, see LAZY_SDK in lib/lifeboat-function.ts).
 * esbuild keeps a dynamic `import()` in the same bundle, evaluated when first called.
 *
 * The environment is therefore validated once, at the first invocation rather than at
 * import. A load that fails (an invalid environment) fails that invocation and is tried
 * again on the next one, as Lambda retries a failed init.
 */
export function firstUse<M>(load: () => Promise<M>): () => Promise<M> {
  let loading: Promise<M> | undefined;
  return () =>
    (loading ??= load().catch((e: unknown) => {
      loading = undefined;
      throw e;
    }));
}
