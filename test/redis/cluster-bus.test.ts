/**
 * The partitioned bus on a real 3-master Redis Cluster (the test's own), two servers in this
 * process with the official client: partitions spread evenly over the masters, room events on
 * every shard delivered once and in order, an event of several partitions delivered once to a
 * subscriber that hears two of its parts, resuming with the tracked cursor on the other server,
 * and what one event costs the cluster in commands.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import WebSocket from 'ws';
import { createProducerClient } from '../../client/producer.js';
import { foldOutput } from '../../shared/folds/agent-output.js';
import type { RealtimeEvent } from '../../shared/events.js';
import { ClusterPartitions, partitionKey } from '../../server/bus/cluster-partitions.js';
import { collect, ofType } from '../support/collect.js';
import { useClusterServers } from '../support/cluster-servers.js';
import type { TestClient } from '../support/server.js';
import { redisClusterAvailable } from '../support/redis-cluster.js';
import { sleep, waitFor } from '../support/wait.js';

const enabled = redisClusterAvailable();
if (!enabled && process.env.CI === 'true') throw new Error('redis-server and redis-cli are needed for the Redis Cluster tests');

const prefix = 'pbus';
const partitions = new ClusterPartitions(12);

/** A subscription that keeps the tracked id of every event, as tRPC's links would send it back. */
function collectTracked<I>(procedure: { subscribe: (input: I, options: never) => { unsubscribe(): void } }, input: I) {
  const seen: Array<{ trackedId: string; event: RealtimeEvent }> = [];
  const subscription = (procedure as unknown as { subscribe: (input: I, options: object) => { unsubscribe(): void } }).subscribe(input, {
    onData: (value: { id: string; data: RealtimeEvent }) => seen.push({ trackedId: value.id, event: value.data }),
    onError: () => {},
  });
  return { seen, unsubscribe: () => subscription.unsubscribe() };
}

/**
 * Subscribes `client` to its notifications, has `admin` send it one, and returns the cursor that
 * event carried (a position per partition); the client is then closed, to resume elsewhere.
 */
async function cursorOfFirstNotification(client: TestClient, admin: TestClient, userId: string, settleMs: number): Promise<string> {
  const before = collectTracked(client.api.onNotification, undefined);
  await sleep(settleMs);
  await admin.api.admin.send.mutate({ userId, type: 'notification.new', data: { title: 'seen', message: '' } });
  await waitFor(() => before.seen.length === 1, 'the first notification');
  const cursor = before.seen[0]!.trackedId;
  expect(cursor.startsWith('~')).toBe(true);
  client.close();
  return cursor;
}

function commandCounts(info: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const line of info.split('\r\n')) {
    const match = /^cmdstat_([^:]+):calls=(\d+)/.exec(line);
    if (match && match[1] !== 'info' && match[1] !== 'cluster') counts.set(match[1]!, Number(match[2]));
  }
  return counts;
}

