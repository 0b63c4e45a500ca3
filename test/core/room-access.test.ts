/**
 * Issue 16, with plain objects: what room patterns match, the order of the decision (role,
 * claim, OPEN_ROOMS, authorizer), the bounded cache and one question at a time, and the core's
 * room filter for a subscription that follows its user's rooms.
 */
import { describe, expect, it } from 'vitest';
import { RoomAccess, type RoomAuthorizationRequest } from '../../server/api/room-access.js';
import type { AuthUser } from '../../server/api/auth.js';
import { anyRoomMatches, parseRoomPatterns, roomMatches } from '../../server/core/room-patterns.js';
import { recorder, startServices, testConnection } from './support.js';

const user = (userId: string, rooms?: string[]): AuthUser => ({ userId, role: 'user', ...(rooms && { rooms }) });

describe('room patterns', () => {
  it('match an id exactly, a prefix before *, and * everything', () => {
    expect(roomMatches('team:7', 'team:7')).toBe(true);
    expect(roomMatches('team:7', 'team:70')).toBe(false);
    expect(roomMatches('project:*', 'project:1')).toBe(true);
    expect(roomMatches('project:*', 'project')).toBe(false);
    expect(roomMatches('*', 'anything')).toBe(true);
    expect(anyRoomMatches(undefined, 'x')).toBe(false);
    expect(parseRoomPatterns(' project:* , team:7,, ')).toEqual(['project:*', 'team:7']);
    expect(parseRoomPatterns(undefined)).toEqual([]);
  });
});

describe('RoomAccess', () => {
  it('admits by role, claim and OPEN_ROOMS without asking the authorizer', async () => {
    const asked: RoomAuthorizationRequest[] = [];
    const access = new RoomAccess({ openRooms: ['lobby:*'], authorize: (request) => (asked.push(request), false) });
    await expect(access.admits({ userId: 'root', role: 'admin' }, 'x', 'join')).resolves.toBe(true);
    await expect(access.admits({ userId: 'bot', role: 'service' }, 'x', 'join')).resolves.toBe(true);
    await expect(access.admits(user('a', ['x']), 'x', 'join')).resolves.toBe(true);
    await expect(access.admits(user('a'), 'lobby:1', 'join')).resolves.toBe(true);
    expect(asked).toEqual([]);
    await expect(access.check(user('a'), 'y', 'type')).rejects.toMatchObject({ code: 'FORBIDDEN', message: expect.stringContaining('may not type in room y') });
    expect(asked).toEqual([{ user: user('a'), roomId: 'y', action: 'type' }]);
  });

  it('answers SERVICE_UNAVAILABLE for an authorizer that throws, even synchronously, and asks again next time', async () => {
    let fail = true;
    const access = new RoomAccess({
      authorize: () => {
        if (fail) throw new Error('directory down');
        return true;
      },
    });
    await expect(access.check(user('a'), 'r', 'join')).rejects.toMatchObject({ code: 'SERVICE_UNAVAILABLE' });
    fail = false;
    await expect(access.admits(user('a'), 'r', 'join')).resolves.toBe(true);
  });

  it('refuses everything else when there is no authorizer', async () => {
    const access = new RoomAccess();
    expect(access.knownDecision(user('a', ['p:*']), 'q:1', 'read')).toBe(false);
    await expect(access.check(user('a'), 'q:1', 'read')).rejects.toMatchObject({ code: 'FORBIDDEN' });
  });

  it('asks once for concurrent questions, caches within a bound, and asks again when told to', async () => {
    let calls = 0;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const access = new RoomAccess({
      authorize: async () => {
        calls++;
        await gate;
        return true;
      },
      maxCachedAnswers: 2,
    });
    const answers = Promise.all([1, 2, 3].map(() => access.admits(user('a'), 'r', 'read')));
    release();
    expect(await answers).toEqual([true, true, true]);
    expect(calls).toBe(1);
    expect(access.knownDecision(user('a'), 'r', 'read')).toBe(true);
    await access.admits(user('a'), 'r', 'read', { fresh: true });
    expect(calls).toBe(2);
    // Bounded: a third answer pushes out the oldest.
    await access.admits(user('b'), 'r', 'read');
    await access.admits(user('c'), 'r', 'read');
    expect(access.knownDecision(user('a'), 'r', 'read')).toBeUndefined();
    access.forget('c', 'r');
    expect(access.knownDecision(user('c'), 'r', 'read')).toBeUndefined();
  });
});

describe('the core and a subscription that follows its rooms', () => {
  it('delivers only the followed rooms the filter admits, live and on replay', async () => {
    const services = await startServices();
    const { core } = services;
    await core.connect(testConnection('c1', 'alice'));
    await core.joinRoom('alice', 'open');
    await core.joinRoom('alice', 'closed');
    const before = await core.broadcastToRoom('open', 'system.maintenance', { message: 'start' });
    await core.broadcastToRoom('closed', 'system.maintenance', { message: 'replayed secret' });
    await core.broadcastToRoom('open', 'system.maintenance', { message: 'replayed' });

    const live = recorder();
    const subscription = await core.subscribe({
      connection: { id: 'c1', userId: 'alice' },
      channels: [],
      followRoomsOfUser: true,
      followsRoom: (roomId) => roomId !== 'closed',
      lastEventId: before.id,
      sink: live.sink,
    });
    await core.broadcastToRoom('closed', 'system.maintenance', { message: 'live secret' });
    await core.broadcastToRoom('open', 'system.maintenance', { message: 'live' });
    const messages = live.events.filter((event) => event.type === 'system.maintenance').map((event) => (event.data as { message: string }).message);
    expect(messages).toEqual(['replayed', 'live']);
    subscription.close();
    await services.stop();
  });
});
