import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { channels } from '../../server/core/channels.js';
import type { RealtimeServices } from '../../server/core/service.js';
import { recorder, startServices, testConnection } from './support.js';

let services: RealtimeServices;
beforeEach(() => vi.useFakeTimers());
afterEach(async () => {
  await services?.stop();
  vi.useRealTimers();
});

describe('presence', () => {
  it('is online while connected, carries chosen status and metadata, offline with last-seen after', async () => {
    services = await startServices();
    const { core } = services;
    const connection = testConnection('c', 'alice');
    core.connect(connection);
    expect(core.presenceOf('alice')).toMatchObject({ status: 'online', connections: 1 });
    core.updatePresence('alice', 'busy', { device: 'mobile' });
    expect(core.presenceOf('alice')).toMatchObject({ status: 'busy', metadata: { device: 'mobile' } });
    expect(core.onlineUsers().map((presence) => presence.userId)).toEqual(['alice']);
    vi.advanceTimersByTime(1_000);
    core.disconnect(connection);
    const offline = core.presenceOf('alice');
    expect(offline.status).toBe('offline');
    expect(offline.metadata).toBeUndefined(); // metadata goes with the session (issue 13)
    expect(offline.lastSeen.getTime()).toBe(Date.now());
    expect(core.onlineUsers()).toEqual([]);
    await expect(core.updatePresence('alice', 'online')).rejects.toThrow(/while connected/);
  });

  it('goes idle after the configured quiet time and back on activity', async () => {
    services = await startServices({ idleAfterMs: 10_000 });
    const { core } = services;
    const alice = testConnection('a', 'alice');
    const bob = testConnection('b', 'bob');
    core.connect(alice);
    core.connect(bob);
    core.joinRoom('alice', 'r');
    const room = recorder();
    await core.subscribe({ connection: bob, channels: [channels.room('r')], holdRoom: 'r', sink: room.sink });
    vi.advanceTimersByTime(6_000);
    core.touch('bob');
    vi.advanceTimersByTime(6_000);
    expect(core.presenceOf('alice')).toMatchObject({ status: 'away', idle: true });
    expect(core.presenceOf('bob')).toMatchObject({ status: 'online', idle: false });
    expect(room.types()).toContain('user.idle');
    core.touch('alice');
    expect(core.presenceOf('alice')).toMatchObject({ status: 'online', idle: false });
    expect(room.events.at(-1)).toMatchObject({ type: 'user.presence', data: { userId: 'alice', status: 'online' } });
  });
});

describe('typing', () => {
  it('expires by itself and tells the room', async () => {
    services = await startServices({ typingExpireMs: 3_000 });
    const { core } = services;
    const alice = testConnection('a', 'alice');
    core.connect(alice);
    const room = recorder();
    await core.subscribe({ connection: alice, channels: [channels.room('r')], holdRoom: 'r', sink: room.sink });
    core.setTyping('alice', 'r', true);
    vi.advanceTimersByTime(2_000);
    core.setTyping('alice', 'r', true); // a refresh extends, it is not news
    expect(core.typingIn('r')).toEqual(['alice']);
    vi.advanceTimersByTime(2_500);
    expect(core.typingIn('r')).toEqual(['alice']);
    vi.advanceTimersByTime(1_000);
    expect(core.typingIn('r')).toEqual([]);
    const typing = room.events.filter((event) => event.type === 'user.typing').map((event) => (event.data as { isTyping: boolean }).isTyping);
    expect(typing).toEqual([true, false]);
  });

  it('is for members only', async () => {
    services = await startServices();
    services.core.connect(testConnection('a', 'alice'));
    await expect(services.core.setTyping('alice', 'not-joined', true)).rejects.toThrow(/Not a member/);
  });
});
