/**
 * Alarms to chat (slack.chatbot): an AWS Chatbot Slack channel configuration subscribed to the
 * topic every alarm publishes to, with a channel role that can only read CloudWatch alarms and
 * metrics and a guardrail of exactly those actions (never Chatbot's AdministratorAccess default,
 * nor the broader CloudWatchReadOnlyAccess, which also reads logs); cdk-nag clean.
 */
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { templateApp } from '#root/lib/app-context.ts';
import { CHATBOT_ROLE_ACTIONS } from '#root/lib/chatbot.ts';
import { LifeboatStack, type LifeboatConfig } from '#root/lib/lifeboat-stack.ts';

interface Resource {
  Type: string;
  Properties: Record<string, unknown>;
}
type Json = { Resources: Record<string, Resource> };

const SLACK = { teamIds: ['T0LIFE'], channelIds: ['C0ONCALL'], userIds: ['U0ALICE'] };
const CHATBOT = { workspaceId: 'T0LIFE', channelId: 'C0ALARMS' };
const synth = (config: LifeboatConfig): LifeboatStack => new LifeboatStack(templateApp(), 'Test', { config });
const ofType = (json: Json, type: string): [string, Resource][] => Object.entries(json.Resources).filter(([, r]) => r.Type === type);

describe('slack.chatbot: alarms to the Slack channel', () => {
  let stack: LifeboatStack;
  let json: Json;
  beforeAll(() => {
    stack = synth({ slack: { ...SLACK, chatbot: CHATBOT } });
    json = Template.fromStack(stack).toJSON() as Json;
  });

  it('one channel configuration in the workspace and channel given, subscribed to the notification topic, which every alarm publishes to', () => {
    const configs = ofType(json, 'AWS::Chatbot::SlackChannelConfiguration');
    expect(configs).toHaveLength(1);
    const props = configs[0]?.[1].Properties ?? {};
    const topic = stack.getLogicalId(stack.notifications.topic.node.defaultChild as never);
    expect(props).toMatchObject({ SlackWorkspaceId: 'T0LIFE', SlackChannelId: 'C0ALARMS', SnsTopicArns: [{ Ref: topic }], LoggingLevel: 'ERROR' });
    // Failed drills, overdue backups, failed functions: each alarm names that topic as an alarm action.
    const alarms = ofType(json, 'AWS::CloudWatch::Alarm');
    expect(alarms.length).toBeGreaterThan(0);
    for (const [id, alarm] of alarms) expect(alarm.Properties.AlarmActions, id).toContainEqual({ Ref: topic });
    // Names are unique per account across regions: the stack name and its region (the DR stack’s differs).
    expect(props.ConfigurationName).toEqual({ 'Fn::Join': ['', ['Test-', { Ref: 'AWS::Region' }]] });
  });

  it('the channel role reads CloudWatch alarms and metrics only, and the guardrail allows exactly that (not the AdministratorAccess default, no AWS managed policy)', () => {
    const props = ofType(json, 'AWS::Chatbot::SlackChannelConfiguration')[0]?.[1].Properties ?? {};
    expect(props.GuardrailPolicies).toHaveLength(1);
    expect(JSON.stringify(props.GuardrailPolicies)).not.toContain(':iam::aws:policy/');
    const guardrailId = (props.GuardrailPolicies as { Ref: string }[])[0]?.Ref ?? '';
    const guardrail = json.Resources[guardrailId];
    expect(guardrail?.Type).toBe('AWS::IAM::ManagedPolicy');
    expect((guardrail?.Properties.PolicyDocument as { Statement: unknown[] }).Statement).toEqual([
      { Effect: 'Allow', Action: [...CHATBOT_ROLE_ACTIONS], Resource: '*' },
    ]);
    const roleId = (props.IamRoleArn as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
    const role = json.Resources[roleId];
    expect(JSON.stringify(role?.Properties.AssumeRolePolicyDocument)).toContain('chatbot.amazonaws.com');
    expect(role?.Properties.ManagedPolicyArns).toBeUndefined();
    const statements = ofType(json, 'AWS::IAM::Policy')
      .filter(([, p]) => JSON.stringify(p.Properties.Roles) === JSON.stringify([{ Ref: roleId }]))
      .flatMap(([, p]) => (p.Properties.PolicyDocument as { Statement: { Action: unknown }[] }).Statement);
    expect(statements.flatMap((s) => s.Action)).toEqual([...CHATBOT_ROLE_ACTIONS]);
  });

  it('the stack stays cdk-nag clean', () => {
    expect(new AwsSolutionsChecks().validateScope(stack).violations).toEqual([]);
  });

  it('bad ids fail synth naming the field and what it allows', () => {
    expect(() => synth({ slack: { ...SLACK, chatbot: { ...CHATBOT, workspaceId: 'C0ONCALL' } } })).toThrow(
      'lifeboat.slack.chatbot.workspaceId: must be a Slack workspace (team) id such as T0123ABCD',
    );
    expect(() => synth({ slack: { ...SLACK, chatbot: { ...CHATBOT, channelId: 'U0ALICE' } } })).toThrow(
      'lifeboat.slack.chatbot.channelId: must be a Slack channel id such as C0ONCALL1',
    );
    expect(() => synth({ slack: { ...SLACK, chatbot: { ...CHATBOT, guardrails: 'admin' } as never } })).toThrow(/lifeboat\.slack\.chatbot: .*guardrails/);
  });
});
