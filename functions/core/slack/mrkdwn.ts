/**
 * Text Lifeboat posts to Slack. Slack reads `<…>` as markup (links, `<!channel>`,
 * `<@user>` mentions) and `&` as the start of an entity, so every `<`, `>` and `&`
 * in what Lifeboat posts is escaped — archive keys, container names, errors and
 * verify output are data an archive or a host controls. Data is also kept on its
 * own line and from formatting it: a manifest's label holding `\n*nothing will be
 * stopped*` must not post a line of its own, nor bold or strike through the plan's
 * words. The one piece of markup posted on purpose is a mention of a validated
 * user id, made by {@link mention}.
 */
import { CONTROL_CHARS, visibleControl } from '../visible-text.ts';

export class Mrkdwn {
  private constructor(readonly text: string) {}

  /** Only this module makes a Mrkdwn: everything else goes through {@link md}. */
  static escaped(raw: string): Mrkdwn {
    return new Mrkdwn(escapeSlack(raw));
  }

  /** @internal already-escaped pieces joined together. */
  static trusted(text: string): Mrkdwn {
    return new Mrkdwn(text);
  }
}

/** Slack's own rule, for Lifeboat's own words (a template's literal parts): `&` → `&amp;`, `<` → `&lt;`, `>` → `&gt;`. */
const escapeEntities = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * Slack's formatting characters in data, each shown as a look-alike that formats nothing:
 * `*` bold, `_` italic, `~` strike, `` ` `` code. A `_` between letters or digits (`pg_data`)
 * starts or ends no italics in Slack, so it stays.
 */
const INERT: Readonly<Record<string, string>> = { '*': '\u2217', _: '\uff3f', '~': '\u223c', '`': '\u02cb' };

/**
 * The one escaping function for data: `&`, `<` and `>` as Slack's entities (in that order),
 * control characters as visible escapes (data never starts a line of its own), and Slack's
 * formatting characters as inert look-alikes. In a code span (`inCode`) only `` ` `` would end
 * it, so only that one is changed: names in backticks stay exactly as they are.
 */
export const escapeSlack = (s: string, { inCode = false }: { readonly inCode?: boolean } = {}): string =>
  escapeEntities(s)
    .replace(CONTROL_CHARS, visibleControl)
    .replace(inCode ? /`/g : /[*~`]|(?<![\p{L}\p{N}])_|_(?![\p{L}\p{N}])/gu, (c) => INERT[c] ?? c);

const SLACK_USER_ID = /^[UW][A-Z0-9]{1,31}$/;

/** `<@U…>`: a mention, only of a well-formed user id (anything else is shown escaped). */
export const mention = (userId: string): Mrkdwn => (SLACK_USER_ID.test(userId) ? Mrkdwn.trusted(`<@${userId}>`) : Mrkdwn.escaped(`@${userId}`));

/**
 * Lifeboat's own words (the help text): entities escaped, its lines and formatting kept.
 * Never for data: data goes through {@link md}.
 */
export const ownWords = (text: string): Mrkdwn => Mrkdwn.trusted(escapeEntities(text));

/** Is the end of this Mrkdwn inside a code span (an odd number of backticks so far)? Data never adds a backtick. */
const inCodeSpan = (text: string): boolean => (text.match(/`/g)?.length ?? 0) % 2 === 1;

/**
 * A message text: the template's literal parts are Lifeboat's words (entities escaped, lines and
 * formatting kept); every interpolated string or number is data, escaped by {@link escapeSlack}
 * (in a code span: its backticks only); interpolated Mrkdwn (a mention, an earlier md) is kept as it is.
 */
export function md(strings: TemplateStringsArray, ...values: readonly (string | number | Mrkdwn)[]): Mrkdwn {
  let out = escapeEntities(strings[0] ?? '');
  values.forEach((v, i) => {
    out += v instanceof Mrkdwn ? v.text : escapeSlack(typeof v === 'number' ? v.toString() : v, { inCode: inCodeSpan(out) });
    out += escapeEntities(strings[i + 1] ?? '');
  });
  return Mrkdwn.trusted(out);
}

/** Lifeboat's text of several lines (the data in it made one-line by {@link oneLineData}): each line escaped as data. */
export const linesMd = (text: string): Mrkdwn => joinMd(text.split('\n').map((line) => md`${line}`));

/** Joins pieces of Mrkdwn (lines of a message). */
export const joinMd = (parts: readonly Mrkdwn[], separator = '\n'): Mrkdwn => Mrkdwn.trusted(parts.map((p) => p.text).join(escapeEntities(separator)));

/** A Slack message as response_url takes it. Built only by {@link slackMessage}: its text is escaped Mrkdwn. */
export interface SlackMessage {
  readonly response_type?: 'ephemeral' | 'in_channel';
  readonly replace_original?: boolean;
  readonly text: string;
  readonly blocks?: readonly unknown[];
}

/** The one way to make a message: the text has been through {@link md}. */
export const slackMessage = (text: Mrkdwn, options: Omit<SlackMessage, 'text'> = {}): SlackMessage => ({ ...options, text: text.text });
