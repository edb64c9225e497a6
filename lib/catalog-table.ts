import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, Billing, TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';

/** The catalog and restore state (see functions/core/catalog/dynamodb-catalog.ts), plus the idempotency records. */
export class CatalogTables extends Construct {
  readonly catalog: TableV2;
  /** Powertools idempotency: partition key `id`, TTL `expiration`. */
  readonly idempotency: TableV2;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.catalog = new TableV2(this, 'Catalog', {
      partitionKey: { name: 'pk', type: AttributeType.STRING },
      sortKey: { name: 'sk', type: AttributeType.STRING },
      billing: Billing.onDemand(),
      timeToLiveAttribute: 'expiration',
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.idempotency = new TableV2(this, 'Idempotency', {
      partitionKey: { name: 'id', type: AttributeType.STRING },
      billing: Billing.onDemand(),
      timeToLiveAttribute: 'expiration',
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      removalPolicy: RemovalPolicy.DESTROY, // short-lived request keys, not data
    });
  }
}
