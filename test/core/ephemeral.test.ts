/**
 * Ephemeral events in the core, with plain objects: never stored (the bus's history and bytes do
 * not move), never replayed, resumable from (their id resumes after the stored events before
 * them), and coalesced per (room, sender, type) with the latest value sent last.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { MemoryBus } from '../../server/bus/memory-bus.js';
import { channels } from '../../server/core/channels.js';
import { EphemeralCoalescer, type EphemeralSend } from '../../server/core/ephemeral-coalescer.js';
import type { RealtimeServices } from '../../server/core/service.js';
import { parseEventId } from '../../shared/event-id.js';
import type { RealtimeEvent } from '../../shared/events.js';
import { recorder, startServices, testConnection } from './support.js';

let services: RealtimeServices | undefined;
afterEach(async () => {
  vi.useRealTimers();
  await services?.stop();
  services = undefined;
});

describe('ephemeral events in the core', () => {
  it('delivers cursor.moved live with the sender, and never stores it in any history', async () => {
    const bus = new MemoryBus({ epoch: 'test' });
    services = await startServices({ bus, ephemeralHz: 0 });
    const { core } = services;
    const alice = testConnection('c1', 'alice');
    const bob = testConnection('c2', 'bob');
    await core.connect(alice);
    await core.connect(bob);
    const b = recorder();
    await core.subscribe({ connection: alice, channels: [channels.room('r')], holdRoom: 'r', sink: () => {} });
    await core.subscribe({ connection: bob, channels: [channels.room('r')], holdRoom: 'r', sink: b.sink });
    const bytesBefore = bus.historyBytes;
    const head = bus.headEventId();

    const event = await core.publishInput({ roomId: 'r' }, 'cursor.moved', { x: 3, y: 4, target: 'cell-1' }, 'alice');
    expect(b.events.at(-1)).toMatchObject({ type: 'cursor.moved', data: { x: 3, y: 4, target: 'cell-1' }, senderId: 'alice', roomId: 'r' });
    expect(bus.historyBytes).toBe(bytesBefore);
    expect(bus.headEventId()).toBe(head);
    expect((await bus.readHistory([channels.room('r')], 'test-0', 100)).events.map((item) => item.event.type)).not.toContain('cursor.moved');
    // Its id resumes from the stored event before it: nothing durable is lost by resuming from a cursor.
    expect(parseEventId(event.id)).toEqual(parseEventId(head));
    await expect(core.publishInput({ roomId: 'r' }, 'selection.changed', { target: 'cell-1', start: 2, end: 'x' }, 'alice')).rejects.toMatchObject({
      code: 'BAD_REQUEST',
    });
  });

  it('replays the durable events after an id, never the ephemeral ones, and resumes from an ephemeral id', async () => {
    services = await startServices({ ephemeralHz: 0 });
    const { core } = services;
    const alice = testConnection('c1', 'alice');
    await core.connect(alice);
    await core.subscribe({ connection: alice, channels: [channels.room('r')], holdRoom: 'r', sink: () => {} });
    const first = await core.broadcastToRoom('r', 'sphere.updated', { changed: ['a'] });
    const cursor = await core.publishInput({ roomId: 'r' }, 'cursor.moved', { x: 1, y: 1 }, 'alice');
    await core.broadcastToRoom('r', 'sphere.updated', { changed: ['b'] });

    const fromFirst = recorder();
    await core.subscribe({ connection: alice, channels: [channels.room('r')], lastEventId: first.id, sink: fromFirst.sink });
    expect(fromFirst.events.map((event) => event.type)).toEqual(['sphere.updated']);
    const fromCursor = recorder();
    await core.subscribe({ connection: alice, channels: [channels.room('r')], lastEventId: cursor.id, sink: fromCursor.sink });
    expect(fromCursor.events).toEqual([expect.objectContaining({ type: 'sphere.updated', data: { changed: ['b'] } })]);
  });
});

describe('EphemeralCoalescer', () => {
  const send = (x: number): EphemeralSend => ({
    event: { id: `e-${x}`, type: 'cursor.moved', data: { x, y: 0 }, timestamp: new Date(0) } as RealtimeEvent,
    channels: ['room:r'],
  });

  it('sends 1,000 moves in a second as at most hz per second, the first at once and the last exact', () => {
    vi.useFakeTimers();
    const sent: EphemeralSend[] = [];
    const coalescer = new EphemeralCoalescer(20, (item) => sent.push(item));
    for (let index = 1; index <= 1000; index++) {
      coalescer.offer('r\0alice\0cursor.moved', send(index));
      if (index === 1) expect(sent).toHaveLength(1);
      vi.advanceTimersByTime(1);
    }
    vi.advanceTimersByTime(1000);
    // 1,000 ms of moves: the first at once, then one per 50 ms interval; never more than 20 in any second.
    expect(sent.length).toBeLessThanOrEqual(21);
    expect(sent.length).toBeGreaterThanOrEqual(20);
    expect(sent.at(-1)!.event.data).toEqual({ x: 1000, y: 0 });
    expect(coalescer.activeKeys).toBe(0);
    expect(coalescer.coalesced).toBe(1000 - sent.length);
  });

  it('keeps keys apart: two senders are coalesced on their own', () => {
    vi.useFakeTimers();
    const sent: string[] = [];
    const coalescer = new EphemeralCoalescer(10, (item) => sent.push(item.event.id));
    coalescer.offer('alice', send(1));
    coalescer.offer('bob', send(2));
    coalescer.offer('alice', send(3));
    coalescer.offer('alice', send(4));
    expect(sent).toEqual(['e-1', 'e-2']);
    vi.advanceTimersByTime(100);
    expect(sent).toEqual(['e-1', 'e-2', 'e-4']);
    vi.advanceTimersByTime(100);
    expect(coalescer.activeKeys).toBe(0);
  });
});
