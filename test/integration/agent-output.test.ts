/**
 * `agent.output` over the real server and the official client (issue 19): every subscriber ends
 * with exactly the producer's text, whether it watched throughout, had its socket killed mid-stream
 * and resumed, or joined late; the producer's offsets guard against doubled text; the text is bounded.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { RealtimeEvent } from '../../shared/events.js';
import { foldOutput } from '../../shared/folds/agent-output.js';
import { createProducerClient } from '../../client/producer.js';
import { collect, type Collected } from '../support/collect.js';
import { startServer, wsClient, type TestServer } from '../support/server.js';
import { waitFor } from '../support/wait.js';

let t: TestServer;
// A small history, so that a resumed or late subscriber cannot be served from history alone.
beforeAll(async () => (t = await startServer({ historyPerChannel: 100, agentOutputMaxBytes: 64 * 1024 })));
afterAll(async () => t.stop());

/** The text a subscriber holds: its `agent.output` events folded in order, as the hook does. */
function textOf(collected: Collected, agentId: string): string {
  let text = '';
  for (const event of collected.events) {
    if (event.type === 'agent.output' && event.data.agentId === agentId) text = foldOutput(text, event.data);
  }
  return text;
}
const outputs = (collected: Collected) => collected.events.filter((event): event is RealtimeEvent<'agent.output'> => event.type === 'agent.output');

/** A `ws` WebSocket whose live sockets a test can kill, as a network failure would. */
function killableSockets() {
  const open = new Set<WebSocket>();
  class Killable extends WebSocket {
    constructor(...args: ConstructorParameters<typeof WebSocket>) {
      super(...args);
      open.add(this);
      this.on('close', () => open.delete(this));
    }
  }
  return { WebSocket: Killable, killAll: () => [...open].forEach((socket) => socket.terminate()) };
}

/** Deltas of a few UTF-16 code units, some with surrogate pairs and accents. */
const deltaAt = (index: number) => (index % 37 === 0 ? '😀é ' : `${index % 1000} `);

describe('agent.output', () => {
  it('2,000 deltas: a steady, a killed-and-resumed and a late subscriber each end with the exact text', async () => {
    const { services } = t.server;
    const agentId = 'writer';
    const token = await t.token('alice');
    const steady = t.connect(token);
    const sockets = killableSockets();
    const dropped = wsClient(t.wsUrl, token, 150, sockets.WebSocket);
    const steadyStream = collect(steady.api.onAgent, { agentId });
    const droppedStream = collect(dropped.api.onAgent, { agentId });
    await waitFor(() => steadyStream.started && droppedStream.started, 'subscribed');

    await services.emitAgentEvent(agentId, 'agent.started', 'alice', { task: 'write' });
    let text = '';
    let late: Collected | undefined;
    let lateClient: ReturnType<typeof t.connect> | undefined;
    let textWhenLateJoined = 0;
    for (let index = 0; index < 2_000; index++) {
      const delta = deltaAt(index);
      const event = await services.emitAgentEvent(agentId, 'agent.output', 'alice', { delta });
      expect(event.data.offset).toBe(text.length);
      text += delta;
      if (index === 600) sockets.killAll();
      if (index === 1_400) {
        lateClient = t.connect(token);
        late = collect(lateClient.api.onAgent, { agentId });
        await waitFor(() => late!.started, 'late subscriber started');
        textWhenLateJoined = text.length;
      }
    }
    await services.emitAgentEvent(agentId, 'agent.complete', 'alice', {});
    const all = { steadyStream, droppedStream, late: late! };
    for (const [name, stream] of Object.entries(all)) {
      await waitFor(() => stream.events.some((event) => event.type === 'agent.complete'), `${name} sees the end`, 10_000);
      expect(textOf(stream, agentId), name).toBe(text);
    }
    expect(services.agents.output(agentId)).toBe(text);
    // The steady subscriber got every delta as it was sent.
    expect(outputs(steadyStream)).toHaveLength(2_000);
    // The killed one resumed with the text it lacked as one event, then live deltas.
    expect(outputs(droppedStream).length).toBeLessThan(2_000);
    // The late one's first output is everything so far, from offset 0.
    const first = outputs(late!)[0]!;
    expect(first.data.offset).toBe(0);
    expect(first.data.delta.length).toBeGreaterThanOrEqual(textWhenLateJoined);
    steady.close();
    dropped.close();
    lateClient!.close();
  });

  it('a producer that states a stale offset gets CONFLICT; run.output sends in order', async () => {
    const producer = createProducerClient({ url: t.wsUrl, token: await t.token('worker', 'service'), WebSocket, onError: () => {} });
    const run = await producer.startRun('offsets', { userId: 'bob' });
    await Promise.all(['Hello', ', ', 'world', '!'].map((part) => run.output(part)));
    expect(t.server.services.agents.output('offsets')).toBe('Hello, world!');
    const api = t.http(await t.token('worker', 'service'));
    await expect(api.agents.emit.mutate({ agentId: 'offsets', userId: 'bob', type: 'agent.output', data: { delta: 'again', offset: 7 } })).rejects.toMatchObject({
      data: { code: 'CONFLICT' },
    });
    const next = await api.agents.emit.mutate({ agentId: 'offsets', userId: 'bob', type: 'agent.output', data: { delta: ' Bye.', offset: 13 } });
    expect(next.event.data).toMatchObject({ offset: 13 });
    expect(t.server.services.agents.output('offsets')).toBe('Hello, world! Bye.');
    await run.complete();
    await producer.close();
  });

  it('refuses a delta past the run text bound with PAYLOAD_TOO_LARGE, and keeps the text', async () => {
    const { services } = t.server;
    await services.emitAgentEvent('big', 'agent.started', 'carol', {});
    const chunk = 'é'.repeat(1_000); // 2,000 bytes: 32 fit in 64 KiB, a 33rd does not
    for (let index = 0; index < 32; index++) await services.emitAgentEvent('big', 'agent.output', 'carol', { delta: chunk });
    await expect(services.emitAgentEvent('big', 'agent.output', 'carol', { delta: chunk })).rejects.toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
    expect(services.agents.output('big')).toHaveLength(32_000);
    // A new run starts with no text.
    await services.emitAgentEvent('big', 'agent.complete', 'carol', {});
    await services.emitAgentEvent('big', 'agent.started', 'carol', {});
    await services.emitAgentEvent('big', 'agent.output', 'carol', { delta: 'fresh' });
    expect(services.agents.output('big')).toBe('fresh');
  });
});

