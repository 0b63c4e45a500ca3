import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RealtimeEvent } from '../../shared/events.js';
import { RedisBus } from '../../server/bus/redis-bus.js';
import { runScript } from '../../server/cluster/membership-buses.js';
import { RedisMembership } from '../../server/cluster/redis-membership.js';
import { requireRedis, startRedis, type TestRedis } from '../support/redis.js';
import { waitFor } from '../support/wait.js';

const enabled = requireRedis();
let redis: TestRedis;
const stops: Array<() => Promise<void>> = [];
beforeAll(async () => {
  if (enabled) redis = await startRedis();
});
afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop();
  if (enabled) await redis.flush();
});
afterAll(async () => redis?.close());

/** One "process": its own bus connections and membership state, folding events like the core does. */
async function node(options: { deadAfterMs?: number; typingExpireMs?: number; offlineGraceMs?: number } = {}) {
  const bus = new RedisBus({ url: redis.url, prefix: 'm', onError: () => {} });
  await bus.start();
  const events: RealtimeEvent[] = [];
  const state = new RedisMembership({
    bus,
    idleAfterMs: 60_000,
    typingExpireMs: options.typingExpireMs ?? 5_000,
    maxRooms: 100,
    maxRoomsPerUser: 3,
    maxMembersPerRoom: 100,
    ...(options.deadAfterMs !== undefined && { deadAfterMs: options.deadAfterMs }),
    ...(options.offlineGraceMs !== undefined && { offlineGraceMs: options.offlineGraceMs }),
    onError: () => {},
  });
  bus.subscribe((published) => {
    state.apply(published);
    events.push(published.event);
  });
  await state.start();
  const stop = async () => {
    await state.stop();
    await bus.close();
  };
  stops.push(stop);
  return { bus, state, events, stop };
}

