/**
 * Prints the Slack app manifest of a deployed Lifeboat stack (its SlackAppManifest output) from
 * `cdk deploy --outputs-file`, and on stderr what to do with it:
 *
 *   npm run slack-manifest -- [--outputs cdk-outputs.json] [--region eu-west-1]
 *
 * Stacks are picked as the CLI picks them: --region picks the stack in that region (the DR
 * stack's app is `/lifeboat-dr`); without it the only stack with Slack, else the primary.
 */
import { existsSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const USAGE = 'usage: npm run slack-manifest -- [--outputs <cdk-outputs.json>] [--region <region>]';

interface SlackStack {
  readonly name: string;
  readonly manifest: string;
  readonly region?: string;
  readonly role?: string;
  readonly secretArn?: string;
}

class UsageError extends Error {}

function stacksOf(file: string): SlackStack[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new UsageError(
      `cannot read the outputs file ${file}: ${e instanceof Error ? e.message : String(e)} (write it with cdk deploy --outputs-file ${file})`,
    );
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new UsageError(`${file} is not a cdk outputs file (an object of stacks and their outputs)`);
  const stacks: SlackStack[] = [];
  for (const [name, outputs] of Object.entries(parsed as Record<string, unknown>)) {
    if (typeof outputs !== 'object' || outputs === null) continue;
    const o = outputs as Record<string, unknown>;
    if (typeof o.SlackAppManifest !== 'string') continue;
    stacks.push({
      name,
      manifest: o.SlackAppManifest,
      ...(typeof o.Region === 'string' ? { region: o.Region } : {}),
      ...(typeof o.Role === 'string' ? { role: o.Role } : {}),
      ...(typeof o.SlackSigningSecretArn === 'string' ? { secretArn: o.SlackSigningSecretArn } : {}),
    });
  }
  return stacks;
}

const label = (s: SlackStack): string => `${s.name}${s.region === undefined ? '' : ` (${s.region})`}`;

/** The stack whose manifest to print, and a note on the others. */
function pick(stacks: readonly SlackStack[], file: string, region: string | undefined): { stack: SlackStack; note?: string } {
  if (stacks.length === 0)
    throw new UsageError(`${file} has no SlackAppManifest output: configure "slack" in the lifeboat configuration and deploy with --outputs-file ${file}`);
  const listing = stacks.map(label).join(', ');
  if (region !== undefined) {
    if (!/^[a-z]{2}(-[a-z]+)+-[1-9][0-9]?$/.test(region))
      throw new UsageError(`--region ${JSON.stringify(region.slice(0, 60))} is not an AWS region such as eu-west-1`);
    const inRegion = stacks.filter((s) => s.region === region);
    if (inRegion.length === 1 && inRegion[0] !== undefined) return { stack: inRegion[0] };
    throw new UsageError(
      `${file} has ${inRegion.length === 0 ? 'no Lifeboat stack with Slack' : 'several Lifeboat stacks with Slack'} in region ${region}: it holds ${listing}`,
    );
  }
  const others = (chosen: SlackStack): string | undefined => {
    const rest = stacks.filter((s) => s !== chosen);
    if (rest.length === 0) return undefined;
    return `also in ${file}: ${rest.map((s) => `${label(s)}: npm run slack-manifest -- --outputs ${file} --region ${s.region ?? '<region>'}`).join('; ')} (a second Slack app)`;
  };
  const only = stacks.length === 1 ? stacks[0] : undefined;
  if (only !== undefined) return { stack: only };
  const primaries = stacks.filter((s) => s.role === 'primary');
  const primary = primaries[0];
  if (primaries.length !== 1 || primary === undefined)
    throw new UsageError(`${file} holds several stacks with Slack: ${listing}; pick one with --region <region>`);
  const note = others(primary);
  return { stack: primary, ...(note === undefined ? {} : { note }) };
}

function main(argv: string[]): number {
  let values: { outputs?: string; region?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { outputs: { type: 'string' }, region: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
    }));
  } catch (e) {
    throw new UsageError(`${e instanceof Error ? e.message : String(e)}\n${USAGE}`);
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const file = values.outputs ?? process.env.LIFEBOAT_OUTPUTS ?? 'cdk-outputs.json';
  if (!existsSync(file)) throw new UsageError(`no outputs file ${file}: deploy with cdk deploy --all --outputs-file ${file}, or pass --outputs <file>`);
  const { stack, note } = pick(stacksOf(file), file, values.region ?? (process.env.LIFEBOAT_REGION || undefined));
  let manifest: unknown;
  try {
    manifest = JSON.parse(stack.manifest);
  } catch {
    throw new UsageError(`${stack.name}.SlackAppManifest in ${file} is not JSON: redeploy, then write the outputs file again`);
  }
  process.stdout.write(`${JSON.stringify(manifest, null, 2)}\n`);
  const command = (manifest as { features?: { slash_commands?: { command?: string }[] } }).features?.slash_commands?.[0]?.command ?? '/lifeboat';
  const secret = stack.secretArn ?? `<${stack.name}.SlackSigningSecretArn>`;
  process.stderr.write(
    [
      `The ${command} app of ${label(stack)}:`,
      '  1. https://api.slack.com/apps → Create New App → From an app manifest → your workspace → paste the JSON above → Create → Install to Workspace.',
      '  2. Basic Information → App Credentials → Signing Secret → Show, and paste it into the stack’s secret:',
      `     aws secretsmanager put-secret-value${stack.region === undefined ? '' : ` --region ${stack.region}`} --secret-id ${secret} --secret-string file:///dev/stdin   (paste the secret, then Ctrl-D: it stays out of your shell history)`,
      ...(note === undefined ? [] : [note]),
      '',
    ].join('\n'),
  );
  return 0;
}

try {
  process.exitCode = main(process.argv.slice(2));
} catch (e) {
  if (!(e instanceof UsageError)) throw e;
  process.stderr.write(`slack-manifest: ${e.message}\n`);
  process.exitCode = 2;
}
