import * as z from 'zod';
import { EventBridgeEnvelope } from '../commons/event-schemas.ts';

/** "EC2 Command Invocation Status-change Notification" from aws.ssm. */
export const CommandInvocationEvent = EventBridgeEnvelope.extend({
  source: z.literal('aws.ssm'),
  'detail-type': z.literal('EC2 Command Invocation Status-change Notification'),
  detail: z.object({
    'command-id': z.string().min(1),
    'document-name': z.string(),
    'instance-id': z.string().min(1),
    'requested-date-time': z.string(),
    status: z.string(),
  }),
});
export type CommandInvocationEvent = z.infer<typeof CommandInvocationEvent>;
