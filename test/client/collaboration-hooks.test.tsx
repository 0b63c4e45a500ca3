// @vitest-environment jsdom
/**
 * The collaboration hooks with two real clients against a real server on port 0, under
 * StrictMode: one member publishes through usePublish, the other sees the room's events through
 * useRoomEvents and the first one's cursor and selection through useCursors, which drops the
 * member when they leave and when they fall silent.
 */
import './node-realm.js';
import { act, cleanup, render, waitFor } from '@testing-library/react';
import { EventSource } from 'eventsource';
import WebSocket from 'ws';
import { LiveCursors } from '../../client/dashboard/components/LiveCursors.js';
import { RealtimeProvider } from '../../client/react/index.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { useCursors, usePublish, useRoomEvents } from '../../client/react/index.js';
import { startServer, type TestServer } from '../support/server.js';
import { renderWithProvider } from './render-with-provider.js';

let t: TestServer;

beforeAll(async () => (t = await startServer()));
afterAll(async () => t.stop());
afterEach(async () => {
  cleanup();
  await waitFor(() => expect(t.server.transport.connectionCount).toBe(0));
  expect(t.server.transport.subscriptionCount).toBe(0);
});

/** A member's publisher, and what they see of the room. */
const useMember = (roomId: string, staleAfterMs?: number) => ({
  publish: usePublish(roomId),
  cursors: useCursors(roomId, staleAfterMs === undefined ? {} : { staleAfterMs }),
  selections: useRoomEvents(roomId, 'selection.changed'),
});

describe('usePublish, useRoomEvents and useCursors', () => {
  it("shows another member's latest cursor and selection, never the caller's own, and drops them when they leave", async () => {
    const alice = renderWithProvider(() => useMember('doc:hooks'), { url: t.url, token: await t.token('alice') });
    const bob = renderWithProvider(() => useMember('doc:hooks'), { url: t.url, token: await t.token('bob') });
    // Both hold the room through their onRoom subscription.
    await waitFor(async () => expect((await t.server.services.core.roomMembers('doc:hooks')).length).toBe(2));

    await act(async () => {
      await alice.result.current!.publish('cursor.moved', { x: 10, y: 20, target: 'cell-a1' });
      await alice.result.current!.publish('selection.changed', { target: 'cell-a1', start: 0, end: 3 });
    });
    await waitFor(() =>
      expect(bob.result.current?.cursors.get('alice')).toMatchObject({
        userId: 'alice',
        cursor: { x: 10, y: 20, target: 'cell-a1' },
        selection: { target: 'cell-a1', start: 0, end: 3 },
      }),
    );
    await waitFor(() => expect(bob.result.current?.selections.map((event) => event.data)).toEqual([{ target: 'cell-a1', start: 0, end: 3 }]));
    expect(bob.result.current?.selections[0]?.senderId).toBe('alice');
    // The caller's own cursor is not among the others'.
    await waitFor(() => expect(alice.result.current?.selections).toHaveLength(1));
    expect(alice.result.current?.cursors.has('alice')).toBe(false);

    await act(async () => {
      // 31 moves at once: usePublish sends the first and then the latest (the others resolve with it).
      const publish = alice.result.current!.publish;
      const sent = await Promise.all(Array.from({ length: 31 }, (_, x) => publish('cursor.moved', { x, y: 0 })));
      expect(sent.at(-1)?.data).toEqual({ x: 30, y: 0 });
      expect(new Set(sent.map((event) => event.id)).size).toBeLessThanOrEqual(2);
    });
    await waitFor(() => expect(bob.result.current?.cursors.get('alice')?.cursor).toEqual({ x: 30, y: 0 }));

    alice.unmount();
    await waitFor(() => expect(bob.result.current?.cursors.has('alice')).toBe(false));
  });

  it('drops a member who falls silent', async () => {
    const carol = renderWithProvider(() => useMember('doc:quiet'), { url: t.url, token: await t.token('carol') });
    const dan = renderWithProvider(() => useMember('doc:quiet', 300), { url: t.url, token: await t.token('dan') });
    await waitFor(async () => expect((await t.server.services.core.roomMembers('doc:quiet')).length).toBe(2));
    await act(async () => {
      await carol.result.current!.publish('cursor.moved', { x: 1, y: 1 });
    });
    await waitFor(() => expect(dan.result.current?.cursors.has('carol')).toBe(true));
    await waitFor(() => expect(dan.result.current?.cursors.has('carol')).toBe(false), { timeout: 3_000 });
  });

  it("shows a room's cursors in the dashboard's canvas without making the operator a member", async () => {
    const view = render(
      <RealtimeProvider
        url={t.url}
        token={await t.token('root', 'admin')}
        WebSocket={WebSocket as unknown as typeof globalThis.WebSocket}
        EventSource={EventSource}
        retryDelayMs={() => 50}
      >
        <LiveCursors roomId="doc:watched" />
      </RealtimeProvider>,
    );
    await waitFor(() => expect(t.server.services.core.stats().subscriptions).toBe(1));
    const erin = renderWithProvider(() => useMember('doc:watched'), { url: t.url, token: await t.token('erin') });
    await waitFor(() => expect(t.server.services.core.roomMembers('doc:watched')).toHaveLength(1));
    await act(async () => {
      await erin.result.current!.publish('selection.changed', { target: 'para-2', start: 4, end: 9 });
    });
    await waitFor(() => expect(view.getByTestId('live-cursors-doc:watched').textContent).toContain('erin: para-2 4–9'));
    expect(t.server.services.core.roomMembers('doc:watched').map((member) => member.userId)).toEqual(['erin']);
  });
});
