/**
 * Channels are the routing keys of the fan-out and of history. An event is published to one or
 * more channels; a subscription listens on channels. Names are built only here.
 */
/** What a room's channel name starts with (the Redis membership scripts are given it, see cluster-scripts). */
export const roomChannelPrefix = 'room:';

export const channels = {
  user: (userId: string) => `user:${userId}`,
  room: (roomId: string) => `${roomChannelPrefix}${roomId}`,
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

export function roomIdOfChannel(channel: string): string | undefined {
  return channel.startsWith(roomChannelPrefix) ? channel.slice(roomChannelPrefix.length) : undefined;
}
