import type { CommandDocument } from './document.ts';

/** A parameter value SSM would refuse, named so the caller can fix it. */
export class ParameterError extends Error {
  override readonly name = 'ParameterError';
  constructor(
    readonly parameter: string,
    readonly reason: string,
  ) {
    super(`parameter ${parameter}: ${reason}`);
  }
}

export type ParameterValues = Readonly<Record<string, string>>;

/**
 * Checks parameters the way SSM does before it sends a command: unknown names
 * are refused, required ones must be present, defaults fill the rest, and every
 * value must match its `allowedPattern` (and `allowedValues`, when given).
 * Returns the complete set of values. Throws {@link ParameterError}.
 * `checkPatterns: false` only fills defaults (tests that bypass the agent's check).
 */
export function resolveParameters(doc: CommandDocument, given: ParameterValues, options: { checkPatterns?: boolean } = {}): Record<string, string> {
  const check = options.checkPatterns ?? true;
  const resolved: Record<string, string> = {};
  for (const name of Object.keys(given)) {
    if (check && !(name in doc.parameters)) {
      throw new ParameterError(name, `is not a parameter of this document (known: ${Object.keys(doc.parameters).join(', ')})`);
    }
  }
  for (const [name, spec] of Object.entries(doc.parameters)) {
    const value = given[name] ?? spec.default;
    if (!check) {
      if (value !== undefined) resolved[name] = value;
      continue;
    }
    if (value === undefined) throw new ParameterError(name, 'is required');
    if (spec.maxChars !== undefined && value.length > spec.maxChars) {
      throw new ParameterError(name, `is longer than ${spec.maxChars.toString()} characters`);
    }
    if (!new RegExp(spec.allowedPattern, 'u').test(value)) {
      throw new ParameterError(name, `must match ${spec.allowedPattern}`);
    }
    if (spec.allowedValues && !spec.allowedValues.includes(value)) {
      throw new ParameterError(name, `must be one of ${spec.allowedValues.join(', ')}`);
    }
    resolved[name] = value;
  }
  return resolved;
}

/**
 * Renders a step's script as the SSM Agent does: `{{ Name }}` is replaced by the
 * raw value (this is why every parameter needs an allowedPattern), and the
 * runCommand lines are joined into one script.
 */
export function renderScript(runCommand: readonly string[], values: ParameterValues): string {
  return runCommand.map((line) => line.replace(/\{\{\s*([A-Za-z0-9]+)\s*\}\}/g, (whole, name: string) => values[name] ?? whole)).join('\n');
}

/** The environment the agent adds for `interpolationType: ENV_VAR` parameters. */
export function parameterEnvironment(doc: CommandDocument, values: ParameterValues): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, spec] of Object.entries(doc.parameters)) {
    const value = values[name];
    if (spec.interpolationType === 'ENV_VAR' && value !== undefined) env[`SSM_${name}`] = value;
  }
  return env;
}
