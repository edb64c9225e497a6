import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import type { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LifeboatStack } from '#root/lib/lifeboat-stack.ts';
import { ROOT } from '#core/paths.ts';

// The functions as the stack really bundles them (local esbuild), loaded by a fresh Node.js process.
describe('Lambda bundles', () => {
  let outdir: string;
  let assets: Record<string, string>;

  beforeAll(() => {
    outdir = mkdtempSync(join(tmpdir(), 'lifeboat-cdk-'));
    // The bundles leave @aws-sdk/* out, as the Lambda runtime provides it; the repo's copy stands in for the runtime's.
    mkdirSync(join(outdir, 'node_modules'));
    symlinkSync(join(ROOT, 'node_modules/@aws-sdk'), join(outdir, 'node_modules/@aws-sdk'));
    const app = new App({ outdir });
    const stack = new LifeboatStack(app, 'Bundles', {
      config: {
        protect: [{ source: 'db1', volume: 'pgdata', drillHost: { instanceId: 'i-0123456789abcdef0' }, rpoMinutes: 60 }],
        slack: { teamIds: ['T0LIFE'], channelIds: ['C0ONCALL'], userIds: ['U0ALICE'] },
      },
    });
    const assembly = app.synth();
    const template = assembly.getStackByName(stack.stackName).template as { Resources: Record<string, { Properties?: { Code?: { S3Key?: string } } }> };
    const { drillFunction, freshnessFunction } = stack.protection;
    if (!drillFunction || !freshnessFunction || !stack.slack) throw new Error('a protected volume and Slack make their functions');
    const byName = {
      'restore-api': stack.api.function, catalog: stack.catalog.function, 'command-finished': stack.completion.function, drill: drillFunction, freshness: freshnessFunction,
      slack: stack.slack.function, 'slack-worker': stack.slack.worker,
    };
    assets = Object.fromEntries(
      Object.entries(byName).map(([name, fn]) => {
        const id = stack.getLogicalId(fn.node.defaultChild as CfnFunction);
        const hash = (template.Resources[id]?.Properties?.Code?.S3Key ?? 'missing').replace(/\.zip$/, '');
        return [name, join(outdir, `asset.${hash}`)];
      }),
    );
  }, 180_000);
  afterAll(() => {
    rmSync(outdir, { recursive: true, force: true });
  });

  it('the restore API bundle carries the runbooks it validates against', () => {
    expect(existsSync(join(assets['restore-api'] ?? '', 'runbooks/restore-volume.json'))).toBe(true);
  });

  it('no bundle carries a YAML parser (the documents travel as JSON)', () => {
    for (const [name, dir] of Object.entries(assets)) expect(readFileSync(join(dir, 'index.mjs'), 'utf8'), name).not.toContain('YAMLParseError');
  });

  it('the drill bundle carries the runbooks too', () => {
    expect(existsSync(join(assets.drill ?? '', 'runbooks/restore-volume.json'))).toBe(true);
  });

  it.each(['restore-api', 'catalog', 'command-finished', 'drill', 'freshness', 'slack', 'slack-worker'])('%s loads in a fresh Node.js process with its environment', (name) => {
    const dir = assets[name] ?? '';
    const env = {
      PATH: process.env.PATH ?? '', AWS_REGION: 'eu-west-1', AWS_ENDPOINT_URL: 'http://127.0.0.1:9', TABLE_NAME: 'tbl', IDEMPOTENCY_TABLE_NAME: 'idem', BUCKET_NAME: 'bkt',
      ARCHIVE_PREFIX: 'archives', RESTORE_DOCUMENT_NAME: 'doc', OUTPUT_LOG_GROUP: '/x', HELPER_IMAGE: 'h', LIFEBOAT_RUNBOOKS_DIR: join(dir, 'runbooks'),
      TOPIC_ARN: 'arn:aws:sns:eu-west-1:123456789012:t', POWERTOOLS_METRICS_NAMESPACE: 'Lifeboat',
      SIGNING_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:slack-AbCdEf', WORK_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/work',
      SLACK_TEAM_IDS: 'T0LIFE', SLACK_CHANNEL_IDS: 'C0ONCALL', SLACK_USER_IDS: 'U0ALICE',
    };
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', "const m = await import('./index.mjs'); console.log(typeof m.handler);"], { cwd: dir, env, encoding: 'utf8' });
    expect(out.trim()).toBe('function');
  });
});
