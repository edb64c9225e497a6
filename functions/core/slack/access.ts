import * as z from 'zod';
import { md, mention, type Mrkdwn } from './mrkdwn.ts';

export const SLACK_ID = /^[A-Z0-9]{2,32}$/;

/** Who sent a request: workspace, channel, user (ids as Slack sends them). */
export const Who = z.object({ teamId: z.string().regex(SLACK_ID), channelId: z.string().regex(SLACK_ID), userId: z.string().regex(SLACK_ID) });
export type Who = z.infer<typeof Who>;

/** Matches every source in a user's grant. */
export const ALL_SOURCES = '*';

/** Who may use Lifeboat from Slack, and on which sources (stack configuration). */
export interface SlackAccess {
  readonly teamIds: readonly string[];
  readonly channelIds: readonly string[];
  /** May use `/lifeboat` at all (`volumes`, `list`, `status`, `help`). */
  readonly userIds: readonly string[];
  /**
   * The sources each user may act on (`plan`, `restore`, Confirm, `drill`, `cancel`);
   * `*` grants every source. A user not named here acts on nothing.
   */
  readonly sources: Readonly<Record<string, readonly string[]>>;
}

/** Why `who` may not use Lifeboat at all, or undefined when they may. */
export function refused(access: SlackAccess, who: Who): Mrkdwn | undefined {
  if (!access.teamIds.includes(who.teamId)) return md`Lifeboat is not enabled for this Slack workspace.`;
  if (!access.channelIds.includes(who.channelId)) return md`Lifeboat does not take commands in this channel; use the on-call channel.`;
  if (!access.userIds.includes(who.userId))
    return md`${mention(who.userId)} is not on Lifeboat's list of people who may plan and run restores; ask the Lifeboat owners to add you.`;
  return undefined;
}

/** May this user act on this source's archives and restores? */
export function mayActOn(access: SlackAccess, userId: string, source: string): boolean {
  if (!access.userIds.includes(userId)) return false;
  const granted = Object.hasOwn(access.sources, userId) ? access.sources[userId] : undefined;
  return granted !== undefined && (granted.includes(ALL_SOURCES) || granted.includes(source));
}

/** The refusal a user sees for a source they were not granted. */
export const notGranted = (userId: string, source: string): Mrkdwn =>
  md`${mention(userId)} may not act on source \`${source}\`; nothing was planned or sent. The Lifeboat owners grant sources per user (the Slack config's \`sources\`).`;
