/**
 * Issue 13 (memory mode): 2,000 presence updates with metadata at its bound, from an official
 * client, hold no more history than the byte bound; a room subscriber resuming from before the
 * evicted part is told of the gap.
 */
import { describe, expect, it } from 'vitest';
import { MemoryBus } from '../../server/bus/memory-bus.js';
import { defaultConfig } from '../../server/config.js';
import { createRealtimeServer } from '../../server/http/server.js';
import { limits } from '../../shared/limits.js';
import { collect, ofType } from '../support/collect.js';
import { testSecret, wsClient } from '../support/server.js';
import { waitFor } from '../support/wait.js';

describe('history bounded in bytes (real server, official client)', () => {
  it('2,000 presence updates of ~2 KiB hold at most the total bound; a late resume gets stream.gap', async () => {
    const historyBytesTotal = 1024 * 1024;
    const bus = new MemoryBus({ historyBytesTotal, historyBytesPerChannel: 256 * 1024 });
    const server = createRealtimeServer({
      config: defaultConfig({ port: 0, rateLimitPerSecond: 100_000, rateLimitBurst: 100_000 }),
      authSecret: testSecret,
      bus,
    });
    const { wsUrl } = await server.listen();
    const alice = wsClient(wsUrl, await server.tokens.sign('alice', 'user', '1h', { rooms: ['*'] }));
    const watcher = wsClient(wsUrl, await server.tokens.sign('watcher', 'user', '1h', { rooms: ['*'] }));
    try {
      await alice.api.rooms.join.mutate({ roomId: 'lobby' });
      const live = collect(watcher.api.onRoom, { roomId: 'lobby' });
      await waitFor(() => live.started, 'watcher subscribed');
      await waitFor(() => live.events.length > 0, 'first room event');
      const firstId = live.events[0]!.id;
      const metadata = { note: 'x'.repeat(limits.maxPresenceMetadataBytes - 20) };
      const updates = 2_000;
      let peak = 0;
      // 20 calls per tick: the official client sends them as one frame, which must stay under 64 KiB.
      for (let index = 0; index < updates; index += 20) {
        await Promise.all(Array.from({ length: 20 }, (_, offset) => alice.api.presence.update.mutate({ status: (index + offset) % 2 ? 'busy' : 'away', metadata })));
        peak = Math.max(peak, bus.historyBytes);
      }
      console.log(`[reliability] ${updates} presence updates × ${limits.maxPresenceMetadataBytes} B metadata (memory bus): history peak ${(peak / 1024).toFixed(0)} KiB (bound ${historyBytesTotal / 1024} KiB)`);
      expect(peak).toBeLessThanOrEqual(historyBytesTotal + 4 * 1024);

      // Resuming from the first event: the gap comes first, then the newest, never a silent skip.
      const resumed = collect(watcher.api.onRoom, { roomId: 'lobby', lastEventId: firstId });
      await waitFor(() => ofType(resumed.events, 'stream.gap').length === 1, 'a gap notice');
      expect(resumed.events[0]).toMatchObject({ type: 'stream.gap', data: { reason: 'history_evicted', lastEventId: firstId } });
      resumed.unsubscribe();
      live.unsubscribe();
    } finally {
      alice.close();
      watcher.close();
      await server.close();
    }
  }, 60_000);
});
