import { Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { RunbookDocuments } from './runbook-documents.ts';

/** Props of {@link LifeboatStack}. */
export type LifeboatStackProps = StackProps;

/**
 * Lifeboat: the restore service. For now it deploys the host-side runbooks;
 * the catalog, API and completion handling compose onto it.
 */
export class LifeboatStack extends Stack {
  readonly runbooks: RunbookDocuments;

  constructor(scope: Construct, id: string, props: LifeboatStackProps = {}) {
    super(scope, id, props);
    this.runbooks = new RunbookDocuments(this, 'Runbooks');
  }
}
