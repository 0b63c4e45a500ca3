/**
 * History reads of the Redis bus: what a resuming subscription missed, from each channel's
 * stream (a gap is detected exactly: each entry records its channel's previous sequence), and
 * the newest events across all channels, from the global stream.
 */
import type { Redis } from 'ioredis';
import { parseEventId } from '../../shared/event-id.js';
import type { RealtimeEvent } from '../../shared/events.js';
import { RealtimeError } from '../errors.js';
import type { BusEvent, HistoryRead } from './bus.js';
import { firehoseChannel } from './channels.js';
import { mergedHistory, resumePoint } from './history-read.js';
import { firstEntry, type StreamEntry, type WireMessage } from './redis-wire.js';

export interface RedisHistorySource {
  readonly redis: Redis;
  /** A key in the service's namespace. */
  key(name: string): string;
  decode(message: WireMessage): BusEvent;
}

export async function readStreams(source: RedisHistorySource, channels: readonly string[], afterEventId: string, limit: number): Promise<HistoryRead> {
  const { redis, key: keyOf } = source;
  const parsed = parseEventId(afterEventId);
  // The newest sequence is the global stream's last entry (the counter's key names the epoch).
  const pipeline = redis.pipeline().get(keyOf('epoch')).xrevrange(keyOf('all'), '+', '-', 'COUNT', 1);
  const keys = channels.map((channel) => (channel === firehoseChannel ? keyOf('all') : keyOf(`h:${channel}`)));
  for (const key of keys) {
    pipeline.xrange(key, parsed ? `(${parsed.sequence}-0` : '-', '+', 'COUNT', limit + 1);
    pipeline.xrange(key, '-', '+', 'COUNT', 1);
  }
  pipeline.xrange(keyOf('all'), '-', '+', 'COUNT', 1);
  const results = await runPipeline(pipeline);
  const start = resumePoint(afterEventId, results[0] as string | null, firstEntry(results[1])?.sequence ?? 0);
  const { afterSequence } = start;
  let gap = start.gap;

  const oldestGlobal = firstEntry(results[results.length - 1]);
  const merged = new Map<number, BusEvent>();
  keys.forEach((key, index) => {
    const oldest = firstEntry(results[3 + index * 2]);
    if (gap === undefined && afterSequence > 0) {
      if (!oldest) {
        // No stream (never written, or expired): complete only if the global history still
        // reaches back to the requested id.
        if (oldestGlobal && oldestGlobal.sequence > afterSequence + 1) gap = 'history_evicted';
      } else {
        const previous = key === keyOf('all') ? oldest.sequence - 1 : oldest.previous;
        if (oldest.sequence > afterSequence && previous > afterSequence) gap = 'history_evicted';
      }
    }
    for (const [, fields] of (results[2 + index * 2] as StreamEntry[] | null) ?? []) {
      const decoded = source.decode(JSON.parse(fields[1]!) as WireMessage);
      merged.set(decoded.sequence, decoded);
    }
  });
  return mergedHistory(merged, limit, gap);
}

/** Newest first, across all channels: pages through the bounded global stream. */
export async function readRecent(source: RedisHistorySource, limit: number, predicate?: (event: RealtimeEvent) => boolean): Promise<RealtimeEvent[]> {
  const found: RealtimeEvent[] = [];
  let end = '+';
  for (let page = 0; page < 20 && found.length < limit; page++) {
    const entries = (await unavailableOnFailure(() => source.redis.xrevrange(source.key('all'), end, '-', 'COUNT', 500))) as StreamEntry[];
    for (const [, fields] of entries) {
      const { event } = source.decode(JSON.parse(fields[1]!) as WireMessage);
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
