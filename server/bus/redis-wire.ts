/** The shape of events on the wire between processes and in Redis streams. */
import type superjson from 'superjson';
import type { RealtimeEvent } from '../../shared/events.js';

/** One published event: id, cluster sequence, time (ms), channels, and the superjson envelope. */
export interface WireMessage {
  id: string;
  seq: number;
  ts: number;
  ch: string[];
  e: ReturnType<typeof superjson.serialize>;
}

export type Envelope = Pick<RealtimeEvent, 'type' | 'data' | 'roomId' | 'userId' | 'senderId'>;

export type StreamEntry = [id: string, fields: string[]];

/** The oldest entry of an XRANGE … COUNT 1 reply: its sequence and its channel's previous sequence. */
export function firstEntry(reply: unknown): { sequence: number; previous: number } | undefined {
  const entry = (reply as StreamEntry[] | null)?.[0];
  if (!entry) return undefined;
  const [id, fields] = entry;
  const previousIndex = fields.indexOf('p');
  return { sequence: Number(id.split('-')[0]), previous: previousIndex === -1 ? 0 : Number(fields[previousIndex + 1]) };
}
