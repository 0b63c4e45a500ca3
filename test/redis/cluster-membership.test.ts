/**
 * Membership state sharded over a real 3-master Redis Cluster (the test's own), two servers in
 * this process with the official client: a join storm of many users into many rooms spreads its
 * script calls and its keys over every master (no shard takes every membership write, issue 20),
 * and a user who goes offline on one server and is back on the other within milliseconds keeps
 * the membership the second server's subscription made (the session guard of leaveOffline).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { ClusterBus } from '../../server/bus/cluster-bus.js';
import { clusterBuses, runScript } from '../../server/cluster/membership-buses.js';
import { collect, ofType } from '../support/collect.js';
import { useClusterServers } from '../support/cluster-servers.js';
import { redisClusterAvailable } from '../support/redis-cluster.js';
import { sleep, waitFor } from '../support/wait.js';

const enabled = redisClusterAvailable();
if (!enabled && process.env.CI === 'true') throw new Error('redis-server and redis-cli are needed for the Redis Cluster tests');

const prefix = 'shard';
const userCount = 60;
const roomCount = 30;
const roomsPerUser = 5;

/** Calls of each command on a node since it started (INFO commandstats). */
async function commandCalls(observer: Redis): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const line of String(await observer.call('INFO', 'commandstats')).split('\r\n')) {
    const match = /^cmdstat_([^:]+):calls=(\d+)/.exec(line);
    if (match) counts.set(match[1]!, Number(match[2]));
  }
  return counts;
}

/** The node's keys of the membership state (members, holds, connections, presence). */
async function membershipKeys(observer: Redis): Promise<number> {
  let count = 0;
  for (const kind of ['members', 'hold', 'conn', 'presence']) {
    let cursor = '0';
    do {
      const [next, keys] = await observer.scan(cursor, 'MATCH', `${prefix}:*:${kind}:*`, 'COUNT', 1000);
      cursor = next;
      count += keys.length;
    } while (cursor !== '0');
  }
  return count;
}

const shares = (counts: number[]) => counts.map((count) => count / counts.reduce((sum, each) => sum + each, 0));

describe.runIf(enabled)('membership state sharded over a Redis Cluster', () => {
  const deployment = useClusterServers(prefix);
  const { servers, connect } = deployment;
  let observers: Redis[] = [];
  beforeAll(() => {
    observers = deployment.cluster.nodes.map((node) => new Redis({ host: node.split(':')[0], port: Number(node.split(':')[1]) }));
  });
  afterAll(() => {
    for (const observer of observers) observer.disconnect();
  });

  it('spreads a join storm’s script calls and keys over every master, none holding most of them', async () => {
    const before = await Promise.all(observers.map(commandCalls));
    const users = await Promise.all(Array.from({ length: userCount }, (_, index) => connect(servers[index % 2]!, `storm-user${index}`)));
    const started = Date.now();
    await Promise.all(
      users.map(async (user, index) => {
        for (let room = 0; room < roomsPerUser; room++) await user.api.rooms.join.mutate({ roomId: `storm-room${(index + room * 7) % roomCount}` });
      }),
    );
    const joinMs = Date.now() - started;
    const after = await Promise.all(observers.map(commandCalls));
    const scriptCalls = after.map((counts, node) => (counts.get('evalsha') ?? 0) + (counts.get('eval') ?? 0) - (before[node]!.get('evalsha') ?? 0) - (before[node]!.get('eval') ?? 0));
    const keys = await Promise.all(observers.map(membershipKeys));
    const view = await connect(servers[1]!, 'storm-admin', 'admin');
    const rooms = await view.api.admin.rooms.query();
    console.log(
      `join storm (${userCount} users, ${userCount * roomsPerUser} joins into ${roomCount} rooms, ${joinMs} ms): script calls per master ${scriptCalls.join(' / ')}, membership keys per master ${keys.join(' / ')}`,
    );
    expect(rooms.filter((room) => room.roomId.startsWith('storm-room')).map((room) => room.memberCount)).toEqual(Array.from({ length: roomCount }, () => userCount / (roomCount / roomsPerUser)));
    for (const share of shares(scriptCalls)) {
      expect(share).toBeGreaterThan(0.1);
      expect(share).toBeLessThan(0.7);
    }
    for (const share of shares(keys)) {
      expect(share).toBeGreaterThan(0.1);
      expect(share).toBeLessThan(0.7);
    }
  }, 60_000);

  it('keeps the membership a user’s new subscription made when they went offline on one server and came back on the other within milliseconds', async () => {
    const view = await connect(servers[0]!, 'race-admin', 'admin');
    const isMember = async (roomId: string, userId: string) => (await view.api.rooms.members.query({ roomId })).some((member) => member.userId === userId);
    for (let round = 0; round < 5; round++) {
      const userId = `race-user${round}`;
      const roomId = `race-room${round}`;
      const onA = await connect(servers[0]!, userId);
      collect(onA.api.onRoom, { roomId });
      await waitFor(() => isMember(roomId, userId), 'a member through the first server');
      // Offline on A and back on B at once: A's offline cleanup races B's connect and join.
      onA.close();
      const onB = await connect(servers[1]!, userId);
      const stream = collect(onB.api.onRoom, { roomId });
      await waitFor(() => stream.started, 'subscribed on the second server');
      await sleep(300);
      expect(await isMember(roomId, userId)).toBe(true);
      await view.api.admin.broadcast.mutate({ roomId, type: 'sphere.updated', data: { changed: [`round ${round}`] } });
      await waitFor(() => ofType(stream.events, 'sphere.updated').length === 1, 'the room’s event through the second server');
    }
  }, 60_000);

  it('takes a user out of a room only for the session that ended: a hold for a later session survives an earlier session’s cleanup', async () => {
    // The race above, with the late cleanup forced: the first session's leave runs after the
    // user came back and joined again.
    const bus = new ClusterBus({ nodes: deployment.cluster.nodes, prefix, partitions: 12, onError: () => {} });
    await bus.start();
    try {
      const buses = clusterBuses(bus);
      const session = async (userId: string) => ((await runScript(buses.forUser(userId), 'clusterSession', userId)) as number[])[1]!;
      const userId = 'late-cleanup-user';
      const roomId = 'late-cleanup-room';
      const first = await connect(servers[0]!, userId);
      collect(first.api.onRoom, { roomId });
      const view = await connect(servers[0]!, 'late-admin', 'admin');
      const isMember = async () => (await view.api.rooms.members.query({ roomId })).some((member) => member.userId === userId);
      await waitFor(isMember, 'a member in the first session');
      const ended = await session(userId);
      first.close();
      await waitFor(async () => !(await isMember()), 'out when the first session ended');
      const second = await connect(servers[1]!, userId);
      const stream = collect(second.api.onRoom, { roomId });
      await waitFor(isMember, 'a member in the second session');
      expect(await session(userId)).toBeGreaterThan(ended);
      const lateCleanupAt = Date.now();
      await runScript(buses.forRoom(roomId), 'clusterLeaveOffline', userId, ended, roomId);
      await sleep(300);
      expect(await isMember()).toBe(true);
      // (The first session's own leave may still reach the new subscription, which was indexed before its join: none after the late cleanup.)
      expect(ofType(stream.events, 'room.left').filter((event) => event.timestamp.getTime() >= lateCleanupAt)).toEqual([]);
      // The same leave for the session that holds the room does take the user out.
      await runScript(buses.forRoom(roomId), 'clusterLeaveOffline', userId, await session(userId), roomId);
      await waitFor(async () => !(await isMember()), 'out for the current session');
    } finally {
      await bus.close();
    }
  }, 60_000);
});
