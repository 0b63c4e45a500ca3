// @vitest-environment jsdom
/**
 * Issue 16 in the hooks: a room the user may not enter is an error state (FORBIDDEN, no
 * members), not a silently empty room, over the WebSocket and over SSE; an admitted room works;
 * access taken back while mounted turns into the same error, with the stale members gone.
 */
import './node-realm.js';
import { waitFor } from '@testing-library/react';
import { TRPCClientError } from '@trpc/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useRoomPresence } from '../../client/react/index.js';
import { startServer, type TestServer } from '../support/server.js';
import { hookTransports, renderWithProvider } from './render-with-provider.js';

let t: TestServer;
const granted = new Set<string>();
beforeAll(async () => {
  t = await startServer({}, { authorizeRoom: ({ user, roomId }) => granted.has(`${user.userId}|${roomId}`), roomAuthorizerCacheMs: 200 });
});
afterAll(async () => t.stop());

const codeOf = (error: Error | null | undefined) => (error instanceof TRPCClientError ? (error.data as { code?: string } | undefined)?.code : undefined);

describe.each(hookTransports)('useRoomPresence and room access over %s', (transport) => {
  it('shows a refused room as FORBIDDEN, and an admitted one with its members', async () => {
    const refused = renderWithProvider(() => useRoomPresence('private:1'), {
      url: t.url,
      token: await t.token(`outsider-${transport}`, 'user', '1h', { rooms: ['public:*'] }),
      transport,
    });
    await waitFor(() => expect(codeOf(refused.result.current?.error)).toBe('FORBIDDEN'));
    expect(refused.result.current?.error?.message).toContain('room private:1');
    expect(refused.result.current?.members.size).toBe(0);
    refused.unmount();

    const admitted = renderWithProvider(() => useRoomPresence('public:1'), {
      url: t.url,
      token: await t.token(`insider-${transport}`, 'user', '1h', { rooms: ['public:*'] }),
      transport,
    });
    await waitFor(() => expect([...(admitted.result.current?.members.keys() ?? [])]).toEqual([`insider-${transport}`]));
    expect(admitted.result.current?.error).toBeNull();
    admitted.unmount();
  });

  it('turns access taken back into the error state', async () => {
    const userId = `revoked-${transport}`;
    const roomId = `granted-${transport}`;
    granted.add(`${userId}|${roomId}`);
    const view = renderWithProvider(() => useRoomPresence(roomId), { url: t.url, token: await t.token(userId, 'user', '1h', { rooms: [] }), transport });
    await waitFor(() => expect(view.result.current?.members.has(userId)).toBe(true));
    granted.delete(`${userId}|${roomId}`);
    await waitFor(() => expect(codeOf(view.result.current?.error)).toBe('FORBIDDEN'));
    expect(view.result.current?.members.size).toBe(0);
    view.unmount();
  });
});
