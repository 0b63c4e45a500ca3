/**
 * A room's membership changes keep a bounded history of their own (bus/channels): a wave of
 * joins larger than HISTORY_PER_CHANNEL, as after a restart under thousands of members, no longer
 * evicts the room's own events from what a resume replays (issue 17: 71,067 of 100,000 events lost
 * by 5,000 resuming clients). Before the split the resume below got `stream.gap` and lost `missed`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collect, ofType } from '../support/collect.js';
import { startServer, transports, type TestServer } from '../support/server.js';
import { waitFor } from '../support/wait.js';

const historyPerChannel = 20;
let t: TestServer;
// No batch window: a resume opened within one would also get the wave's live batch (every join
// in it, the first too), and this test is about what history alone replays.
beforeAll(async () => (t = await startServer({ historyPerChannel, membershipBatchMs: 0 })));
afterAll(async () => t.stop());

const changed = (events: ReturnType<typeof ofType>) => events.map((event) => (event.data as { changed: string[] }).changed[0]);

describe.each(transports)('a room resumed after a wave of joins, over %s', (transport) => {
  it('replays every room event published after the resume point, in order, however many joined meanwhile', async () => {
    const roomId = `wave-${transport}`;
    const { core } = t.server.services;
    const alice = t.connect(await t.token(`alice-${transport}`), { transport });
    const first = collect(alice.api.onRoom, { roomId });
    await waitFor(() => first.started, 'subscribed');
    const seen = await core.broadcastToRoom(roomId, 'sphere.updated', { changed: ['seen'] });
    await waitFor(() => ofType(first.events, 'sphere.updated').length === 1, 'the first event live');
    first.unsubscribe();

    await core.broadcastToRoom(roomId, 'sphere.updated', { changed: ['missed'] });
    const joiners = historyPerChannel * 2;
    for (let index = 0; index < joiners; index++) await core.joinRoom(`joiner-${transport}-${index}`, roomId);
    await core.broadcastToRoom(roomId, 'sphere.updated', { changed: ['after'] });

    const resumed = collect(alice.api.onRoom, { roomId, lastEventId: seen.id });
    await waitFor(() => ofType(resumed.events, 'sphere.updated').length >= 2, 'the missed room events', 5_000);
    expect(changed(ofType(resumed.events, 'sphere.updated'))).toEqual(['missed', 'after']);
    // The joins outran their own history: the stream says so, and still replays the newest of them.
    expect(ofType(resumed.events, 'stream.gap')).toMatchObject([{ data: { reason: 'history_evicted', lastEventId: seen.id } }]);
    const replayedJoins = ofType(resumed.events, 'room.joined').map((event) => (event.data as { userId: string }).userId);
    expect(replayedJoins).toContain(`joiner-${transport}-${joiners - 1}`);
    expect(replayedJoins).not.toContain(`joiner-${transport}-0`);
    alice.close();
  });
});
