import { SQSClient } from '@aws-sdk/client-sqs';

/** Created once per execution environment; the SDK's standard retry strategy applies. */
export const sqsClient = new SQSClient({});
