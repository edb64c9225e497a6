import { EC2Client } from '@aws-sdk/client-ec2';

/** Created once per execution environment; the SDK's standard retry strategy applies (RunInstances is made idempotent by its client token). */
export const ec2Client = new EC2Client({ maxAttempts: 5 });
