/**
 * Issue 16 in cluster mode: the room decision holds on every process. The `rooms` claim and
 * OPEN_ROOMS are stateless, so two real processes over one Redis answer alike whichever gets
 * the call; presence visibility follows cluster-wide membership.
 */
import { describe, expect, it } from 'vitest';
import { collect } from '../support/collect.js';
import { requireRedis } from '../support/redis.js';
import { useRedisProcesses } from '../support/redis-processes.js';
import { testTokens, wsClient } from '../support/server.js';
import { waitFor } from '../support/wait.js';

const enabled = requireRedis();
const tokens = testTokens();
const cluster = useRedisProcesses(enabled, 2, (url) => ({ REDIS_URL: url, REDIS_PREFIX: 'room-access', OPEN_ROOMS: 'lobby:*' }));
const { processes, clients } = cluster;

const connect = async (index: number, userId: string, rooms: string[]) => {
  const client = wsClient(processes[index]!.wsUrl, await tokens.sign(userId, 'user', '1h', { rooms }));
  clients.push(client);
  return client;
};

describe.runIf(enabled)('room access on two processes', () => {
  it('admits and refuses alike on every process, by claim and by OPEN_ROOMS', async () => {
    for (const index of [0, 1]) {
      const user = await connect(index, `claimant-${index}`, ['team:7']);
      await expect(user.api.rooms.join.mutate({ roomId: 'team:7' })).resolves.toMatchObject({ roomId: 'team:7' });
      await expect(user.api.rooms.join.mutate({ roomId: 'lobby:main' })).resolves.toMatchObject({ roomId: 'lobby:main' });
      await expect(user.api.rooms.join.mutate({ roomId: 'team:8' })).rejects.toMatchObject({ data: { code: 'FORBIDDEN' } });
      await expect(user.api.rooms.members.query({ roomId: 'team:8' })).rejects.toMatchObject({ data: { code: 'FORBIDDEN' } });
      const refused = collect(user.api.onRoom, { roomId: 'team:8' });
      await waitFor(() => refused.errors.length > 0, 'onRoom refused');
      expect(refused.errors[0]).toMatchObject({ data: { code: 'FORBIDDEN' } });
    }
    // Both processes see both members of the room each admitted.
    const reader = await connect(1, 'reader', ['team:7']);
    await waitFor(async () => (await reader.api.rooms.members.query({ roomId: 'team:7' })).length === 2, 'two members in team:7');
  });

  it('shows presence across processes only to users who share a room', async () => {
    const alice = await connect(0, 'alice', ['project:1']);
    await alice.api.rooms.join.mutate({ roomId: 'project:1' });
    await alice.api.presence.update.mutate({ status: 'busy', metadata: { file: 'plan.md' } });
    const bob = await connect(1, 'bob', ['project:*']);
    await bob.api.rooms.join.mutate({ roomId: 'project:1' });
    await waitFor(async () => (await bob.api.presence.get.query({ userId: 'alice' })).status === 'busy', 'bob sees alice busy');
    expect(await bob.api.presence.get.query({ userId: 'alice' })).toMatchObject({ metadata: { file: 'plan.md' } });
    const carol = await connect(1, 'carol', ['other']);
    expect(await carol.api.presence.get.query({ userId: 'alice' })).toMatchObject({ status: 'offline', connections: 0 });
    expect((await carol.api.presence.get.query({ userId: 'alice' })).metadata).toBeUndefined();
    expect((await carol.api.presence.online.query()).map((presence) => presence.userId)).toEqual(['carol']);
  });
});
