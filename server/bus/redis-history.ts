/**
 * History reads of the Redis bus: what a resuming subscription missed, from each channel's
 * stream (with a gap check on the streams' own counters, see streamGap), and the newest events
 * across all channels, from the global stream.
 */
import type { Redis } from 'ioredis';
import { parseEventId } from '../../shared/event-id.js';
import type { RealtimeEvent } from '../../shared/events.js';
import { RealtimeError } from '../errors.js';
import type { BusEvent, HistoryRead } from './bus.js';
import { firehoseChannel } from './channels.js';
import { mergedHistory, resumePoint } from './history-read.js';
import { globalMessage, sequenceOfStreamId, streamIdOf, streamState, timeOfSequence, type StreamEntry, type StreamState, type WireMessage } from './redis-wire.js';

export interface RedisHistorySource {
  readonly redis: Redis;
  /** A key in the service's namespace. */
  key(name: string): string;
  decode(message: WireMessage): BusEvent;
  /** The epoch this process knows: its global stream is `all:<epoch>`. */
  epoch(): string;
  /** How long a channel's stream outlives its last event. */
  readonly historyTtlMs: number;
}

/**
 * Whether a resume from `afterSequence` may have lost events of one stream. Trimming removes the
 * oldest entries, so a stream that still holds an entry at or before the resume point lost
 * nothing after it; one that was trimmed and starts after it may have. A stream (or part of one)
 * that expired had no event for a whole TTL, so it cannot hold anything after a resume point
 * younger than the TTL — nor after the start of an epoch younger than that. Conservative: a
 * resume just before a trimmed stream's oldest entry is told of a gap it may not have.
 */
export function streamGap(state: StreamState | undefined, afterSequence: number, epochStartMs: number, ttlMs: number, nowMs: number): boolean {
  if (state?.oldestSequence !== undefined && state.oldestSequence <= afterSequence + 1) return false;
  if (state?.trimmed) return true;
  return Math.max(timeOfSequence(afterSequence), epochStartMs) < nowMs - ttlMs;
}

/** Epochs are made from Redis's clock (seconds and six digits of microseconds, see publishFunction). */
const epochStartMs = (epoch: string): number => {
  const digits = /^(\d{7,})/.exec(epoch)?.[1];
  return digits === undefined ? 0 : Math.floor(Number(digits) / 1000);
};

export async function readStreams(source: RedisHistorySource, channels: readonly string[], afterEventId: string, limit: number): Promise<HistoryRead> {
  const { redis, key: keyOf } = source;
  const parsed = parseEventId(afterEventId);
  const knownEpoch = source.epoch();
  const globalKey = keyOf(`all:${knownEpoch}`);
  const pipeline = redis.pipeline().get(keyOf('epoch')).xrevrange(globalKey, '+', '-', 'COUNT', 1);
  const keys = channels.map((channel) => (channel === firehoseChannel ? globalKey : keyOf(`h:${channel}`)));
  for (const key of keys) {
    pipeline.xrange(key, parsed ? `(${streamIdOf(parsed.sequence)}` : '-', '+', 'COUNT', limit + 1);
    pipeline.xinfo('STREAM', key);
  }
  const results = await runPipeline(pipeline);
  const currentEpoch = results[0] as string | null;
  const newest = (results[1] as StreamEntry[] | null)?.[0];
  // The global stream read is this process's epoch's: from another epoch, the check below says so.
  const start = resumePoint(afterEventId, currentEpoch, currentEpoch === knownEpoch && newest ? sequenceOfStreamId(newest[0]) : 0);
  const { afterSequence } = start;
  let gap = start.gap;

  const merged = new Map<number, BusEvent>();
  const now = Date.now();
  keys.forEach((key, index) => {
    if (gap === undefined && afterSequence > 0) {
      if (streamGap(streamState(results[3 + index * 2]), afterSequence, epochStartMs(currentEpoch ?? ''), source.historyTtlMs, now)) gap = 'history_evicted';
    }
    for (const entry of (results[2 + index * 2] as StreamEntry[] | null) ?? []) {
      const message = key === globalKey ? globalMessage(knownEpoch, entry) : (JSON.parse(entry[1][1]!) as WireMessage);
      const decoded = source.decode(message);
      merged.set(decoded.sequence, decoded);
    }
  });
  return mergedHistory(merged, limit, gap);
}

/** Newest first, across all channels: pages through the bounded global stream. */
export async function readRecent(source: RedisHistorySource, limit: number, predicate?: (event: RealtimeEvent) => boolean): Promise<RealtimeEvent[]> {
  const found: RealtimeEvent[] = [];
  const epoch = source.epoch();
  let end = '+';
  for (let page = 0; page < 20 && found.length < limit; page++) {
    const entries = (await unavailableOnFailure(() => source.redis.xrevrange(source.key(`all:${epoch}`), end, '-', 'COUNT', 500))) as StreamEntry[];
    for (const entry of entries) {
      const { event } = source.decode(globalMessage(epoch, entry));
      if (!predicate || predicate(event)) found.push(event);
      if (found.length >= limit) break;
    }
    if (entries.length < 500) break;
    end = `(${entries[entries.length - 1]![0]}`;
  }
  return found;
}

async function runPipeline(pipeline: ReturnType<Redis['pipeline']>): Promise<unknown[]> {
  const results = await unavailableOnFailure(() => pipeline.exec());
  return (results ?? []).map(([error, value]) => {
    // XINFO on a missing stream is an error we expect: it means "no such stream".
    if (error) {
      if (/no such key/i.test(error.message)) return null;
      throw new RealtimeError('SERVICE_UNAVAILABLE', 'The event bus (Redis) failed a history read', { cause: error });
    }
    return value;
  });
}

async function unavailableOnFailure<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (cause) {
    if (cause instanceof RealtimeError) throw cause;
    throw new RealtimeError('SERVICE_UNAVAILABLE', 'The event bus (Redis) is unavailable', { cause });
  }
}
