import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';

/** Created once per execution environment; the SDK's standard retry strategy (throttling, transient errors) applies. */
export const logsClient = new CloudWatchLogsClient({ maxAttempts: 5 });
