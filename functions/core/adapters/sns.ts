import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import type { Notifier, RestoreNotification } from '../restore/ports.ts';

/** Publishes finished restores to an SNS topic (email, chat, pager subscriptions). */
export class SnsNotifier implements Notifier {
  constructor(
    private readonly sns: SNSClient,
    private readonly topicArn: string,
  ) {}

  async restoreFinished(n: RestoreNotification): Promise<void> {
    await this.sns.send(
      new PublishCommand({
        TopicArn: this.topicArn,
        Subject: n.subject.slice(0, 99),
        Message: n.text,
        MessageAttributes: { state: { DataType: 'String', StringValue: n.state }, restoreId: { DataType: 'String', StringValue: n.restoreId } },
      }),
    );
  }
}
