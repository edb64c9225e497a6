import { SFNClient } from '@aws-sdk/client-sfn';

/** Created once per execution environment; the SDK's standard retry strategy (throttling, transient errors) applies. */
export const sfnClient = new SFNClient({ maxAttempts: 5 });
