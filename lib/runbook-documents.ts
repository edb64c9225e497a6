import { Arn, Stack } from 'aws-cdk-lib';
import { CfnDocument } from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { DOCUMENTS, type DocumentName } from '#core/paths.ts';
import { loadDocument } from '#core/runbooks/document.ts';

/**
 * Lifeboat's SSM Command documents, each assembled from its `runbooks/<name>/`
 * folder (and `runbooks/lib/`) by the same `loadDocument` the tests run through
 * the local runner, so what is proven locally is what runs on hosts.
 */
export class RunbookDocuments extends Construct {
  /** The deployed documents by name. */
  readonly documents: Readonly<Record<DocumentName, CfnDocument>>;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    const documents = {} as Record<DocumentName, CfnDocument>;
    for (const name of DOCUMENTS) {
      documents[name] = new CfnDocument(this, name, {
        documentType: 'Command',
        content: loadDocument(name),
        // A changed runbook becomes a new version under the same name; commands in flight keep theirs.
        updateMethod: 'NewVersion',
        tags: [{ key: 'lifeboat:document', value: name }],
      });
    }
    this.documents = documents;
  }

  /** The ARN of one document, for narrowly scoped `ssm:SendCommand` grants. */
  documentArn(name: DocumentName): string {
    return Arn.format({ service: 'ssm', resource: 'document', resourceName: this.documents[name].ref }, Stack.of(this));
  }
}
