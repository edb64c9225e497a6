import { oneLine, oneLineData } from '#core/visible-text.ts';

/**
 * What the CLI writes for a person to read. Much of it is data a backed-up host wrote (a
 * manifest's names, labels and driver options, a host's errors, catalog keys): an ESC sequence
 * in it could clear or rewrite a line of the terminal, a CR or a line break could start a line
 * of its own ("nothing will be stopped"). Such characters are shown as visible escapes instead.
 * `--json` output is never passed through here: it stays exact JSON.
 */

/** One data string, safe on one line of a terminal: each control character as `\n`, `\r`, `\t` or `\u001b`. */
export const terminalSafe = oneLine;

/** Every string in a value (a plan, a record) made {@link terminalSafe}: what the renderers are given. */
export const terminalData = oneLineData;

/** Text about to be written (lines a renderer made): its own line breaks kept, every other control character shown escaped. */
export const terminalText = (text: string): string => text.split('\n').map(terminalSafe).join('\n');

/** A renderer given its arguments as {@link terminalData}: whatever it quotes from them stays on its line. */
export const forTerminal =
  <A extends readonly unknown[]>(render: (...args: A) => string) =>
  (...args: A): string =>
    render(...terminalData(args));
