import type { AddressInfo } from 'node:net';
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient, ResourceInUseException } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import dynalite from 'dynalite';

export interface LocalDynamo {
  readonly endpoint: string;
  readonly client: DynamoDBClient;
  readonly doc: DynamoDBDocumentClient;
  /** Creates (or, when persisted, finds) a table shaped like the stack's catalog table (pk/sk strings). */
  createCatalogTable(name?: string): Promise<string>;
  createIdempotencyTable(name?: string): Promise<string>;
  close(): Promise<void>;
}

export interface LocalDynamoOptions {
  /** Keep the tables in a LevelDB folder here. @default in memory */
  readonly path?: string;
}

let tables = 0;

/** Starts a DynamoDB-compatible server (dynalite) on 127.0.0.1, in memory or persisted in a folder. */
export async function startLocalDynamo(options: LocalDynamoOptions = {}): Promise<LocalDynamo> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0, ...(options.path ? { path: options.path } : {}) });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const client = new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  const doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  const create = async (input: ConstructorParameters<typeof CreateTableCommand>[0]): Promise<string> => {
    try {
      await client.send(new CreateTableCommand(input));
    } catch (error) {
      if (!(error instanceof ResourceInUseException)) throw error;
    }
    // dynalite answers CreateTable while the table is still CREATING (it turns ACTIVE on a timer and a
    // LevelDB write, late on a loaded machine), and item requests until then fail "Requested resource
    // not found": wait until it is ACTIVE (bounded).
    for (let i = 0; i < 200; i++) {
      const { Table } = await client.send(new DescribeTableCommand({ TableName: input.TableName }));
      if (Table?.TableStatus === 'ACTIVE') return input.TableName ?? '';
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    throw new Error(`local table ${input.TableName ?? ''} did not become ACTIVE within 5 s`);
  };
  return {
    endpoint,
    client,
    doc,
    createCatalogTable(name = `catalog${++tables}`) {
      return create({
        TableName: name,
        BillingMode: 'PAY_PER_REQUEST',
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'S' },
        ],
      });
    },
    createIdempotencyTable(name = `idempotency${++tables}`) {
      return create({
        TableName: name,
        BillingMode: 'PAY_PER_REQUEST',
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
        AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
      });
    },
    async close() {
      client.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
