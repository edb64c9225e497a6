/**
 * Data shown to a person (in Slack, in a terminal) that a backed-up host wrote: a manifest's
 * names and labels, a host's errors and phases. A line break in it could start a line of its
 * own ("nothing will be stopped"), an ESC sequence rewrite a terminal line. Every control
 * character is shown as a visible escape instead; what shows it adds its own line breaks.
 */

/**
 * C0 controls (newline, CR, tab, ESC…), DEL, C1 controls (a CSI on its own), Unicode's line and
 * paragraph separators, bidi overrides and isolates.
 */
// eslint-disable-next-line no-control-regex -- exactly what is replaced
export const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

const ESCAPES: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** A control character as a visible escape: `\n`, `\r`, `\t`, else `\u001b` and so on. */
export const visibleControl = (c: string): string => ESCAPES[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;

/** One data string on one line: each control character as a visible escape. */
export const oneLine = (s: string): string => s.replace(CONTROL_CHARS, visibleControl);

/** Every string in a value (a plan, a record; keys too) made {@link oneLine}. Plain data only (what JSON and zod give): anything else is passed as it is. */
export function oneLineData<T>(value: T): T {
  if (typeof value === 'string') return oneLine(value) as T;
  if (Array.isArray(value)) return value.map((item: unknown) => oneLineData(item)) as T;
  if (typeof value !== 'object' || value === null || ![Object.prototype, null].includes(Object.getPrototypeOf(value) as object | null)) return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [oneLine(k), oneLineData(v)])) as T;
}
