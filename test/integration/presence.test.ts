import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collect, ofType } from '../support/collect.js';
import { startServer, transports, type TestServer } from '../support/server.js';
import { waitFor } from '../support/wait.js';

let t: TestServer;
beforeAll(async () => (t = await startServer({ typingExpireMs: 300 })));
afterAll(async () => t.stop());

describe.each(transports)('presence and typing over %s', (transport) => {
  it('shows a user online while connected and offline (leaving their rooms) after they disconnect', async () => {
    const watcher = t.connect(await t.token('watcher'), { transport });
    const room = collect(watcher.api.onRoom, { roomId: `lobby-${transport}` });
    const alice = t.connect(await t.token(`alice-${transport}`), { transport });
    // Online means an open connection: a socket, or over SSE an open stream.
    const aliceStream = collect(alice.api.onNotification, undefined);
    await waitFor(() => aliceStream.started, 'alice connected');
    await alice.api.rooms.join.mutate({ roomId: `lobby-${transport}` });
    await alice.api.presence.update.mutate({ status: 'away', metadata: { device: 'mobile' } });
    expect(await watcher.api.presence.get.query({ userId: `alice-${transport}` })).toMatchObject({ status: 'away', metadata: { device: 'mobile' } });
    expect((await watcher.api.presence.online.query()).map((presence) => presence.userId)).toContain(`alice-${transport}`);
    expect((await watcher.api.rooms.members.query({ roomId: `lobby-${transport}` })).map((member) => member.userId).sort()).toEqual([`alice-${transport}`, 'watcher']);

    alice.close();
    await waitFor(async () => (await watcher.api.presence.get.query({ userId: `alice-${transport}` })).status === 'offline', 'alice offline');
    expect((await watcher.api.rooms.members.query({ roomId: `lobby-${transport}` })).map((member) => member.userId)).toEqual(['watcher']);
    await waitFor(() => ofType(room.events, 'room.left').length === 1, 'room.left');
    const presence = ofType(room.events, 'user.presence').map((event) => (event.data as { status: string }).status);
    expect(presence).toEqual(['away', 'offline']);
    expect(ofType(room.events, 'room.left')[0]).toMatchObject({ data: { userId: `alice-${transport}`, reason: 'disconnected' } });
    watcher.close();
  });

  it('expires a typing indicator by itself', async () => {
    const alice = t.connect(await t.token(`typist-${transport}`), { transport });
    const room = collect(alice.api.onRoom, { roomId: `typing-${transport}` });
    await waitFor(async () => (await alice.api.rooms.members.query({ roomId: `typing-${transport}` })).length === 1, 'member');
    await alice.api.typing.mutate({ roomId: `typing-${transport}`, isTyping: true });
    expect((await alice.api.rooms.get.query({ roomId: `typing-${transport}` })).typing).toEqual([`typist-${transport}`]);
    await waitFor(() => ofType(room.events, 'user.typing').length === 2, 'typing expired');
    expect(ofType(room.events, 'user.typing').map((event) => (event.data as { isTyping: boolean }).isTyping)).toEqual([true, false]);
    expect((await alice.api.rooms.get.query({ roomId: `typing-${transport}` })).typing).toEqual([]);
    await expect(alice.api.typing.mutate({ roomId: 'not-mine', isTyping: true })).rejects.toMatchObject({ data: { code: 'FORBIDDEN' } });
    alice.close();
  });

  it('holds room membership exactly while an onRoom subscription lives', async () => {
    const alice = t.connect(await t.token('holder'), { transport });
    const admin = t.http(await t.token('root', 'admin'));
    const stream = collect(alice.api.onRoom, { roomId: `held-${transport}` });
    await waitFor(async () => (await admin.rooms.get.query({ roomId: `held-${transport}` }).catch(() => null))?.memberCount === 1, 'joined');
    stream.unsubscribe();
    await waitFor(async () => (await admin.admin.rooms.query()).every((room) => room.roomId !== `held-${transport}`), 'room gone');
    await expect(admin.rooms.get.query({ roomId: `held-${transport}` })).rejects.toMatchObject({ data: { code: 'NOT_FOUND' } });
    alice.close();
  });
});
