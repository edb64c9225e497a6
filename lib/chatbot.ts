import { Stack } from 'aws-cdk-lib';
import { LoggingLevel, SlackChannelConfiguration } from 'aws-cdk-lib/aws-chatbot';
import { ManagedPolicy, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import type { ChatbotConfig } from './slack.ts';
import { acknowledgeNag } from './nag.ts';

/**
 * What the channel role may do: read CloudWatch alarms and metrics, which is what AWS Chatbot's
 * “Notification permissions” role template grants so an alarm notification can show its graph.
 * Nothing else: Lifeboat sends notifications to the channel, it does not run AWS commands from it.
 * The channel role is shared by the channel's members: whoever is in the channel can run these
 * read-only CloudWatch commands through the AWS app, and nothing else.
 */
export const CHATBOT_ROLE_ACTIONS = ['cloudwatch:Describe*', 'cloudwatch:Get*', 'cloudwatch:List*'] as const;

/**
 * The channel guardrail: a customer-managed policy allowing exactly {@link CHATBOT_ROLE_ACTIONS}
 * caps what anyone in the channel could do through Chatbot, whatever role is used (without a
 * guardrail, Chatbot applies AdministratorAccess). Not the AWS managed CloudWatchReadOnlyAccess:
 * that also reads CloudWatch Logs (the command output log group) and SNS.
 */
export const CHATBOT_GUARDRAIL_ID = 'Guardrail';

export interface AlarmsToChatProps {
  readonly config: ChatbotConfig;
  /** The notification topic every alarm publishes to. */
  readonly topic: ITopic;
}

/**
 * Alarms to chat: an AWS Chatbot Slack channel configuration subscribed to the notification
 * topic. The topic is encrypted with a customer-managed key; SNS decrypts a message before it
 * delivers it to Chatbot's HTTPS endpoint, so Chatbot needs no grant on the key (the publishers,
 * CloudWatch and Lifeboat's functions, already have theirs).
 */
export class AlarmsToChat extends Construct {
  readonly channel: SlackChannelConfiguration;
  readonly role: Role;

  constructor(scope: Construct, id: string, props: AlarmsToChatProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('chatbot.amazonaws.com'),
      description: 'Lifeboat: AWS Chatbot channel role (reads CloudWatch alarms and metrics for alarm notifications, nothing else)',
    });
    this.role.addToPolicy(new PolicyStatement({ actions: [...CHATBOT_ROLE_ACTIONS], resources: ['*'] }));
    acknowledgeNag(
      this.role,
      'AWS Chatbot’s notification-permissions template: CloudWatch Describe/Get/List so alarm notifications show their graphs. ' +
        'These read actions mostly take no resource ARN (and alarms are named at notification time), so the resource is "*"; the guardrail caps the channel at the same actions.',
      { rule: 'IAM5', findings: [...CHATBOT_ROLE_ACTIONS.map((a) => `Action::${a}`), 'Resource::*'] },
    );
    const guardrail = new ManagedPolicy(this, CHATBOT_GUARDRAIL_ID, {
      description: 'Lifeboat: the most anyone in the alarm channel may do through AWS Chatbot (read CloudWatch alarms and metrics)',
      statements: [new PolicyStatement({ actions: [...CHATBOT_ROLE_ACTIONS], resources: ['*'] })],
    });
    acknowledgeNag(guardrail, 'The channel guardrail: the same CloudWatch read actions as the channel role, which take no resource ARN.', {
      rule: 'IAM5',
      findings: [...CHATBOT_ROLE_ACTIONS.map((a) => `Action::${a}`), 'Resource::*'],
    });
    this.channel = new SlackChannelConfiguration(this, 'Channel', {
      // Configuration names are per account, across regions: the DR stack's gets its own. At most
      // 128 characters: a stack name is at most 128, a region at most ~15.
      slackChannelConfigurationName: `${stack.stackName.slice(0, 100)}-${stack.region}`,
      slackWorkspaceId: props.config.workspaceId,
      slackChannelId: props.config.channelId,
      notificationTopics: [props.topic],
      role: this.role,
      guardrailPolicies: [guardrail],
      loggingLevel: LoggingLevel.ERROR,
    });
  }
}