describe.runIf(enabled)('RedisMembership', () => {
  it('gives every process the same view of rooms and presence, with one event per change', async () => {
    const [a, b] = [await node(), await node()];
    await a.state.connect('c1', 'alice');
    await b.state.connect('c2', 'alice'); // a second device, on another process
    await b.state.connect('c3', 'bob');
    await a.state.hold('lobby', 'alice', 'subscription');
    await b.state.hold('lobby', 'alice', 'explicit');
    await b.state.hold('lobby', 'bob', 'explicit');
    await waitFor(() => a.state.details('lobby')?.memberCount === 2, 'a sees two members');
    await waitFor(() => b.state.details('lobby')?.memberCount === 2, 'b sees two members');
    expect(b.state.details('lobby')?.members.sort()).toEqual(['alice', 'bob']);
    expect(a.state.presenceOf('alice')).toMatchObject({ status: 'online', connections: 2 });
    expect(a.events.filter((event) => event.type === 'room.joined')).toHaveLength(2);
    expect(a.events.filter((event) => event.type === 'user.presence')).toHaveLength(2);

    await a.state.updatePresence('bob', 'busy', { device: 'phone' });
    await waitFor(() => b.state.presenceOf('bob')?.status === 'busy', 'busy everywhere');
    expect(b.state.presenceOf('bob')?.metadata).toEqual({ device: 'phone' });

    await a.state.release('lobby', 'alice', 'subscription', 'unsubscribed');
    expect(a.state.isMember('lobby', 'alice')).toBe(true); // still held by the explicit join
    await a.state.disconnect('c1', 'alice', 'closed');
    await b.state.disconnect('c2', 'alice', 'closed');
    await waitFor(() => a.state.presenceOf('alice')?.status === 'offline', 'alice offline');
    await waitFor(() => !a.state.isMember('lobby', 'alice'), 'alice out of the room');
    await waitFor(() => !b.state.isMember('lobby', 'alice'), 'alice out of the room, seen by b');
    expect(b.state.details('lobby')?.members).toEqual(['bob']);
    expect(b.events.filter((event) => event.type === 'room.left')).toHaveLength(1);
  });

  it('enforces limits and membership rules atomically', async () => {
    const a = await node();
    await a.state.connect('c', 'carol');
    for (const room of ['r1', 'r2', 'r3']) await a.state.hold(room, 'carol', 'explicit');
    await expect(a.state.hold('r4', 'carol', 'explicit')).rejects.toMatchObject({ code: 'TOO_MANY_REQUESTS' });
    await expect(a.state.setTyping('not-mine', 'carol', true)).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(a.state.updatePresence('nobody', 'away')).rejects.toMatchObject({ code: 'PRECONDITION_FAILED' });
  });

  it('expires typing exactly once across processes', async () => {
    const [a, b] = [await node({ typingExpireMs: 200 }), await node({ typingExpireMs: 200 })];
    await a.state.connect('c', 'dan');
    await a.state.hold('chat', 'dan', 'explicit');
    await a.state.setTyping('chat', 'dan', true);
    await waitFor(() => b.state.typingIn('chat').length === 1, 'typing seen');
    await waitFor(() => b.state.typingIn('chat').length === 0, 'typing expired', 3_000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const stops = b.events.filter((event) => event.type === 'user.typing' && !(event.data as { isTyping: boolean }).isTyping);
    expect(stops).toHaveLength(1);
  });

  it('reaps a process that stopped heartbeating: its users go offline and leave their rooms', async () => {
    const survivor = await node({ deadAfterMs: 600 });
    const doomed = await node({ deadAfterMs: 600 });
    await doomed.state.connect('c', 'erin');
    await doomed.state.hold('ops', 'erin', 'subscription');
    await survivor.state.connect('s', 'frank');
    await survivor.state.hold('ops', 'frank', 'subscription');
    await waitFor(() => survivor.state.details('ops')?.memberCount === 2, 'both in ops');
    await doomed.state.stop(); // no more heartbeats, no goodbye
    const started = Date.now();
    await waitFor(() => survivor.state.presenceOf('erin')?.status === 'offline', 'erin reaped', 5_000);
    const detectedMs = Date.now() - started;
    expect(survivor.state.details('ops')?.members).toEqual(['frank']);
    expect(survivor.events.filter((event) => event.type === 'room.left' && event.data.userId === 'erin')).toHaveLength(1);
    expect(detectedMs).toBeLessThan(5_000);
  });

  it('starts a new process from a snapshot of the cluster', async () => {
    const a = await node();
    await a.state.connect('c', 'gina');
    await a.state.hold('late', 'gina', 'explicit');
    await a.state.updatePresence('gina', 'away');
    const late = await node();
    expect(late.state.details('late')?.members).toEqual(['gina']);
    expect(late.state.presenceOf('gina')).toMatchObject({ status: 'away', connections: 1 });
  });

  it('sweeps out a member left behind by a join that raced going offline, and keeps an offline user joined for their next session', async () => {
    const a = await node({ offlineGraceMs: 200 });
    await a.state.connect('c', 'hana');
    const [, session] = (await runScript(a.bus, 'clusterSession', 'hana')) as number[];
    await a.state.disconnect('c', 'hana', 'closed');
    // A join made for the session that just ended, landing after its cleanup (as from a slow process).
    await runScript(a.bus, 'clusterHold', 'slow-process', 'leaky', 'hana', 'subscription', session!, 100);
    await waitFor(() => a.state.isMember('leaky', 'hana'), 'the raced join seen');
    // An explicit join of a user who is offline now: for their next session, as in one process.
    await a.state.hold('kept', 'hana', 'explicit');
    await waitFor(() => !a.state.isMember('leaky', 'hana'), 'swept out', 3_000);
    expect(a.events.filter((event) => event.type === 'room.left' && event.data.roomId === 'leaky')).toMatchObject([{ data: { reason: 'disconnected' } }]);
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(a.state.isMember('kept', 'hana')).toBe(true);
  });
});
