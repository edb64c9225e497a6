import { Arn, Stack } from 'aws-cdk-lib';
import { CfnDocument } from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { DOCUMENTS, type DocumentName } from '#core/paths.ts';
import { loadDocument } from '#core/runbooks/document.ts';

/** Document name prefixes AWS reserves (CreateDocument refuses them). */
const RESERVED_PREFIXES = /^(aws|amazon|amzn)/i;

/**
 * The deployed name of a document: `<stack name>-<document>` (a stack name is unique per account
 * and region, so two Lifeboat stacks never collide), prefixed `Lifeboat-` when the stack name
 * starts with a prefix AWS reserves, and kept within SSM's 128 characters.
 */
export function documentNameFor(stackName: string, name: DocumentName): string {
  const base = RESERVED_PREFIXES.test(stackName) ? `Lifeboat-${stackName}` : stackName;
  return `${base.slice(0, 127 - name.length)}-${name}`;
}

/**
 * Lifeboat's SSM Command documents, each assembled from its `runbooks/<name>/` folder (and
 * `runbooks/lib/`) by the same `loadDocument` the tests run through the local runner, so what is
 * proven locally is what runs on hosts. Named (`<stack>-restore-volume`, …) so that people and
 * associations can find them; `NewVersion` updates a changed runbook in place as a new default
 * version (with a fixed name, `Replace` would need a second document of the same name and fail).
 */
export class RunbookDocuments extends Construct {
  /** The deployed documents by name. */
  readonly documents: Readonly<Record<DocumentName, CfnDocument>>;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    const stackName = Stack.of(this).stackName;
    const documents = {} as Record<DocumentName, CfnDocument>;
    for (const name of DOCUMENTS) {
      documents[name] = new CfnDocument(this, name, {
        name: documentNameFor(stackName, name),
        documentType: 'Command',
        content: loadDocument(name),
        // A changed runbook becomes a new (default) version under the same name; commands in flight keep theirs.
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
