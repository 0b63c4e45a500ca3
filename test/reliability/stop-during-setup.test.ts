/**
 * A subscription stopped while it is still being set up (its stop in the same frame as the call,
 * as a component that unmounts at once sends it) never starts: no `started`, nothing left in the
 * core, the user not held in the room. Since issue 17's memory work the set-up has no abort
 * signal of its own: the `stopped` checks after each of its steps are what guarantees this.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRawSocket } from '../support/raw-socket.js';
import { startServer, type TestServer } from '../support/server.js';
import { waitFor } from '../support/wait.js';

let t: TestServer;
beforeAll(async () => (t = await startServer()));
afterAll(() => t.stop());

type Response = { id?: unknown; result?: { type?: string } };
const responsesTo = (messages: unknown[], id: number) => (messages as Response[]).filter((message) => message.id === id).map((message) => message.result?.type);
const subscribe = (id: number, roomId: string) => ({ id, method: 'subscription', params: { path: 'onRoom', input: { json: { roomId } } } });

describe('a subscription stopped during its set-up', () => {
  it('never starts and leaves no subscription or membership, while one sent after it on the same socket starts', async () => {
    const { core } = t.server.services;
    const userId = 'early-stopper';
    const before = core.stats().subscriptions;
    const raw = await openRawSocket(t.wsUrl, await t.token(userId));

    raw.send([subscribe(1, 'stopped-early'), { id: 1, method: 'subscription.stop' }]);
    raw.send(subscribe(2, 'kept'));
    await waitFor(() => responsesTo(raw.messages, 2).includes('started'), 'the later subscription started');
    // The stopped set-up's own steps are a few turns of the event loop; give them time to have run.
    await new Promise((resolve) => setTimeout(resolve, 200));

    expect(responsesTo(raw.messages, 1)).toEqual(['stopped']);
    expect(core.isRoomMember('stopped-early', userId)).toBe(false);
    expect(core.isRoomMember('kept', userId)).toBe(true);
    expect(core.stats().subscriptions).toBe(before + 1);
    raw.close();
    await waitFor(() => core.stats().subscriptions === before, 'the kept subscription ended with its socket');
  });
});
