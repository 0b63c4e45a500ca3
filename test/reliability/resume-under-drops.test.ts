/**
 * Issue 6, item 4: 50 subscribers (the official client's wsLink) lose their connections 20 times
 * while a publisher keeps publishing; each ends with every event exactly once, in order. Half
 * follow a room (onRoom holds their membership, so each resume re-joins it), half follow
 * broadcasts to everyone (onNotification). When a gap is older than history the client is told.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RealtimeEvent } from '../../shared/events.js';
import { startServer, type TestServer } from '../support/server.js';
import { sleep, waitFor } from '../support/wait.js';
import { officialClient, type OfficialClient } from './support/clients.js';

const subscriberCount = 50;
const dropCycles = 20;
const roomId = 'resume-room';

let t: TestServer;
beforeAll(async () => (t = await startServer()));
afterAll(async () => t.stop());

interface Follower {
  client: OfficialClient;
  kind: 'room' | 'everyone';
  started: boolean;
  /** The publisher's index of each event received, in arrival order. */
  indexes: number[];
  gaps: number;
}

function follow(client: OfficialClient, kind: Follower['kind']): Follower {
  const follower: Follower = { client, kind, started: false, indexes: [], gaps: 0 };
  const onData = ({ data: event }: { data: RealtimeEvent }) => {
    if (event.type === 'stream.gap') follower.gaps++;
    if (event.type === 'system.maintenance') follower.indexes.push(Number(event.data.message));
  };
  const onStarted = () => (follower.started = true);
  if (kind === 'room') client.api.onRoom.subscribe({ roomId }, { onData, onStarted });
  else client.api.onNotification.subscribe(undefined, { onData, onStarted });
  return follower;
}

describe('resume under repeated connection drops', () => {
  it(`${subscriberCount} subscribers, ${dropCycles} drops while events flow: none lost, none duplicated, all in order`, async () => {
    const followers = await Promise.all(
      Array.from({ length: subscriberCount }, async (_, index) =>
        follow(officialClient(t.wsUrl, await t.token(`follower${index}`), { retryDelayMs: 20 }), index % 2 === 0 ? 'room' : 'everyone'),
      ),
    );
    await waitFor(() => followers.every((follower) => follower.started), 'every subscription started');
    const { core } = t.server.services;

    // The publisher: one event to the room and one to everyone every ~5 ms, all along, until told to stop.
    let published = 0;
    let publishing = true;
    const publisher = (async () => {
      for (let step = 0; publishing && step < 100_000; step++) {
        await core.broadcastToRoom(roomId, 'system.maintenance', { message: String(step) });
        await core.broadcastToAll('system.maintenance', { message: String(step) });
        published = step + 1;
        await sleep(5);
      }
    })();

    let reconnectsSeen = 0;
    for (let cycle = 0; cycle < dropCycles; cycle++) {
      await sleep(60);
      t.server.transport.dropAll();
      // Every subscriber back (and re-subscribed) before the next drop, so each cycle drops them all.
      await waitFor(() => core.stats().subscriptions === subscriberCount, `all ${subscriberCount} resubscribed after drop ${cycle + 1}`, 10_000);
      reconnectsSeen += subscriberCount;
    }
    await sleep(60);
    publishing = false;
    await publisher;
    const expectedCount = published;
    await waitFor(() => followers.every((follower) => follower.indexes.at(-1) === expectedCount - 1), 'every subscriber caught up', 10_000);
    await sleep(50);

    let lost = 0;
    let duplicated = 0;
    let outOfOrder = 0;
    let gaps = 0;
    for (const follower of followers) {
      const unique = new Set(follower.indexes);
      duplicated += follower.indexes.length - unique.size;
      lost += expectedCount - unique.size;
      outOfOrder += follower.indexes.filter((index, position) => position > 0 && index <= follower.indexes[position - 1]!).length;
      gaps += follower.gaps;
    }
    console.log(
      `[reliability] resume: ${subscriberCount} subscribers x ${dropCycles} drops (${reconnectsSeen} reconnects), ${expectedCount} events per stream: ` +
        `lost ${lost}, duplicated ${duplicated}, out of order ${outOfOrder}, gap notices ${gaps}`,
    );
    expect({ lost, duplicated, outOfOrder, gaps }).toEqual({ lost: 0, duplicated: 0, outOfOrder: 0, gaps: 0 });
    await Promise.all(followers.map((follower) => follower.client.close()));
  }, 60_000);

  it('tells a room subscriber whose gap is older than history, then delivers what history has', async () => {
    const small = await startServer({ historyPerChannel: 5 });
    const follower = follow(officialClient(small.wsUrl, await small.token('late'), { retryDelayMs: 300 }), 'room');
    await waitFor(() => follower.started, 'subscribed');
    const { core } = small.server.services;
    await core.broadcastToRoom(roomId, 'system.maintenance', { message: '0' });
    await waitFor(() => follower.indexes.length === 1, 'first event');

    small.server.transport.dropAll();
    // All published while the client waits 300 ms to reconnect: more than the room's history keeps.
    for (let index = 1; index <= 20; index++) await core.broadcastToRoom(roomId, 'system.maintenance', { message: String(index) });
    await waitFor(() => follower.indexes.at(-1) === 20, 'the newest event after resuming');
    expect(follower.gaps).toBe(1);
    // History keeps 5 room events; the client's own leave and re-join are among the newest.
    expect(follower.indexes[0]).toBe(0);
    expect(follower.indexes.slice(1)).toEqual(follower.indexes.slice(1).map((_, offset) => 21 - follower.indexes.length + 1 + offset));
    await follower.client.close();
    await small.stop();
  });
});
