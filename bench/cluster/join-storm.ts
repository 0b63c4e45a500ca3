/**
 * The membership half of `--publish-cost` on the cluster (issue 20, "cluster views without a
 * single hot key"): a join storm through two backends as createRedisClusterBackend builds them
 * (two processes' worth), `users` users connecting and each joining `roomsPerUser` of `rooms`
 * rooms, with the script calls each master ran meanwhile (INFO commandstats). Membership state is
 * split by user and by room over the partitions, so every master takes a share; before, every
 * membership script ran on the master of partition 0.
 */
import type { Backend } from '../../server/cluster/backend.js';
import { createRedisClusterBackend } from '../../server/cluster/redis-backend.js';
import type { BenchRedisCluster } from './redis-cluster.js';

export interface JoinStormResult {
  joins: number;
  milliseconds: number;
  /** Script calls (EVALSHA and EVAL) per master, in the order of the cluster's nodes. */
  scriptCallsPerMaster: number[];
}

export async function measureJoinStorm(cluster: BenchRedisCluster, users = 60, rooms = 30, roomsPerUser = 5): Promise<JoinStormResult> {
  const backends: Backend[] = [0, 1].map(() =>
    createRedisClusterBackend({ nodes: cluster.seeds.split(','), prefix: 'join-storm', rateLimit: { perSecond: 1_000, burst: 1_000 }, onError: () => {} }),
  );
  try {
    for (const backend of backends) {
      await backend.bus.start();
      backend.bus.subscribe((published) => backend.membership.apply(published));
      await backend.membership.start();
    }
    const before = await cluster.countersPerNode();
    const started = performance.now();
    await Promise.all(
      Array.from({ length: users }, async (_, index) => {
        const { membership } = backends[index % backends.length]!;
        const userId = `storm-user${index}`;
        await membership.connect(`storm-connection${index}`, userId);
        for (let room = 0; room < roomsPerUser; room++) await membership.hold(`storm-room${(index + room * 7) % rooms}`, userId, 'subscription');
      }),
    );
    const milliseconds = performance.now() - started;
    const after = await cluster.countersPerNode();
    return { joins: users * roomsPerUser, milliseconds, scriptCallsPerMaster: after.map((counters, node) => counters.scriptCalls - before[node]!.scriptCalls) };
  } finally {
    for (const backend of backends) {
      await backend.membership.stop();
      await backend.bus.close();
    }
    await cluster.flush();
  }
}
