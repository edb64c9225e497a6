import { SNSClient } from '@aws-sdk/client-sns';

/** Created once per execution environment; the SDK's standard retry strategy (throttling, transient errors) applies. */
export const snsClient = new SNSClient({ maxAttempts: 5 });