describe.runIf(enabled)('the partitioned bus on a Redis Cluster', () => {
  const deployment = useClusterServers(prefix);
  const { servers, clients, connect } = deployment;
  /** A room whose partition each master holds. */
  const roomOnNode = new Map<string, string>();

  beforeAll(async () => {
    for (let index = 0; roomOnNode.size < 3 && index < 200; index++) {
      const node = await deployment.cluster.nodeOfKey(partitionKey(prefix, partitions, partitions.partitionOf(`room:r${index}`)));
      if (!roomOnNode.has(node)) roomOnNode.set(node, `r${index}`);
    }
  });

  // First, while only its own two users are connected: the background (idle sweeps per connected
  // user, heartbeats) would otherwise be counted against the events.
  it('costs one script call, two stream appends and one SPUBLISH per room event, on the room’s shard only', async () => {
    const roomId = [...roomOnNode.values()][0]!;
    const member = await connect(servers[0]!, 'cost-member');
    const stream = collect(member.api.onRoom, { roomId });
    const admin = await connect(servers[1]!, 'cost-admin', 'admin');
    await waitFor(async () => (await admin.api.rooms.members.query({ roomId })).some((entry) => entry.userId === 'cost-member'), 'member in the room');
    const publish = (index: number) => admin.api.admin.broadcast.mutate({ roomId, type: 'sphere.updated', data: { changed: [`${index}`] } });
    for (let index = 0; index < 20; index++) await publish(index);
    const observers = deployment.cluster.nodes.map((node) => new Redis({ host: node.split(':')[0], port: Number(node.split(':')[1]) }));
    try {
      const read = () => Promise.all(observers.map(async (observer) => commandCounts(String(await observer.call('INFO', 'commandstats')))));
      const events = 300;
      const before = await read();
      for (let index = 0; index < events; index++) await publish(index);
      const after = await read();
      await waitFor(() => ofType(stream.events, 'sphere.updated').length === events + 20, 'every event delivered');
      const calls = new Map<string, number>();
      after.forEach((counts, node) => {
        for (const [name, total] of counts) calls.set(name, (calls.get(name) ?? 0) + (total - (before[node]!.get(name) ?? 0)) / events);
      });
      const total = [...calls.values()].reduce((sum, perEvent) => sum + perEvent, 0);
      console.log(`cluster commands per event: ${total.toFixed(2)} (${[...calls].filter(([, perEvent]) => perEvent > 0).map(([name, perEvent]) => `${name} ${perEvent.toFixed(2)}`).join(', ')})`);
      expect(calls.get('xadd')).toBe(2);
      expect(calls.get('spublish')).toBe(1);
      expect(calls.get('publish') ?? 0).toBe(0);
      // The publish script, plus background scripts (heartbeats, sweeps) and rate-limit leases.
      // Each process heartbeats in every partition (membership state is spread over them: a
      // process's holds and connections are reaped per partition), 3 commands per partition
      // every 5 s: a fixed cost per process, which this sequential loop spreads over its events.
      expect(total).toBeLessThanOrEqual(4.6);
    } finally {
      for (const observer of observers) observer.disconnect();
      // Out of the room again: the next test counts its members.
      stream.unsubscribe();
      member.close();
      await waitFor(async () => !(await admin.api.rooms.members.query({ roomId })).some((entry) => entry.userId === 'cost-member'), 'member gone');
    }
  }, 60_000);

  it('spreads the partitions evenly over the masters and is ready on each', async () => {
    const response = await fetch(`${servers[0]!.url}/readyz`);
    const body = (await response.json()) as { ready: boolean; shards: Array<{ node: string; ready: boolean; partitions: number[] }> };
    expect(response.status).toBe(200);
    expect(body.shards.map((shard) => shard.node).sort()).toEqual([...deployment.cluster.nodes].sort());
    for (const shard of body.shards) {
      expect(shard.ready).toBe(true);
      expect(shard.partitions).toHaveLength(4);
    }
  });

  it('delivers each room’s events once and in order on both servers, for rooms on every shard', async () => {
    const rooms = [...roomOnNode.values()];
    expect(rooms).toHaveLength(3);
    const members = await Promise.all(servers.map((server, index) => connect(server, `member${index}`)));
    const streams = members.flatMap((member) => rooms.map((roomId) => ({ roomId, stream: collect(member.api.onRoom, { roomId }) })));
    const admin = await connect(servers[0]!, 'root', 'admin');
    for (const roomId of rooms) await waitFor(async () => (await admin.api.rooms.members.query({ roomId })).length === 2, `two members in ${roomId}`);
    const sent = new Map<string, string[]>(rooms.map((roomId) => [roomId, []]));
    for (let index = 0; index < 30; index++) {
      const roomId = rooms[index % 3]!;
      const via = index % 2 === 0 ? admin : await connect(servers[1]!, `root${index}`, 'admin');
      sent.get(roomId)!.push((await via.api.admin.broadcast.mutate({ roomId, type: 'sphere.updated', data: { changed: [`${index}`] } })).eventId);
    }
    for (const { roomId, stream } of streams) {
      await waitFor(() => ofType(stream.events, 'sphere.updated').length >= 10, `10 updates in ${roomId}`);
    }
    await sleep(100);
    for (const { roomId, stream } of streams) expect(ofType(stream.events, 'sphere.updated').map((event) => event.id)).toEqual(sent.get(roomId));
  });

  it('delivers an event of several partitions once to a subscriber hearing two of its parts, and lists it once', async () => {
    const userId = 'owner-of-agent';
    // An agent event goes to its owner's channel, the agents channel and its room's: three channels.
    const roomId = [...roomOnNode.values()].find((room) => partitions.partitionOf(`room:${room}`) !== partitions.partitionOf(`user:${userId}`))!;
    const owner = await connect(servers[1]!, userId);
    await owner.api.rooms.join.mutate({ roomId });
    const everything = collectTracked((await connect(servers[1]!, 'watcher', 'admin')).api.onEvent, { scope: 'all' });
    const mine = collect(owner.api.onEvent, undefined);
    await sleep(200);
    const producer = await connect(servers[0]!, 'agent-worker', 'service');
    await producer.api.agents.emit.mutate({ agentId: 'run-several-partitions', userId, type: 'agent.started', data: { task: 'spread', roomId } });
    await waitFor(() => ofType(mine.events, 'agent.started').length >= 1 && everything.seen.some(({ event }) => event.type === 'agent.started'), 'the run seen');
    await sleep(300);
    expect(ofType(mine.events, 'agent.started')).toHaveLength(1);
    expect(everything.seen.filter(({ event }) => event.type === 'agent.started')).toHaveLength(1);
    const admin = await connect(servers[0]!, 'lister', 'admin');
    const listed = (await admin.api.admin.history.query({ limit: 50 })).filter((event) => event.type === 'agent.started');
    expect(listed).toHaveLength(1);
  });

  it('resumes a subscription on two partitions on the other server with exactly what was missed', async () => {
    const userId = 'roamer';
    expect(partitions.partitionOf(`user:${userId}`)).not.toBe(partitions.partitionOf('all'));
    const admin = await connect(servers[0]!, 'sender', 'admin');
    const cursor = await cursorOfFirstNotification(await connect(servers[0]!, userId), admin, userId, 200);
    await admin.api.admin.send.mutate({ userId, type: 'notification.new', data: { title: 'missed 1', message: '' } });
    await admin.api.admin.broadcast.mutate({ type: 'system.maintenance', data: { message: 'missed broadcast' } });
    await admin.api.admin.send.mutate({ userId, type: 'notification.new', data: { title: 'missed 2', message: '' } });
    const elsewhere = await connect(servers[1]!, userId);
    const after = collectTracked(elsewhere.api.onNotification, { lastEventId: cursor });
    await waitFor(() => after.seen.length >= 3, 'the missed events');
    await admin.api.admin.send.mutate({ userId, type: 'notification.new', data: { title: 'live', message: '' } });
    await waitFor(() => after.seen.length >= 4, 'the live event');
    await sleep(200);
    const titles = after.seen.map(({ event }) => (event.type === 'notification.new' ? event.data.title : event.type));
    expect(titles).not.toContain('stream.gap');
    expect(titles.filter((title) => title !== 'system.maintenance')).toEqual(['missed 1', 'missed 2', 'live']);
    expect(titles.filter((title) => title === 'system.maintenance')).toHaveLength(1);
  });

  it('gives SSE subscribers the same cursors, and resumes them on the other server', async () => {
    const userId = 'sse-roamer';
    const admin = await connect(servers[0]!, 'sse-sender', 'admin');
    const first = servers[0]!.connect(await servers[0]!.token(userId), { transport: 'sse' });
    clients.push(first);
    const cursor = await cursorOfFirstNotification(first, admin, userId, 300);
    await admin.api.admin.send.mutate({ userId, type: 'notification.new', data: { title: 'missed', message: '' } });
    const elsewhere = servers[1]!.connect(await servers[1]!.token(userId), { transport: 'sse' });
    clients.push(elsewhere);
    const after = collectTracked(elsewhere.api.onNotification, { lastEventId: cursor });
    await waitFor(() => after.seen.length >= 1, 'the missed notification over SSE');
    await sleep(200);
    expect(after.seen.map(({ event }) => (event.type === 'notification.new' ? event.data.title : event.type))).toEqual(['missed']);
  });

  it('replays a run from its start to late watchers whose channels are in other partitions than the run’s first part', async () => {
    const ownerId = 'run-owner';
    const roomId = [...roomOnNode.values()].find((room) => partitions.partitionOf(`room:${room}`) !== partitions.partitionOf(`user:${ownerId}`))!;
    const owner = await connect(servers[0]!, ownerId);
    await owner.api.rooms.join.mutate({ roomId });
    const member = await connect(servers[1]!, 'run-watcher');
    await member.api.rooms.join.mutate({ roomId });
    const producer = createProducerClient({ url: servers[0]!.wsUrl, token: await servers[0]!.token('writer', 'service'), WebSocket, onError: () => {} });
    const agentId = 'spread-run';
    const run = await producer.startRun(agentId, { userId: ownerId, roomId });
    let text = '';
    for (let index = 0; index < 50; index++) {
      await run.output(`${index} `);
      text += `${index} `;
    }
    const textOf = (events: RealtimeEvent[]) => events.reduce((sum, event) => (event.type === 'agent.output' && event.data.agentId === agentId ? foldOutput(sum, event.data) : sum), '');
    const late = [
      collect(member.api.onAgent, { agentId }),
      collect((await connect(servers[1]!, 'run-operator', 'admin')).api.onAgent, { agentId }),
      collect((await connect(servers[1]!, ownerId)).api.onAgent, { agentId }),
    ];
    for (const stream of late) await waitFor(() => stream.started, 'late watcher subscribed');
    await run.output('end');
    text += 'end';
    await run.complete();
    for (const stream of late) {
      await waitFor(() => stream.events.some((event) => event.type === 'agent.complete'), 'the end of the run');
      expect(ofType(stream.events, 'agent.started')).toHaveLength(1);
      expect(textOf(stream.events)).toBe(text);
    }
    await producer.close();
  }, 60_000);

});
