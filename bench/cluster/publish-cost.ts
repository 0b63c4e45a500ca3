/**
 * `npm run bench -- --cluster --publish-cost`: what one published event costs Redis, without the
 * fan-out around it (issue 20). The same events, 16 in flight, into one redis-server of the run's
 * own, from five publishers in turn (interleaved, the order rotated per repeat):
 *
 * - **ours**: the service's RedisBus and its leased rate limits (`consume` then `publish`, as the
 *   router does), with its subscriber connection receiving every event;
 * - **before**: the publish script and rate-limit script of commit bc20d36 (baseline-publish.ts,
 *   rate-limiter-flexible's RateLimiterRedis), with a subscriber;
 * - **Socket.IO**: `io.to(room).emit` on @socket.io/redis-adapter (one PUBLISH per broadcast), its
 *   own subscriber receiving it;
 *
 * and, on a 3-master Redis Cluster of the run's own (its counters summed over the masters):
 *
 * - **ours on the cluster**: the service's ClusterBus (REDIS_CLUSTER_URLS) and its leased rate limits;
 * - **Socket.IO sharded**: `createShardedAdapter` (one SPUBLISH per broadcast on the room's channel).
 *
 * Per event: the redis-server's CPU (schedstat, every thread) and its commands (INFO
 * commandstats, a script's own calls included). With thousands of events per second Redis's idle
 * background is a small part of it; the idle figure is printed too.
 */
import { Redis } from 'ioredis';
import { createAdapter } from '@socket.io/redis-adapter';
import { BurstyRateLimiter, RateLimiterRedis } from 'rate-limiter-flexible';
import superjson from 'superjson';
import { Server } from 'socket.io';
import { RedisBus } from '../../server/bus/redis-bus.js';
import { redisRateLimitCounters } from '../../server/cluster/rate-limit-counters.js';
import { median } from '../statistics.js';
import { benchLimits } from '../servers/bench-limits.js';
import { baselinePublishScript } from './baseline-publish.js';
import { startBenchRedis, type BenchRedis } from './redis-server.js';
import { startBenchRedisCluster } from './redis-cluster.js';
import { oursClusterPublisher, shardedSocketIoPublisher } from './cluster-publishers.js';
import { measureJoinStorm } from './join-storm.js';
import type { EventBus } from '../../server/bus/bus.js';

type PublisherName = 'ours' | 'before' | 'socketio' | 'ours-cluster' | 'socketio-sharded';
const publisherNames: readonly PublisherName[] = ['ours', 'before', 'socketio', 'ours-cluster', 'socketio-sharded'];
const labels: Record<PublisherName, string> = {
  ours: 'ours (RedisBus + leased limits)',
  before: 'before (bc20d36 scripts)',
  socketio: 'Socket.IO redis-adapter',
  'ours-cluster': 'ours (ClusterBus + leased limits)',
  'socketio-sharded': 'Socket.IO sharded adapter, cluster',
};
/** Which publishers run on the 3-master Redis Cluster (their counters are summed over its masters). */
const onCluster: Record<PublisherName, boolean> = { ours: false, before: false, socketio: false, 'ours-cluster': true, 'socketio-sharded': true };

export interface Publisher {
  publish(index: number): Promise<unknown>;
  close(): Promise<void>;
}

const rule = { perSecond: benchLimits.rateLimitPerSecond, burst: benchLimits.rateLimitBurst };
const roomId = 'bench';
const dataOf = (index: number) => ({ changed: [`field-${index}`] });
/** One event into the room, as the router's admin.broadcast publishes it. */
const publishToRoom = (bus: EventBus, index: number) => bus.publish({ type: 'sphere.updated', data: dataOf(index), channels: [`room:${roomId}`], roomId });

async function oursPublisher(url: string, prefix: string): Promise<Publisher> {
  const bus = new RedisBus({ url, prefix, onError: () => {} });
  await bus.start();
  const limits = redisRateLimitCounters(rule, bus.redis, prefix, () => {});
  return {
    async publish(index) {
      await limits.consume('user:bench-admin');
      return publishToRoom(bus, index);
    },
    close: () => bus.close(),
  };
}

