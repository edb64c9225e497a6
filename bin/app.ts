#!/usr/bin/env node
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { LifeboatStack } from '../lib/lifeboat-stack.ts';

const app = new App();
new LifeboatStack(app, 'Lifeboat', {
  description: 'Lifeboat: disaster-recovery restores of Docker volumes from S3 archives',
});
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
app.synth();
