import { S3Client } from '@aws-sdk/client-s3';

/** Created once per execution environment; the SDK's standard retry strategy (throttling, transient errors) applies. */
export const s3Client = new S3Client({ maxAttempts: 5 });