async function beforePublisher(url: string, prefix: string): Promise<Publisher> {
  const redis = new Redis(url) as Redis & { baselinePublish(...args: Array<string | number>): Promise<string> };
  const subscriber = new Redis(url);
  redis.defineCommand('baselinePublish', { numberOfKeys: 0, lua: baselinePublishScript });
  await subscriber.subscribe(`${prefix}:events`);
  const limiter = new BurstyRateLimiter(
    new RateLimiterRedis({ keyPrefix: `${prefix}:rl:steady`, points: rule.perSecond, duration: 1, storeClient: redis }),
    new RateLimiterRedis({ keyPrefix: `${prefix}:rl:burst`, points: rule.burst, duration: 10, storeClient: redis }),
  );
  let epochs = 0;
  return {
    async publish(index) {
      await limiter.consume('user:bench-admin');
      const envelope = { type: 'sphere.updated', data: dataOf(index), roomId };
      const channels = [`room:${roomId}`];
      return redis.baselinePublish(prefix, 1000, 10000, 86400, `bench${epochs++}`, JSON.stringify(superjson.serialize(envelope)), JSON.stringify(channels), ...channels);
    },
    async close() {
      redis.disconnect();
      subscriber.disconnect();
    },
  };
}

async function socketIoPublisher(url: string, prefix: string): Promise<Publisher> {
  const publisher = new Redis(url);
  const subscriber = new Redis(url);
  const io = new Server();
  io.adapter(createAdapter(publisher, subscriber, { key: prefix }));
  return {
    // The adapter's PUBLISH is fire-and-forget: a PING on the same connection waits for it, so
    // as many are in flight as for the others.
    async publish(index) {
      io.to(roomId).emit('event', { id: String(index), type: 'sphere.updated', data: dataOf(index), timestamp: new Date(), roomId });
      return publisher.ping();
    },
    async close() {
      // Not io.close(): without an HTTP server attached it has no engine to close (and throws).
      publisher.disconnect();
      subscriber.disconnect();
    },
  };
}

/** Where a publisher runs: `url` of the one Redis, or `seeds` (REDIS_CLUSTER_URLS) of the cluster. */
interface Target {
  url: string;
  seeds: string;
}

const factories: Record<PublisherName, (target: Target, prefix: string) => Promise<Publisher>> = {
  ours: ({ url }, prefix) => oursPublisher(url, prefix),
  before: ({ url }, prefix) => beforePublisher(url, prefix),
  socketio: ({ url }, prefix) => socketIoPublisher(url, prefix),
  'ours-cluster': ({ seeds }, prefix) => oursClusterPublisher(seeds, prefix, rule, publishToRoom),
  'socketio-sharded': ({ seeds }, prefix) => shardedSocketIoPublisher(seeds, prefix, roomId, dataOf),
};

/** The counters of the Redis a publisher runs on, and the way to empty it after a cell. */
type Deployment = Pick<BenchRedis, 'counters' | 'flush'>;

/** Publishes `events` with at most `window` in flight. */
async function publishAll(publisher: Publisher, events: number, window: number): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < events) await publisher.publish(next++);
  };
  await Promise.all(Array.from({ length: window }, worker));
}

interface PublishCell {
  publisher: PublisherName;
  repeat: number;
  cpuMicrosPerEvent: number;
  /** The same from INFO's used_cpu_sys + used_cpu_user (summed over the masters on the cluster): a cross-check. */
  infoCpuMicrosPerEvent: number;
  commandsPerEvent: number;
  eventsPerSecond: number;
}

async function measure(redis: Deployment, target: Target, name: PublisherName, repeat: number, events: number): Promise<PublishCell> {
  const publisher = await factories[name](target, `cost-${name}-${repeat}`);
  try {
    await publishAll(publisher, 200, 16); // warm-up: scripts loaded, leases taken
    const before = await redis.counters();
    const started = performance.now();
    await publishAll(publisher, events, 16);
    const seconds = (performance.now() - started) / 1000;
    const after = await redis.counters();
    return {
      publisher: name,
      repeat,
      cpuMicrosPerEvent: (after.cpuMicros - before.cpuMicros) / events,
      infoCpuMicrosPerEvent: (after.infoCpuMicros - before.infoCpuMicros) / events,
      commandsPerEvent: (after.commands - before.commands) / events,
      eventsPerSecond: events / seconds,
    };
  } finally {
    await publisher.close();
    await redis.flush();
  }
}

