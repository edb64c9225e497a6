import { RestoreRecord } from '../catalog/model.ts';
import { RecoveryRecord } from '../recovery/model.ts';
import type { Notifier, RestoreNotification } from '../restore/ports.ts';
import { md, mention, slackMessage, type SlackMessage } from '../slack/mrkdwn.ts';
import { recoveryStatusText } from '../slack/recovery.ts';
import { restoreStatusText } from '../slack/status.ts';

/** Only Slack's own hooks receive Lifeboat's posts (tests widen this to 127.0.0.1). */
export const SLACK_RESPONSE_URL = /^https:\/\/hooks\.slack\.com\/[A-Za-z0-9_./-]{1,500}$/;

/** POSTs a message to a response_url (bounded: 10 s). */
export async function postToSlack(url: string, message: SlackMessage, fetchImpl: typeof fetch = fetch): Promise<void> {
  const res = await fetchImpl(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(message),
    signal: AbortSignal.timeout(10_000),
  });
  if (!res.ok) throw new Error(`Slack answered ${res.status.toString()} to a response_url post`);
}

/**
 * Tells the Slack requester how their restore, drill or whole-host recovery ended (a
 * recovery: its report's text), through the response_url kept on the record (valid 30
 * minutes, 5 posts; Lifeboat uses at most 2 per interaction). One not started from Slack is
 * ignored here.
 */
export class SlackNotifier implements Notifier {
  constructor(
    private readonly options: {
      readonly responseUrlPattern?: RegExp;
      readonly post?: (url: string, message: SlackMessage) => Promise<void>;
      readonly warn?: (message: string, e: unknown) => void;
    } = {},
  ) {}

  async restoreFinished(n: RestoreNotification): Promise<void> {
    const restore = RestoreRecord.safeParse(n.record);
    const recovery = restore.success ? undefined : RecoveryRecord.safeParse(n.record);
    const target = restore.success ? restore.data.notifySlack : recovery?.success ? recovery.data.notifySlack : undefined;
    if (!target || !(this.options.responseUrlPattern ?? SLACK_RESPONSE_URL).test(target.responseUrl)) return;
    const icon = n.state === 'succeeded' ? ':white_check_mark:' : n.state === 'partial' ? ':warning:' : ':x:';
    try {
      // Rebuilt from the record's fields, line by line: archive keys, errors and verify output are data, each kept to its line.
      const body = restore.success
        ? restoreStatusText(restore.data)
        : recovery?.success && recovery.data.report
          ? recoveryStatusText(recovery.data)
          : md`${n.text}`;
      await (this.options.post ?? postToSlack)(
        target.responseUrl,
        slackMessage(md`${icon} ${mention(target.userId)} ${body}`, { response_type: 'in_channel', replace_original: false }),
      );
    } catch (e) {
      // An expired response_url (after 30 minutes) must not fail the completion: SNS still has it.
      this.options.warn?.('could not post the result to Slack', e);
    }
  }
}

/** Several notifiers, each told independently. */
export class Notifiers implements Notifier {
  private readonly list: readonly Notifier[];
  constructor(...list: Notifier[]) {
    this.list = list;
  }

  async restoreFinished(n: RestoreNotification): Promise<void> {
    const results = await Promise.allSettled(this.list.map((x) => x.restoreFinished(n)));
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
  }
}
