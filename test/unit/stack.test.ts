import { App } from 'aws-cdk-lib';
import type { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { LifeboatStack, type LifeboatConfig } from '#root/lib/lifeboat-stack.ts';
import { DOCUMENTS } from '#core/paths.ts';
import { loadDocument } from '#core/runbooks/document.ts';

const synth = (config?: LifeboatConfig): { stack: LifeboatStack; template: Template } => {
  // No esbuild bundling in unit tests: the template is what is asserted (`cdk synth` bundles for real).
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new LifeboatStack(app, 'Test', { config });
  return { stack, template: Template.fromStack(stack) };
};

interface Statement {
  Action: string | string[];
  Resource: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}
const statements = (template: Template): Statement[] =>
  Object.values(template.findResources('AWS::IAM::Policy')).flatMap(
    (p) => (p as { Properties: { PolicyDocument: { Statement: Statement[] } } }).Properties.PolicyDocument.Statement,
  );
const actions = (s: Statement): string[] => (Array.isArray(s.Action) ? s.Action : [s.Action]);

describe('LifeboatStack', () => {
  let stack: LifeboatStack;
  let template: Template;
  beforeAll(() => {
    ({ stack, template } = synth());
  });

  it.each(DOCUMENTS)('deploys %s with exactly the content of its runbooks/ YAML file', (name) => {
    template.hasResourceProperties('AWS::SSM::Document', {
      DocumentType: 'Command',
      UpdateMethod: 'NewVersion',
      Content: loadDocument(name),
      Tags: Match.arrayWith([{ Key: 'lifeboat:document', Value: name }]),
    });
  });

  it('hard-codes no resource names', () => {
    for (const type of ['AWS::SSM::Document', 'AWS::Lambda::Function', 'AWS::DynamoDB::GlobalTable', 'AWS::S3::Bucket']) {
      for (const r of Object.values(template.findResources(type))) {
        const props = (r as { Properties: Record<string, unknown> }).Properties;
        expect(props.Name ?? props.FunctionName ?? props.TableName ?? props.BucketName).toBeUndefined();
      }
    }
  });

  it('passes cdk-nag AwsSolutions with no unacknowledged findings', () => {
    expect(new AwsSolutionsChecks().validateScope(stack).violations).toEqual([]);
  });

  it('every API route is IAM-authorized', () => {
    const methods = Object.values(template.findResources('AWS::ApiGateway::Method')) as { Properties: { HttpMethod: string; AuthorizationType: string } }[];
    expect(methods.map((m) => m.Properties.HttpMethod).sort()).toEqual(['GET', 'GET', 'GET', 'POST']);
    for (const m of methods) expect(m.Properties.AuthorizationType).toBe('AWS_IAM');
  });

  it('the archive bucket is private, TLS-only, versioned, encrypted, retained and sends events', () => {
    template.hasResource('AWS::S3::Bucket', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: Match.objectLike({
        VersioningConfiguration: { Status: 'Enabled' },
        PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
        BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
        LoggingConfiguration: Match.anyValue(),
      }),
    });
    template.hasResourceProperties('Custom::S3BucketNotifications', { NotificationConfiguration: { EventBridgeConfiguration: {} } });
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
  });

  it('Object Lock is set in compliance mode when configured', () => {
    synth({ objectLockDays: 35 }).template.hasResourceProperties('AWS::S3::Bucket', {
      ObjectLockEnabled: true,
      ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'COMPLIANCE', Days: 35 } } },
    });
  });

  it('an existing bucket can be used instead of a new one', () => {
    const imported = synth({ existingBucketName: 'my-old-backups' }).template;
    expect(Object.keys(imported.findResources('AWS::S3::Bucket'))).toHaveLength(0);
  });

  it('no IAM statement allows every action of a service', () => {
    for (const s of statements(template)) for (const a of actions(s)) expect(a).not.toMatch(/(^\*$|:\*$)/);
  });

  it('ssm:SendCommand reaches only the restore document and instances tagged lifeboat:managed=true', () => {
    const send = statements(template).filter((s) => actions(s).includes('ssm:SendCommand'));
    expect(send).toHaveLength(2);
    const onInstances = send.find((s) => JSON.stringify(s.Resource).includes(':instance/*'));
    expect(onInstances?.Condition).toEqual({ StringEquals: { 'ssm:resourceTag/lifeboat:managed': 'true' } });
    const onDocument = send.find((s) => s !== onInstances);
    expect(JSON.stringify(onDocument?.Resource)).toContain(':document/');
    expect(JSON.stringify(onDocument?.Resource)).toContain(stack.getLogicalId(stack.runbooks.documents['restore-volume']));
  });

  it('S3 access is read-only on the archive prefix', () => {
    // (CDK's own bucket-notifications custom resource configures the bucket once at deploy time.)
    const s3 = statements(template).filter((s) => actions(s).some((a) => a.startsWith('s3:')) && !actions(s).includes('s3:PutBucketNotification'));
    expect(s3.length).toBeGreaterThanOrEqual(6);
    for (const s of s3) {
      expect(actions(s).every((a) => a === 's3:GetObject' || a === 's3:ListBucket')).toBe(true);
      if (actions(s).includes('s3:GetObject')) expect(JSON.stringify(s.Resource)).toContain('/archives/*');
      if (actions(s).includes('s3:ListBucket')) expect(s.Condition).toEqual({ StringLike: { 's3:prefix': ['archives/*'] } });
    }
  });

  it('functions run on the latest Node.js runtime, ARM64, with JSON logs and tracing', () => {
    const ours = [stack.api.function, stack.catalog.function, stack.catalog.reconcile, stack.completion.function].map((f) => stack.getLogicalId(f.node.defaultChild as CfnFunction));
    const resources = (template.toJSON() as { Resources: Record<string, unknown> }).Resources;
    const fns = ours.map((id) => resources[id]);
    expect(fns.every(Boolean)).toBe(true);
    for (const f of fns) {
      expect((f as { Properties: unknown }).Properties).toMatchObject({
        Runtime: 'nodejs24.x',
        Architectures: ['arm64'],
        LoggingConfig: { LogFormat: 'JSON' },
        TracingConfig: { Mode: 'Active' },
      });
    }
  });

  it('completion listens to Lifeboat’s restore document only; the catalog to the archive prefix only', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.ssm'],
        'detail-type': ['EC2 Command Invocation Status-change Notification'],
        detail: { 'document-name': [{ Ref: stack.getLogicalId(stack.runbooks.documents['restore-volume']) }] },
      },
    });
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: Match.objectLike({ source: ['aws.s3'], 'detail-type': ['Object Created', 'Object Deleted'], detail: Match.objectLike({ object: { key: [{ prefix: 'archives/' }] } }) }),
    });
  });

  it('a configuration mistake fails synth with a message naming the field', () => {
    expect(() => synth({ existingBucketName: 'Not_A_Bucket' })).toThrow(/existingBucketName[\s\S]*must be an S3 bucket name/);
    expect(() => synth({ objectLockDays: 0 })).toThrow(/objectLockDays/);
  });
});

describe('document size', () => {
  it.each(DOCUMENTS)('%s stays under the 64 KB SSM document content limit', (name) => {
    expect(JSON.stringify(loadDocument(name)).length).toBeLessThan(64 * 1024);
  });
});
