import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/** Created once per execution environment; the SDK's retry strategy handles throttling. */
export const dynamoDbClient = new DynamoDBClient({ maxAttempts: 5 });
export const documentClient = DynamoDBDocumentClient.from(dynamoDbClient, { marshallOptions: { removeUndefinedValues: true } });
