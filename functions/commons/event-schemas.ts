import * as z from 'zod';

/*
 * The EventBridge envelopes Lifeboat receives. Powertools' parser ships these
 * schemas, but its schema modules import zod as one namespace object, which
 * esbuild cannot tree-shake: 443 KB of zod in every bundle that used them
 * (measured by npm run bench). These are the same shapes, narrowed to what
 * Lifeboat reads, still applied by the Powertools parser middleware.
 */
export const EventBridgeEnvelope = z.object({
  version: z.string(),
  id: z.string(),
  source: z.string(),
  account: z.string(),
  time: z.iso.datetime(),
  region: z.string(),
  resources: z.array(z.string()),
  'detail-type': z.string(),
  detail: z.unknown(),
  'replay-name': z.string().optional(),
});

/**
 * S3 "Object Created" / "Object Deleted" through EventBridge. Who wrote the object and how
 * (`requester`, `reason`, `source-ip-address`) is read by nothing and required of nothing: a
 * replica S3 Replication writes into the DR bucket is cataloged like an upload, whatever S3
 * puts there for it (the S3 user guide documents `requester` as an account id or an AWS service
 * principal, and `source-ip-address` as present only for events an S3 request caused).
 */
export const S3ObjectEvent = EventBridgeEnvelope.extend({
  source: z.literal('aws.s3'),
  'detail-type': z.enum(['Object Created', 'Object Deleted']),
  detail: z.object({
    version: z.string().optional(),
    bucket: z.object({ name: z.string().min(3) }),
    object: z.object({
      key: z.string().min(1),
      size: z.number().int().nonnegative().optional(),
      etag: z.string().optional(),
      'version-id': z.string().optional(),
      sequencer: z.string().optional(),
    }),
    'request-id': z.string().optional(),
    requester: z.string().optional(),
    reason: z.string().optional(),
    'deletion-type': z.string().optional(),
  }),
});
export type S3ObjectEvent = z.infer<typeof S3ObjectEvent>;
