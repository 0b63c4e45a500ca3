/** The shape of events on the wire between processes and in Redis streams. */
import superjson from 'superjson';
import type { RealtimeEvent } from '../../shared/events.js';
import type { BusEvent } from './bus.js';
import { roomIdOfChannel } from './channels.js';
import { membershipEvent, type MembershipChange, type PresenceMetadata } from './membership-events.js';

/**
 * One published event: id, cluster sequence, time (ms), channels, and either the superjson
 * envelope of a published event (`e`) or the membership change a cluster script made (`c`),
 * which every process turns into its event with bus/membership-events. `x: 1` marks an ephemeral
 * event: PUBLISHed by TypeScript only, never in a stream, its `seq` not its own (see bus.ts).
 */
export type WireMessage = { id: string; seq: number; ts: number; ch: string[]; x?: 1 } & (
  | { e: ReturnType<typeof superjson.serialize>; c?: undefined }
  | { c: WireChange; e?: undefined }
);

/**
 * A membership change as Lua writes it (cjson): times in ms, metadata as the JSON text it keeps,
 * rooms implied by the channels. `n` on a presence or idle change of a Redis Cluster: the first
 * of the event's parts (the user's partition); the other parts, to rooms in other partitions,
 * follow with its id (cluster/membership-parts).
 */
export type WireChange =
  | Exclude<MembershipChange, { kind: 'presence' | 'idle' }>
  | { kind: 'presence'; userId: string; status: Extract<MembershipChange, { kind: 'presence' }>['status']; lastSeen: number; metadata?: string; n?: number }
  | { kind: 'idle'; userId: string; idleSince: number; n?: number };

export function changeFromWire(change: WireChange, channels: readonly string[]): MembershipChange {
  switch (change.kind) {
    case 'presence': {
      const { userId, status, lastSeen, metadata } = change;
      return {
        kind: 'presence',
        userId,
        status,
        lastSeen: new Date(lastSeen),
        ...(metadata !== undefined && { metadata: JSON.parse(metadata) as PresenceMetadata }),
        rooms: roomsOf(channels),
      };
    }
    case 'idle':
      return { kind: 'idle', userId: change.userId, idleSince: new Date(change.idleSince), rooms: roomsOf(channels) };
    default:
      return change;
  }
}

function roomsOf(channels: readonly string[]): string[] {
  return channels.flatMap((channel) => roomIdOfChannel(channel) ?? []);
}

export type Envelope = Pick<RealtimeEvent, 'type' | 'data' | 'roomId' | 'userId' | 'senderId'> & {
  /** A part of an event published to several partitions of a cluster (bus/cluster-bus): the event's id, when not this part's. */
  o?: string;
  /** How many parts the event has. */
  n?: number;
};

/**
 * The event a message carries, with its channels and this process's sequence for it (the Redis
 * sequence plus `sequenceOffset`, see RedisBus): a published event's envelope is deserialized,
 * a membership change is turned into the event that describes it.
 */
export function decodeMessage(message: WireMessage, sequenceOffset: number): BusEvent {
  const envelope = message.c === undefined ? superjson.deserialize<Envelope>(message.e) : membershipEnvelope(message.c, message.ch);
  if (envelope.n === undefined) {
    const event = { id: message.id, ...envelope, timestamp: new Date(message.ts) } as RealtimeEvent;
    return { event, channels: message.ch, sequence: sequenceOffset + message.seq };
  }
  // One part of an event published to several partitions: the event keeps its one id, the part
  // its own position in this partition.
  const { o, n, ...rest } = envelope;
  const event = { id: o ?? message.id, ...rest, timestamp: new Date(message.ts) } as RealtimeEvent;
  return { event, channels: message.ch, sequence: sequenceOffset + message.seq, parts: n, position: message.id };
}

function membershipEnvelope(change: WireChange, channels: readonly string[]): Envelope {
  const { channels: _channels, ...envelope } = membershipEvent(changeFromWire(change, channels));
  return 'n' in change && change.n !== undefined ? { ...envelope, n: change.n } : envelope;
}

export type StreamEntry = [id: string, fields: string[]];

/**
 * Sequences are the global stream's entry ids (`ms-n`, n < 1000, see publishFunction) read as
 * ms × 1000 + n: one number that orders events, and the time (ms) they were stamped at.
 */
export function sequenceOfStreamId(id: string): number {
  const dash = id.indexOf('-');
  return Number(id.slice(0, dash)) * 1000 + Number(id.slice(dash + 1));
}

export function streamIdOf(sequence: number): string {
  return `${Math.floor(sequence / 1000)}-${sequence % 1000}`;
}

/** When (ms, Redis's clock) the event with this sequence was stamped. */
export const timeOfSequence = (sequence: number): number => Math.floor(sequence / 1000);

/** A global stream entry as the message it was published as: the entry keeps all but its id and sequence. */
export function globalMessage(epoch: string, [id, fields]: StreamEntry): WireMessage {
  const seq = sequenceOfStreamId(id);
  return { ...(JSON.parse(`{${fields[1]!}`) as Omit<WireMessage, 'id' | 'seq'>), id: `${epoch}-${seq}`, seq } as WireMessage;
}

/** What a gap check needs of a stream (XINFO STREAM): its oldest entry's sequence, and whether it ever lost an entry to trimming. */
export interface StreamState {
  oldestSequence: number | undefined;
  trimmed: boolean;
}

/** Reads an XINFO STREAM reply (a flat list of names and values); null (no such stream) is undefined. */
export function streamState(reply: unknown): StreamState | undefined {
  if (!Array.isArray(reply)) return undefined;
  const fields = new Map<string, unknown>();
  for (let index = 0; index + 1 < reply.length; index += 2) fields.set(String(reply[index]), reply[index + 1]);
  const first = fields.get('first-entry') as StreamEntry | null | undefined;
  return {
    oldestSequence: first ? sequenceOfStreamId(first[0]) : undefined,
    trimmed: Number(fields.get('entries-added') ?? 0) > Number(fields.get('length') ?? 0),
  };
}
