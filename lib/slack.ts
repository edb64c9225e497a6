import { Duration } from 'aws-cdk-lib';
import { AuthorizationType, LambdaIntegration, type Method, type RestApi } from 'aws-cdk-lib/aws-apigateway';
import type { TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { LogGroup } from 'aws-cdk-lib/aws-logs';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { Secret, type ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { RestorePolicy } from '#core/policy.ts';
import * as z from 'zod';
import { SOURCE_PATTERN } from '#core/archive-key.ts';
import type { ProtectionPolicy } from '#core/protection.ts';
import { ALL_SOURCES } from '#core/slack/access.ts';
import type { StackRole } from '#core/replication.ts';
import { type SlackEnv } from '../functions/slack/env.ts';
import { recoveryProtect } from '#core/protection.ts';
import { readArchives } from './catalog.ts';
import { BUNDLED_RUNBOOKS_DIR, LifeboatFunction } from './lifeboat-function.ts';
import { acknowledgeNag } from './nag.ts';
import { grantCancelRestore, grantSendRestore } from './restore-api.ts';

const SLACK_ID = z.string().regex(/^[A-Z0-9]{2,32}$/, { error: 'must be a Slack id such as T0123ABCD' });

const GRANTED_SOURCE = z.union([
  z.literal(ALL_SOURCES),
  z.string().regex(SOURCE_PATTERN, { error: `must be a source name (${SOURCE_PATTERN.source}) or "${ALL_SOURCES}" for every source` }),
]);

/** Alarms to a Slack channel through AWS Chatbot (`slack.chatbot`). */
export const ChatbotConfig = z.strictObject({
  /** The Slack workspace (team) id the AWS Chatbot console shows once the workspace is authorized, e.g. T0123ABCD. */
  workspaceId: z.string().regex(/^T[A-Z0-9]{2,31}$/, { error: 'must be a Slack workspace (team) id such as T0123ABCD' }),
  /** The channel alarms are posted in, e.g. C0ONCALL1 (invite the AWS app, @Amazon Q, formerly @aws, to a private channel). */
  channelId: z.string().regex(/^[CG][A-Z0-9]{2,31}$/, { error: 'must be a Slack channel id such as C0ONCALL1' }),
});
export type ChatbotConfig = z.infer<typeof ChatbotConfig>;

/** Who may use `/lifeboat` (stack configuration). Every list must name someone: empty means nobody. */
export const SlackConfig = z
  .strictObject({
    teamIds: z.array(SLACK_ID).min(1, { error: 'name at least one Slack workspace (team) id' }),
    channelIds: z.array(SLACK_ID).min(1, { error: 'name at least one channel id' }),
    /** Who may use `/lifeboat` at all: `volumes`, `list`, `status`, `help`. */
    userIds: z.array(SLACK_ID).min(1, { error: 'name at least one user id' }),
    /**
     * The sources each user may act on (`plan`, `restore` and its Confirm, `drill`, `cancel`),
     * e.g. `{ "U0ALICE": ["shop-db", "billing"], "U0BOB": ["*"] }`; `*` is every source.
     * @default {} — nobody acts on any source from Slack
     */
    sources: z.record(SLACK_ID, z.array(GRANTED_SOURCE).min(1, { error: 'grant at least one source (or leave the user out)' })).default({}),
    /** How long a plan shown in Slack can be confirmed, in seconds. @default 900 */
    planSeconds: z
      .number()
      .int()
      .min(60, { error: 'must be at least 60 seconds' })
      .max(1800, { error: 'must be at most 1800 seconds (Slack response URLs last 30 minutes)' })
      .default(900),
    /** An existing Secrets Manager secret holding the app's signing secret. @default a new secret to fill in after deploy */
    signingSecretArn: z
      .string()
      .regex(/^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$/, { error: 'must be a Secrets Manager secret ARN' })
      .optional(),
    /**
     * Alarms to chat: an AWS Chatbot channel configuration subscribed to the notification topic, so
     * every alarm (failed drills, overdue backups, failed functions) reaches this Slack channel.
     * The workspace must first be authorized in the AWS Chatbot console. @default no Chatbot
     */
    chatbot: ChatbotConfig.optional(),
  })
  .superRefine((c, ctx) => {
    for (const user of Object.keys(c.sources)) {
      if (!c.userIds.includes(user)) ctx.addIssue({ code: 'custom', path: ['sources', user], message: `${user} is granted sources but is not in userIds` });
    }
  });
export type SlackConfig = z.infer<typeof SlackConfig>;

/** The two routes Slack calls. */
export const SLACK_ROUTES = ['commands', 'interactions'] as const;

/** The slash command of each stack's Slack app: the DR stack's app is a second app in the same workspace. */
export const SLASH_COMMANDS = { primary: '/lifeboat', replica: '/lifeboat-dr' } as const satisfies Record<StackRole, string>;

/**
 * The bot scopes the app asks for: `commands` only. Lifeboat answers slash commands and button
 * clicks in the HTTP response and posts later through each request's `response_url`, which needs
 * no token and no scope (no `chat:write`, no reading of channels or users).
 */
export const SLACK_APP_SCOPES = ['commands'] as const;

/** A Slack app manifest (the JSON form Slack’s “Create New App → From an app manifest” takes). */
export interface SlackAppManifest {
  readonly _metadata: { readonly major_version: number; readonly minor_version: number };
  readonly display_information: { readonly name: string; readonly description: string };
  readonly features: {
    readonly bot_user: { readonly display_name: string; readonly always_online: boolean };
    readonly slash_commands: readonly {
      readonly command: string;
      readonly url: string;
      readonly description: string;
      readonly usage_hint: string;
      readonly should_escape: boolean;
    }[];
  };
  readonly oauth_config: { readonly scopes: { readonly bot: readonly string[] } };
  readonly settings: {
    readonly interactivity: { readonly is_enabled: boolean; readonly request_url: string };
    readonly org_deploy_enabled: boolean;
    readonly socket_mode_enabled: boolean;
    readonly token_rotation_enabled: boolean;
  };
}

/**
 * The manifest of the Slack app for one Lifeboat stack: its slash command and interactivity
 * pointed at the API's two Slack routes. `apiUrl` ends in `/` (RestApi.url, a token at synth).
 */
export function slackAppManifest(apiUrl: string, role: StackRole): SlackAppManifest {
  const command = SLASH_COMMANDS[role];
  const dr = role === 'replica';
  return {
    _metadata: { major_version: 1, minor_version: 1 },
    display_information: {
      name: dr ? 'Lifeboat DR' : 'Lifeboat',
      description: dr
        ? 'Restores from the DR region’s Lifeboat when the primary region is lost'
        : 'Plans and runs restores of Docker volumes from Lifeboat archives',
    },
    features: {
      bot_user: { display_name: dr ? 'lifeboat-dr' : 'lifeboat', always_online: false },
      slash_commands: [
        {
          command,
          url: `${apiUrl}slack/${SLACK_ROUTES[0]}`,
          description: dr ? 'Lifeboat in the DR region: restores, drills, status' : 'Lifeboat: restores, drills, recoveries, status',
          usage_hint:
            'help | volumes | list <volume> | plan|restore <volume> to <instance> | drill <volume> | recover <source> to <instance> | status|cancel <id>',
          // The grammar reads the text as typed: no <#C…> or <@U…> escaping of what looks like names.
          should_escape: false,
        },
      ],
    },
    oauth_config: { scopes: { bot: [...SLACK_APP_SCOPES] } },
    settings: {
      interactivity: { is_enabled: true, request_url: `${apiUrl}slack/${SLACK_ROUTES[1]}` },
      org_deploy_enabled: false,
      socket_mode_enabled: false,
      token_rotation_enabled: false,
    },
  };
}

/** Why each Slack route may skip IAM (APIG4) and Cognito (COG4): the exact reasons given to cdk-nag. */
export function slackRouteReason(route: (typeof SLACK_ROUTES)[number], rule: 'APIG4' | 'COG4'): string {
  const who = route === 'commands' ? 'Slack posts /lifeboat slash commands here' : 'Slack posts button clicks (Confirm / Cancel of a stored plan) here';
  const auth =
    rule === 'APIG4'
      ? 'it cannot sign requests with SigV4, so this method has no IAM authorization'
      : 'it cannot present a Cognito token, so this method has no Cognito user pool authorizer';
  return (
    `POST /slack/${route}: ${who} and ${auth}. The function checks Slack request signing first ` +
    '(HMAC-SHA256 of the raw body with the signing secret, constant-time compare, 5-minute window, each timestamp+signature accepted once) ' +
    'and answers 401 before reading anything else; the workspace, channel, user and per-user source allowlists are checked after that.'
  );
}

export interface SlackProps {
  readonly config: SlackConfig;
  readonly api: RestApi;
  readonly bucket: IBucket;
  readonly table: TableV2;
  readonly restoreDocumentName: string;
  /** The cancel-restore document (Slack `cancel <id>`). */
  readonly cancelDocumentName: string;
  readonly outputLogGroup: LogGroup;
  readonly helperImage: string;
  readonly instanceTag: { readonly key: string; readonly value: string };
  readonly prefix: string;
  /** What restores may do (image allowlist, protected volumes' settings). @default allows no image, plain local volumes */
  readonly restorePolicy?: RestorePolicy;
  /**
   * The whole-host recovery state machine: `recover <source> to <instance>` plans, and its
   * Confirm starts an execution (the worker may states:StartExecution on this machine only).
   * @default none — `recover` answers that recovery is not deployed
   */
  readonly recoveryStateMachine?: IStateMachine;
  /** The protect configuration: the recovery planner's members, waves and roles, and the container a restore naming none stops and restarts. @default none */
  readonly protect?: readonly ProtectionPolicy[];
}

/**
 * `/lifeboat` in Slack: two routes on the API without IAM auth (Slack request
 * signing instead, checked by the function), a function that answers within
 * Slack's 3 seconds, a queue, and a worker that does the work.
 */
export class Slack extends Construct {
  readonly secret: ISecret;
  readonly function: LifeboatFunction<SlackEnv>;
  readonly worker: LifeboatFunction<SlackEnv>;
  /** POST /slack/commands and POST /slack/interactions. */
  readonly methods: readonly Method[];

  constructor(scope: Construct, id: string, props: SlackProps) {
    super(scope, id);
    const { config } = props;
    if (config.signingSecretArn) {
      this.secret = Secret.fromSecretCompleteArn(this, 'SigningSecret', config.signingSecretArn);
    } else {
      const secret = new Secret(this, 'SigningSecret', {
        description: 'Lifeboat: the Slack app signing secret (paste it from the app settings, Basic Information)',
      });
      acknowledgeNag(secret, 'Slack signing secrets are rotated in the Slack app settings, not by a Lambda rotation function.', { rule: 'SMG4' });
      this.secret = secret;
    }
    const dlq = new Queue(this, 'WorkDlq', { encryption: QueueEncryption.SQS_MANAGED, enforceSSL: true, retentionPeriod: Duration.days(14) });
    acknowledgeNag(dlq, 'This queue is the dead-letter queue of the Slack work queue.', { rule: 'SQS3' });
    const queue = new Queue(this, 'Work', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout: Duration.seconds(120),
      deadLetterQueue: { queue: dlq, maxReceiveCount: 3 },
    });
    const environment: SlackEnv = {
      TABLE_NAME: props.table.tableName,
      BUCKET_NAME: props.bucket.bucketName,
      RESTORE_DOCUMENT_NAME: props.restoreDocumentName,
      CANCEL_DOCUMENT_NAME: props.cancelDocumentName,
      OUTPUT_LOG_GROUP: props.outputLogGroup.logGroupName,
      HELPER_IMAGE: props.helperImage,
      LIFEBOAT_RUNBOOKS_DIR: BUNDLED_RUNBOOKS_DIR,
      SIGNING_SECRET_ARN: this.secret.secretArn,
      WORK_QUEUE_URL: queue.queueUrl,
      SLACK_TEAM_IDS: config.teamIds.join(','),
      SLACK_CHANNEL_IDS: config.channelIds.join(','),
      SLACK_USER_IDS: config.userIds.join(','),
      SLACK_USER_SOURCES: JSON.stringify(config.sources),
      SLACK_PLAN_SECONDS: config.planSeconds.toString(),
      LIFEBOAT_POLICY: JSON.stringify(props.restorePolicy ?? RestorePolicy.parse({})),
      // Recovery plans read it, and so does a restore naming no container (the protect config's, never the manifest's).
      LIFEBOAT_PROTECT: recoveryProtect(props.protect ?? []),
      ...(props.recoveryStateMachine ? { RECOVERY_STATE_MACHINE_ARN: props.recoveryStateMachine.stateMachineArn } : {}),
    };
    this.function = new LifeboatFunction(this, 'Function', { entry: 'slack/index.ts', environment, withRunbooks: true, timeout: Duration.seconds(10) });
    this.worker = new LifeboatFunction(this, 'Worker', { entry: 'slack/worker.ts', environment, withRunbooks: true, timeout: Duration.seconds(60) });
    for (const fn of [this.function, this.worker]) {
      this.secret.grantRead(fn);
      props.table.grantReadWriteData(fn);
      readArchives(fn, props.bucket, props.prefix);
      grantSendRestore(fn, props);
    }
    queue.grantSendMessages(this.function);
    // `cancel <id>` runs in the worker.
    grantCancelRestore(this.worker, props);
    // So does a recovery's Confirm: it starts the state machine (reading a recovery's record needs only the table).
    props.recoveryStateMachine?.grantStartExecution(this.worker);
    this.worker.addEventSource(new SqsEventSource(queue, { batchSize: 1, reportBatchItemFailures: true }));

    const slack = props.api.root.addResource('slack');
    const integration = new LambdaIntegration(this.function);
    this.methods = SLACK_ROUTES.map((route) => {
      const method = slack.addResource(route).addMethod('POST', integration, { authorizationType: AuthorizationType.NONE });
      // On these two methods only: every other route of the API stays IAM-authorized and checked.
      acknowledgeNag(method, slackRouteReason(route, 'APIG4'), { rule: 'APIG4' });
      acknowledgeNag(method, slackRouteReason(route, 'COG4'), { rule: 'COG4' });
      return method;
    });
  }
}
