/**
 * `agent.output` across processes (issue 19): a run produced through one server process, watched
 * from another over one Redis, arrives as exactly the producer's text, for a subscriber that
 * watched throughout and one that joined late.
 */
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { foldOutput } from '../../shared/folds/agent-output.js';
import { createProducerClient } from '../../client/producer.js';
import { collect, type Collected } from '../support/collect.js';
import { requireRedis } from '../support/redis.js';
import { useRedisProcesses } from '../support/redis-processes.js';
import { testTokens, wsClient } from '../support/server.js';
import { waitFor } from '../support/wait.js';

const enabled = requireRedis();
const tokens = testTokens();
const cluster = useRedisProcesses(enabled, 2, (url) => ({ REDIS_URL: url, REDIS_PREFIX: 'output', HISTORY_PER_CHANNEL: '100' }));
const { processes, clients } = cluster;

const textOf = (collected: Collected, agentId: string) =>
  collected.events.reduce((text, event) => (event.type === 'agent.output' && event.data.agentId === agentId ? foldOutput(text, event.data) : text), '');

describe.runIf(enabled)('agent.output over Redis', () => {
  it('2,000 deltas produced on one process reach watchers on another with the exact text', async () => {
    const [producing, watching] = [processes[0]!, processes[1]!];
    const agentId = 'remote-writer';
    const watcher = wsClient(watching.wsUrl, await tokens.sign('alice'));
    clients.push(watcher);
    const steady = collect(watcher.api.onAgent, { agentId });
    await waitFor(() => steady.started, 'subscribed');

    const producer = createProducerClient({ url: producing.wsUrl, token: await tokens.sign('worker', 'service'), WebSocket, onError: () => {} });
    const run = await producer.startRun(agentId, { userId: 'alice' });
    let text = '';
    let late: Collected | undefined;
    for (let index = 0; index < 2_000; index++) {
      const delta = index % 41 === 0 ? '🚀ü ' : `${index % 997} `;
      await run.output(delta);
      text += delta;
      if (index === 1_200) {
        const lateClient = wsClient(watching.wsUrl, await tokens.sign('alice'));
        clients.push(lateClient);
        late = collect(lateClient.api.onAgent, { agentId });
        await waitFor(() => late!.started, 'late subscriber started');
      }
    }
    await run.complete();
    for (const [name, stream] of [['steady', steady], ['late', late!]] as const) {
      await waitFor(() => stream.events.some((event) => event.type === 'agent.complete'), `${name} sees the end`, 15_000);
      expect(textOf(stream, agentId), name).toBe(text);
    }
    await producer.close();
  }, 60_000);
});
