/**
 * Text Lifeboat posts to Slack. Slack reads `<…>` as markup (links, `<!channel>`,
 * `<@user>` mentions) and `&` as the start of an entity, so every `<`, `>` and `&`
 * in what Lifeboat posts is escaped — archive keys, container names, errors and
 * verify output are data an archive or a host controls. The one piece of markup
 * posted on purpose is a mention of a validated user id, made by {@link mention}.
 */
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

/** The one escaping function: `&` → `&amp;`, `<` → `&lt;`, `>` → `&gt;` (Slack's own rule). */
export const escapeSlack = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

const SLACK_USER_ID = /^[UW][A-Z0-9]{1,31}$/;

/** `<@U…>`: a mention, only of a well-formed user id (anything else is shown escaped). */
export const mention = (userId: string): Mrkdwn => (SLACK_USER_ID.test(userId) ? Mrkdwn.trusted(`<@${userId}>`) : Mrkdwn.escaped(`@${userId}`));

/**
 * A message text: the template's literal parts and every interpolated string or number
 * are escaped; interpolated Mrkdwn (a mention, an earlier md) is kept as it is.
 */
export function md(strings: TemplateStringsArray, ...values: readonly (string | number | Mrkdwn)[]): Mrkdwn {
  let out = escapeSlack(strings[0] ?? '');
  values.forEach((v, i) => {
    out += v instanceof Mrkdwn ? v.text : escapeSlack(typeof v === 'number' ? v.toString() : v);
    out += escapeSlack(strings[i + 1] ?? '');
  });
  return Mrkdwn.trusted(out);
}

/** Joins pieces of Mrkdwn (lines of a message). */
export const joinMd = (parts: readonly Mrkdwn[], separator = '\n'): Mrkdwn => Mrkdwn.trusted(parts.map((p) => p.text).join(escapeSlack(separator)));

/** A Slack message as response_url takes it. Built only by {@link slackMessage}: its text is escaped Mrkdwn. */
export interface SlackMessage {
  readonly response_type?: 'ephemeral' | 'in_channel';
  readonly replace_original?: boolean;
  readonly text: string;
  readonly blocks?: readonly unknown[];
}

/** The one way to make a message: the text has been through {@link md}. */
export const slackMessage = (text: Mrkdwn, options: Omit<SlackMessage, 'text'> = {}): SlackMessage => ({ ...options, text: text.text });
