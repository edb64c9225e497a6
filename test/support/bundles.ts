import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import type { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import { ROOT } from '#core/paths.ts';
import { LifeboatStack } from '../../lib/lifeboat-stack.ts';

export interface Bundles {
  /** Function name -> its bundle folder (index.mjs, and runbooks/ where it needs them). */
  readonly assets: Record<string, string>;
  close(): void;
}

/**
 * Every function bundled as the stack bundles it (local esbuild), with protection and
 * Slack configured so all functions exist. The bundles leave @aws-sdk/* out, as the
 * Lambda runtime provides it; the repo's copy stands in for the runtime's.
 */
export function synthBundles(): Bundles {
  const outdir = mkdtempSync(join(tmpdir(), 'lifeboat-cdk-'));
  mkdirSync(join(outdir, 'node_modules'));
  symlinkSync(join(ROOT, 'node_modules/@aws-sdk'), join(outdir, 'node_modules/@aws-sdk'));
  const app = new App({ outdir });
  const stack = new LifeboatStack(app, 'Bundles', {
    config: {
      protect: [{ source: 'db1', volume: 'pgdata', drillHost: { instanceId: 'i-0123456789abcdef0' }, rpoMinutes: 60 }],
      slack: { teamIds: ['T0LIFE'], channelIds: ['C0ONCALL'], userIds: ['U0ALICE'] },
    },
  });
  const template = app.synth().getStackByName(stack.stackName).template as { Resources: Record<string, { Properties?: { Code?: { S3Key?: string } } }> };
  const { drillFunction, freshnessFunction } = stack.protection;
  if (!drillFunction || !freshnessFunction || !stack.slack) throw new Error('a protected volume and Slack make their functions');
  const byName = {
    'restore-api': stack.api.function,
    catalog: stack.catalog.function,
    'command-finished': stack.completion.function,
    drill: drillFunction,
    freshness: freshnessFunction,
    slack: stack.slack.function,
    'slack-worker': stack.slack.worker,
    sweeper: stack.sweeper.function,
    recovery: stack.recovery.tasksFunction,
  };
  const assets = Object.fromEntries(
    Object.entries(byName).map(([name, fn]) => {
      const id = stack.getLogicalId(fn.node.defaultChild as CfnFunction);
      const hash = (template.Resources[id]?.Properties?.Code?.S3Key ?? 'missing').replace(/\.zip$/, '');
      return [name, join(outdir, `asset.${hash}`)];
    }),
  );
  return {
    assets,
    close: () => {
      rmSync(outdir, { recursive: true, force: true });
    },
  };
}

/** An environment every function's env schema accepts (no AWS reachable: the endpoint is a closed port). */
export function bundleEnv(dir: string): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    AWS_REGION: 'eu-west-1',
    AWS_ENDPOINT_URL: 'http://127.0.0.1:9',
    TABLE_NAME: 'tbl',
    IDEMPOTENCY_TABLE_NAME: 'idem',
    BUCKET_NAME: 'bkt',
    ARCHIVE_PREFIX: 'archives',
    RESTORE_DOCUMENT_NAME: 'doc',
    CANCEL_DOCUMENT_NAME: 'cdoc',
    OUTPUT_LOG_GROUP: '/x',
    HELPER_IMAGE: 'h',
    LIFEBOAT_RUNBOOKS_DIR: join(dir, 'runbooks'),
    TOPIC_ARN: 'arn:aws:sns:eu-west-1:123456789012:t',
    POWERTOOLS_METRICS_NAMESPACE: 'Lifeboat',
    SIGNING_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:slack-AbCdEf',
    WORK_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/work',
    SLACK_TEAM_IDS: 'T0LIFE',
    SLACK_CHANNEL_IDS: 'C0ONCALL',
    SLACK_USER_IDS: 'U0ALICE',
    LIFEBOAT_POLICY: '{}',
    STALE_SECONDS: '600',
    COMMAND_TIMEOUT_SECONDS: '7200',
    MARGIN_SECONDS: '900',
    LIFEBOAT_PROTECT: '[]',
    RECOVERY_DRILLS: '[]',
    INSTANCE_TAG_KEY: 'lifeboat',
    INSTANCE_TAG_VALUE: 'true',
    LAUNCH_TEMPLATES: '[]',
  };
}
