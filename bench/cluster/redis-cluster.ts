/**
 * The benchmark's own 3-master Redis Cluster: the tests' fixture (test/support/redis-cluster.ts,
 * redis-server in cluster mode joined with `redis-cli --cluster create`), its nodes tracked so
 * they die with the orchestrator (exit, error or Ctrl-C). Its counters are the single
 * redis-server's (redis-server.ts) summed over the masters: /proc CPU of every node, INFO
 * commandstats of every node, so one event's cost reads the same on one Redis and on the cluster.
 */
import type { ChildProcess } from 'node:child_process';
import type { Redis } from 'ioredis';
import { startRedisCluster } from '../../test/support/redis-cluster.js';
import { trackChild } from '../processes.js';
import { clockTicksPerSecond, flushRedis, processCpu, readCounters, redisObserver, type RedisCounters } from './redis-server.js';

export interface BenchRedisCluster {
  /** `host:port` of every master. */
  nodes: readonly string[];
  /** REDIS_CLUSTER_URLS for our processes. */
  seeds: string;
  /** Counters of every master, summed (each counter is cumulative, so their deltas add up). */
  counters(): Promise<RedisCounters>;
  /** Counters of each master, in the order of `nodes`. */
  countersPerNode(): Promise<RedisCounters[]>;
  /** FLUSHALL on every master. */
  flush(): Promise<void>;
  stop(): Promise<void>;
}

export async function startBenchRedisCluster(masters = 3): Promise<BenchRedisCluster> {
  const children = new Map<string, ChildProcess>();
  const cluster = await startRedisCluster(masters, { onSpawn: (node, child) => children.set(node, trackChild(child)) });
  const ticks = clockTicksPerSecond();
  const observers = new Map<string, Redis>(cluster.nodes.map((node) => [node, redisObserver(`redis://${node}`)]));
  const countersPerNode = () => Promise.all(cluster.nodes.map((node) => readCounters(observers.get(node)!, processCpu(children.get(node)!.pid!, ticks))));
  return {
    nodes: cluster.nodes,
    seeds: cluster.nodes.join(','),
    countersPerNode,
    async counters() {
      const readings = await countersPerNode();
      const sum = {} as RedisCounters;
      for (const reading of readings) {
        for (const [name, value] of Object.entries(reading) as Array<[keyof RedisCounters, number]>) sum[name] = (sum[name] ?? 0) + value;
      }
      return sum;
    },
    flush: async () => void (await Promise.all(cluster.nodes.map((node) => flushRedis(`redis://${node}`)))),
    async stop() {
      for (const observer of observers.values()) observer.disconnect();
      await cluster.close();
    },
  };
}
