import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { LifeboatStack } from '#root/lib/lifeboat-stack.ts';
import { DOCUMENTS } from '#core/paths.ts';
import { loadDocument } from '#core/runbooks/document.ts';

const synth = (): { stack: LifeboatStack; template: Template } => {
  const app = new App();
  const stack = new LifeboatStack(app, 'Test');
  return { stack, template: Template.fromStack(stack) };
};

describe('LifeboatStack', () => {
  it.each(DOCUMENTS)('deploys %s with exactly the content of its runbooks/ YAML file', (name) => {
    const { template } = synth();
    template.hasResourceProperties('AWS::SSM::Document', {
      DocumentType: 'Command',
      UpdateMethod: 'NewVersion',
      Content: loadDocument(name),
      Tags: Match.arrayWith([{ Key: 'lifeboat:document', Value: name }]),
    });
  });

  it('hard-codes no document names (CloudFormation names them)', () => {
    const { template } = synth();
    for (const doc of Object.values(template.findResources('AWS::SSM::Document'))) {
      expect((doc as { Properties: Record<string, unknown> }).Properties.Name).toBeUndefined();
    }
  });

  it('passes cdk-nag AwsSolutions with no findings', () => {
    const { stack } = synth();
    const report = new AwsSolutionsChecks().validateScope(stack);
    expect(report.violations).toEqual([]);
  });
});

describe('document size', () => {
  it.each(DOCUMENTS)('%s stays under the 64 KB SSM document content limit', (name) => {
    expect(JSON.stringify(loadDocument(name)).length).toBeLessThan(64 * 1024);
  });
});
