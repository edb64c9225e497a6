/**
 * What the CLI writes for a person to read. Much of it is data a backed-up host wrote (a
 * manifest's names, labels and driver options, a host's errors, catalog keys): an ESC sequence
 * in it could clear or rewrite a line of the terminal, a CR or a line break could start a line
 * of its own ("nothing will be stopped"). Such characters are shown as visible escapes instead.
 * `--json` output is never passed through here: it stays exact JSON.
 */

/**
 * C0 controls (newline, CR, tab, ESC…), DEL, C1 controls (a CSI on its own), Unicode's line and
 * paragraph separators, bidi overrides and isolates.
 */
// eslint-disable-next-line no-control-regex -- exactly what is replaced
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

const ESCAPES: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** One data string, safe on one line of a terminal: each control character as `\n`, `\r`, `\t` or `\u001b`. */
export const terminalSafe = (s: string): string => s.replace(CONTROL, (c) => ESCAPES[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

/** Every string in a value (a plan, a record) made {@link terminalSafe}: what the renderers are given. */
export function terminalData<T>(value: T): T {
  if (typeof value === 'string') return terminalSafe(value) as T;
  if (Array.isArray(value)) return value.map((item: unknown) => terminalData(item)) as T;
  // Plain data only (what JSON and zod give): anything else is passed as it is.
  if (typeof value !== 'object' || value === null || ![Object.prototype, null].includes(Object.getPrototypeOf(value) as object | null)) return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [terminalSafe(k), terminalData(v)])) as T;
}

/** Text about to be written (lines a renderer made): its own line breaks kept, every other control character shown escaped. */
export const terminalText = (text: string): string => text.split('\n').map(terminalSafe).join('\n');

/** A renderer given its arguments as {@link terminalData}: whatever it quotes from them stays on its line. */
export const forTerminal =
  <A extends readonly unknown[]>(render: (...args: A) => string) =>
  (...args: A): string =>
    render(...terminalData(args));
