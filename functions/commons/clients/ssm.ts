import { SSMClient } from '@aws-sdk/client-ssm';

/** Created once per execution environment; the SDK's standard retry strategy (throttling, transient errors) applies. */
export const ssmClient = new SSMClient({ maxAttempts: 5 });
