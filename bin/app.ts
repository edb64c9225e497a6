#!/usr/bin/env node
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { LifeboatStack, type LifeboatConfig } from '../lib/lifeboat-stack.ts';

function parseContext(value: unknown): LifeboatConfig | undefined {
  if (value === undefined) return undefined;
  return (typeof value === 'string' ? JSON.parse(value) : value) as LifeboatConfig;
}

const app = new App();
new LifeboatStack(app, 'Lifeboat', {
  description: 'Lifeboat: disaster-recovery restores of Docker volumes from S3 archives',
  // `cdk deploy -c lifeboat='{"existingBucketName":"my-backups"}'` or cdk.json context; checked at synth.
  config: parseContext(app.node.tryGetContext('lifeboat')),
});
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
app.synth();
