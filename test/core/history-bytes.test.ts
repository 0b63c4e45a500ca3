/**
 * Issue 13: the embedded bus's history is bounded in bytes per channel and in total (each event
 * counted once), oldest first, and a resume from before what was evicted still gets `stream.gap`.
 */
import { describe, expect, it } from 'vitest';
import { MemoryBus } from '../../server/bus/memory-bus.js';
import type { EventDataMap } from '../../shared/events.js';

const kilobyteMessage = (index: number): EventDataMap['notification.new'] => ({ title: `n${index}`, message: 'x'.repeat(1_000) });

describe('MemoryBus history in bytes', () => {
  it('keeps a channel within its byte bound and reports the evicted part as a gap', async () => {
    const bus = new MemoryBus({ epoch: 'e', historyBytesPerChannel: 10_000, historyBytesTotal: 1_000_000 });
    const first = await bus.publish({ type: 'notification.new', data: kilobyteMessage(0), channels: ['room:a'], roomId: 'a' });
    for (let index = 1; index < 100; index++) await bus.publish({ type: 'notification.new', data: kilobyteMessage(index), channels: ['room:a'], roomId: 'a' });
    const read = await bus.readHistory(['room:a'], first.id, 1_000);
    expect(read.gap).toBe('history_evicted');
    // ~1.1 kB each: 9 fit in 10 kB; they are the newest, consecutive.
    expect(read.events.length).toBeGreaterThanOrEqual(8);
    expect(read.events.length).toBeLessThanOrEqual(10);
    const sequences = read.events.map((item) => item.sequence);
    expect(sequences.at(-1)).toBe(100);
    expect(sequences).toEqual(sequences.map((_, index) => 100 - sequences.length + 1 + index));
    // The global log (admin history, firehose) keeps them all: its bound is the total.
    expect((await bus.recentHistory(1_000)).length).toBe(100);
  });

  it('keeps all history within the total, counting an event once, the oldest going first', async () => {
    const total = 50_000;
    const bus = new MemoryBus({ epoch: 'e', historyBytesPerChannel: 1_000_000, historyBytesTotal: total });
    let peak = 0;
    const firstOf = new Map<string, string>();
    for (let index = 0; index < 2_000; index++) {
      const channel = `room:r${index % 20}`;
      const event = await bus.publish({ type: 'notification.new', data: kilobyteMessage(index), channels: [channel, 'presence'], roomId: `r${index % 20}` });
      if (!firstOf.has(channel)) firstOf.set(channel, event.id);
      peak = Math.max(peak, bus.historyBytes);
    }
    console.log(`[reliability] memory bus history: 2,000 × ~1.1 kB events over 20 channels, peak ${peak} B held (total bound ${total} B)`);
    expect(peak).toBeLessThanOrEqual(total + 1_200);
    // What is left is the newest: a resume from any channel's first event is told of the gap.
    for (const [channel, firstId] of firstOf) {
      const read = await bus.readHistory([channel], firstId, 1_000);
      expect(read.gap, channel).toBe('history_evicted');
      for (const item of read.events) expect(item.sequence).toBeGreaterThan(2_000 - 50);
    }
    // A resume from the newest event is complete.
    const newest = bus.headEventId();
    expect(await bus.readHistory(['room:r0'], newest, 10)).toEqual({ events: [] });
  });
});
