/**
 * A Redis Cluster of the test's own: `masters` redis-server processes in cluster mode on free
 * loopback ports, in a temporary directory, joined with `redis-cli --cluster create` (no
 * replicas). A node can be stopped and started again on the same port with its slots (its
 * nodes.conf stays in the directory), as a shard that goes away and comes back.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from './free-port.js';
import { sleep } from './wait.js';

export interface TestRedisCluster {
  /** `127.0.0.1:port` of every master, in the order started. */
  readonly nodes: readonly string[];
  /** The master serving a key's slot. */
  nodeOfKey(key: string): Promise<string>;
  stop(node: string): Promise<void>;
  start(node: string): Promise<void>;
  /** FLUSHALL on every master: the next test starts from an empty cluster. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

export const redisClusterAvailable = (): boolean =>
  spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0 && spawnSync('redis-cli', ['--version'], { stdio: 'ignore' }).status === 0;

/** Waits until `node` answers and reports the cluster as ok. */
async function waitForClusterOk(node: string, timeoutMs = 15_000): Promise<void> {
  const [host, port] = node.split(':');
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const client = new Redis({ host, port: Number(port), lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    client.on('error', () => {});
    try {
      await client.connect();
      if (String(await client.call('CLUSTER', 'INFO')).includes('cluster_state:ok')) return;
    } catch {
      // not up yet
    } finally {
      client.disconnect();
    }
    await sleep(100);
  }
  throw new Error(`redis cluster node ${node} was not ok within ${timeoutMs} ms`);
}

export interface RedisClusterOptions {
  /**
   * Called with every redis-server started (a restarted node too): the benchmark tracks them so
   * they die with it on Ctrl-C, and reads their CPU time from /proc.
   */
  onSpawn?: (node: string, child: ChildProcess) => void;
}

export async function startRedisCluster(masters = 3, options: RedisClusterOptions = {}): Promise<TestRedisCluster> {
  const directory = mkdtempSync(join(tmpdir(), 'realtime-cluster-'));
  const ports = await Promise.all(Array.from({ length: masters }, () => freePort()));
  const nodes = ports.map((port) => `127.0.0.1:${port}`);
  const children = new Map<string, ChildProcess>();

  const launch = async (node: string) => {
    const port = node.split(':')[1]!;
    const child = spawn(
      'redis-server',
      ['--port', port, '--bind', '127.0.0.1', '--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`, '--cluster-node-timeout', '2000'].concat(
        // A shard that is down leaves the others serving their slots (the default stops them all).
        ['--cluster-require-full-coverage', 'no'],
        ['--save', '', '--appendonly', 'no', '--dir', directory, '--loglevel', 'warning'],
      ),
      { stdio: 'ignore' },
    );
    children.set(node, child);
    options.onSpawn?.(node, child);
    const deadline = Date.now() + 10_000;
    while (spawnSync('redis-cli', ['-p', port, 'ping'], { encoding: 'utf8' }).stdout.trim() !== 'PONG') {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`redis-server (cluster mode) on ${node} did not start`);
      await sleep(50);
    }
  };
  const stop = async (node: string) => {
    const child = children.get(node);
    children.delete(node);
    if (!child || child.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
  };

  try {
    await Promise.all(nodes.map(launch));
    const created = spawnSync('redis-cli', ['--cluster', 'create', ...nodes, '--cluster-replicas', '0', '--cluster-yes'], { encoding: 'utf8', timeout: 30_000 });
    if (created.status !== 0) throw new Error(`redis-cli --cluster create failed: ${created.stdout}${created.stderr}`);
    await Promise.all(nodes.map((node) => waitForClusterOk(node)));
  } catch (error) {
    await Promise.all(nodes.map(stop));
    rmSync(directory, { recursive: true, force: true });
    throw error;
  }

  return {
    nodes,
    async nodeOfKey(key) {
      const [host, port] = [...children.keys()][0]!.split(':');
      const client = new Redis({ host, port: Number(port) });
      try {
        const slot = Number(await client.call('CLUSTER', 'KEYSLOT', key));
        const ranges = (await client.call('CLUSTER', 'SLOTS')) as Array<[number, number, [string, number]]>;
        const owner = ranges.find(([from, to]) => slot >= from && slot <= to);
        if (!owner) throw new Error(`no node serves slot ${slot}`);
        return `${owner[2][0]}:${owner[2][1]}`;
      } finally {
        client.disconnect();
      }
    },
    stop,
    async flush() {
      await Promise.all(
        nodes.map(async (node) => {
          const client = new Redis({ host: node.split(':')[0], port: Number(node.split(':')[1]) });
          try {
            await client.flushall();
          } finally {
            client.disconnect();
          }
        }),
      );
    },
    async start(node) {
      await launch(node);
      await waitForClusterOk(node);
    },
    async close() {
      await Promise.all(nodes.map(stop));
      rmSync(directory, { recursive: true, force: true });
    },
  };
}