export async function runPublishCostBench(argv: string[]): Promise<void> {
  const quick = argv.includes('--quick');
  const events = quick ? 2_000 : 10_000;
  const repeats = quick ? 1 : 3;
  const redis = await startBenchRedis();
  const cluster = await startBenchRedisCluster().catch(async (error: unknown) => {
    await redis.stop();
    throw error;
  });
  const target: Target = { url: redis.url, seeds: cluster.seeds };
  try {
    const [redisIdle, clusterIdle] = await Promise.all([redisIdleMicrosPerSecond(redis), redisIdleMicrosPerSecond(cluster)]);
    const cells: PublishCell[] = [];
    for (let repeat = 1; repeat <= repeats; repeat++) {
      for (let offset = 0; offset < publisherNames.length; offset++) {
        const name = publisherNames[(offset + repeat - 1) % publisherNames.length]!;
        const cell = await measure(onCluster[name] ? cluster : redis, target, name, repeat, events);
        cells.push(cell);
        console.log(
          `[${cells.length}/${repeats * publisherNames.length}] ${labels[name].padEnd(36)} ${cell.commandsPerEvent.toFixed(2)} commands/event, ` +
            `Redis ${cell.cpuMicrosPerEvent.toFixed(1)} µs/event (INFO ${cell.infoCpuMicrosPerEvent.toFixed(1)}), ${Math.round(cell.eventsPerSecond)} events/s`,
        );
      }
    }
    const ratio = (name: PublisherName, baseline: PublisherName, pick: (cell: PublishCell) => number) =>
      median(
        cells
          .filter((cell) => cell.publisher === name)
          .flatMap((cell) => {
            const other = cells.find((candidate) => candidate.publisher === baseline && candidate.repeat === cell.repeat);
            return other ? [pick(cell) / pick(other)] : [];
          }),
      );
    console.log(
      `\n${events} events per cell, ${repeats} repeat(s), 16 in flight; idle background: one Redis ${redisIdle.toFixed(0)} µs/s, ` +
        `the ${cluster.nodes.length}-master cluster ${clusterIdle.toFixed(0)} µs/s (summed; cluster bus pings included).\n`,
    );
    console.log('| publisher | where | commands/event | Redis CPU µs/event | INFO used_cpu µs/event | events/s |');
    console.log('|---|---|---:|---:|---:|---:|');
    for (const name of publisherNames) {
      const group = cells.filter((cell) => cell.publisher === name);
      const of = (pick: (cell: PublishCell) => number) => median(group.map(pick));
      const where = onCluster[name] ? `cluster (${cluster.nodes.length} masters, summed)` : 'one Redis';
      console.log(
        `| ${labels[name]} | ${where} | ${of((cell) => cell.commandsPerEvent).toFixed(2)} | ${of((cell) => cell.cpuMicrosPerEvent).toFixed(1)} | ` +
          `${of((cell) => cell.infoCpuMicrosPerEvent).toFixed(1)} | ${Math.round(of((cell) => cell.eventsPerSecond))} |`,
      );
    }
    const cpu = (cell: PublishCell) => cell.cpuMicrosPerEvent;
    console.log(`\nPaired (median of per-repeat ratios), Redis CPU per event: ours ÷ before ${ratio('ours', 'before', cpu).toFixed(2)}×, ours ÷ Socket.IO ${ratio('ours', 'socketio', cpu).toFixed(2)}×`);
    console.log(
      `On the cluster: ours ÷ Socket.IO sharded ${ratio('ours-cluster', 'socketio-sharded', cpu).toFixed(2)}×, ` +
        `ours on the cluster ÷ ours on one Redis ${ratio('ours-cluster', 'ours', cpu).toFixed(2)}× (the cluster's idle background included)`,
    );
    const storm = await measureJoinStorm(cluster);
    const total = storm.scriptCallsPerMaster.reduce((sum, calls) => sum + calls, 0);
    console.log(
      `Join storm on the cluster (${storm.joins} joins by 60 users into 30 rooms, two backends, ${Math.round(storm.milliseconds)} ms): ` +
        `membership script calls per master ${storm.scriptCallsPerMaster.join(' / ')} ` +
        `(${storm.scriptCallsPerMaster.map((calls) => `${Math.round((100 * calls) / total)}%`).join(' / ')})`,
    );
  } finally {
    await Promise.all([redis.stop(), cluster.stop()]);
  }
}

/** Redis's own background work (cron, and on the cluster its bus pings), µs of CPU per second. */
export async function redisIdleMicrosPerSecond(deployment: Pick<Deployment, 'counters'>): Promise<number> {
  const before = await deployment.counters();
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  return (await deployment.counters()).cpuMicros - before.cpuMicros;
}
