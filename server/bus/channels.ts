/**
 * Channels are the routing keys of the fan-out and of history. An event is published to one or
 * more channels; a subscription listens on channels. Names are built only here.
 */
/** What a room's channel name starts with: the room's own events (messages, agent runs, broadcasts). */
export const roomChannelPrefix = 'room:';
/**
 * What a room's membership channel starts with: its joins, leaves, presence, idle and typing
 * (bus/membership-events; the Redis membership scripts are given it, see
 * cluster/membership-prelude). On a Redis Cluster it is in its room's partition. Kept
 * apart, with a bounded history of its own, so that a storm of rejoins cannot evict the room's
 * own events from the history a resume reads (issue 17: 5,000 rejoins after a restart evicted
 * 71% of the events published meanwhile).
 */
export const roomMembersChannelPrefix = 'room-members:';

export const channels = {
  user: (userId: string) => `user:${userId}`,
  room: (roomId: string) => `${roomChannelPrefix}${roomId}`,
  roomMembers: (roomId: string) => `${roomMembersChannelPrefix}${roomId}`,
  /** Broadcasts to every connected user. */
  everyone: 'all',
  /** Every agent event, for operators watching all agents. */
  agents: 'agents',
  /** Every governance event, for operators watching all approvals. */
  governance: 'governance',
  /** Presence of every user, for operators. */
  presence: 'presence',
} as const;

/**
 * Not a stored channel: every event is delivered to firehose subscribers (admins watching
 * everything), and its history is the global history.
 */
export const firehoseChannel = '*';

/** What hearing a room means: its own events and its membership changes, in one order (one bus sequence). */
export function roomChannels(roomId: string): [string, string] {
  return [channels.room(roomId), channels.roomMembers(roomId)];
}

/** A subscription's channels with each room channel standing for all of that room's channels. */
export function withRoomChannels(listened: readonly string[]): readonly string[] {
  if (!listened.some((channel) => channel.startsWith(roomChannelPrefix))) return listened;
  return [...new Set(listened.flatMap((channel) => (channel.startsWith(roomChannelPrefix) ? roomChannels(channel.slice(roomChannelPrefix.length)) : [channel])))];
}

/** The room of either of a room's channels. */
export function roomIdOfChannel(channel: string): string | undefined {
  if (channel.startsWith(roomChannelPrefix)) return channel.slice(roomChannelPrefix.length);
  if (channel.startsWith(roomMembersChannelPrefix)) return channel.slice(roomMembersChannelPrefix.length);
  return undefined;
}
