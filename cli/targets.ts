// What names a Lifeboat or an instance on the command line. Kept apart from api.ts and local.ts,
// which load the AWS SDK and local mode's stand-ins: main.ts needs these before it knows which
// backend it talks to (and `lifeboat --help` needs neither backend).

/** The id local mode gives this machine (any other instance id is "not registered"). */
export const LOCAL_INSTANCE_ID = 'i-000000000010ca1';

/** The region of an execute-api URL (`<id>.execute-api.<region>.amazonaws.com`). */
export function regionOf(url: URL): string | undefined {
  return /\.execute-api\.([a-z0-9-]+)\.amazonaws\.com$/.exec(url.hostname)?.[1];
}
