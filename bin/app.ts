#!/usr/bin/env node
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { readFileSync } from 'node:fs';
import { lifeboatStacks } from '../lib/lifeboat-app.ts';
import type { LifeboatConfig } from '../lib/lifeboat-stack.ts';

/**
 * The `lifeboat` configuration: the cdk.json context block, `-c lifeboat='<one-line JSON>'`
 * (the CLI does not pass a multi-line value through), or `-c lifeboatFile=<path to a JSON file>`
 * such as examples/lifeboat.json. Checked at synth by the stack.
 */
function configFrom(app: App): LifeboatConfig | undefined {
  const value: unknown = app.node.tryGetContext('lifeboat');
  const file: unknown = app.node.tryGetContext('lifeboatFile');
  if (value !== undefined && file !== undefined) throw new Error('give the configuration once: context lifeboat or lifeboatFile, not both');
  if (typeof file === 'string') return JSON.parse(readFileSync(file, 'utf8')) as LifeboatConfig;
  if (value === undefined) return undefined;
  return (typeof value === 'string' ? JSON.parse(value) : value) as LifeboatConfig;
}

const app = new App();
// Lifeboat, and with `replication` the DR region's LifeboatDr (cdk deploy --all deploys both).
lifeboatStacks(app, configFrom(app));
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
app.synth();
