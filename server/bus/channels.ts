/**
 * Channels are the routing keys of the fan-out and of history. An event is published to one or
 * more channels; a subscription listens on channels. Names are built only here.
 */
export const channels = {
  user: (userId: string) => `user:${userId}`,
  room: (roomId: string) => `room:${roomId}`,
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

const roomPrefix = 'room:';

export function roomIdOfChannel(channel: string): string | undefined {
  return channel.startsWith(roomPrefix) ? channel.slice(roomPrefix.length) : undefined;
}
