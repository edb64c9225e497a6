import { SSMClient, type SSMClientConfig } from '@aws-sdk/client-ssm';

/**
 * The SDK's standard retry strategy: up to 5 attempts for throttling and transient
 * errors, exponential backoff with full jitter, and a retry quota that stops
 * retrying when most calls fail. SendCommand is not idempotent on the AWS side;
 * a retried send that had in fact arrived is refused on the host by the
 * per-volume lock of the restore document.
 */
export const SSM_CLIENT_CONFIG = { maxAttempts: 5 } as const satisfies SSMClientConfig;

/** Created once per execution environment. */
export const ssmClient = new SSMClient(SSM_CLIENT_CONFIG);
