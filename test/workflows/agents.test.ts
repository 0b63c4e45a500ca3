/** Agent runs with the core alone: lifecycle, transition rules, cancel, and a late subscriber's replay. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RealtimeEvent } from '../../shared/events.js';
import { MemoryBus } from '../../server/bus/memory-bus.js';
import { channels } from '../../server/core/channels.js';
import { createRealtimeServices, type RealtimeServices } from '../../server/core/service.js';

let services: RealtimeServices;

beforeEach(async () => {
  services = createRealtimeServices({ bus: new MemoryBus(), onError: () => {} });
  await services.start();
});
afterEach(() => services.stop());

async function watch(userId: string, lastEventId?: string, agentId?: string) {
  const events: RealtimeEvent[] = [];
  const subscription = await services.core.subscribe({
    connection: { id: `connection-${userId}`, userId },
    channels: [channels.user(userId)],
    ...(agentId !== undefined && { accept: (event) => (event.data as { agentId?: string }).agentId === agentId }),
    ...(lastEventId !== undefined && { lastEventId }),
    sink: (event) => events.push(event),
  });
  return { events, types: () => events.map((event) => event.type), close: () => subscription.close() };
}

describe('agent lifecycle', () => {
  it('moves started → thinking → progress → complete, publishing each step to the owner', async () => {
    const alice = await watch('alice');
    const emit = services.emitAgentEvent;
    await emit('agent-1', 'agent.started', 'alice', { task: 'summarise the thread' });
    expect(services.agents.get('agent-1')).toMatchObject({ ownerId: 'alice', status: 'started', progress: 0, task: 'summarise the thread' });
    await emit('agent-1', 'agent.thinking', 'alice', { step: 'reading' });
    expect(services.agents.get('agent-1')).toMatchObject({ status: 'thinking', step: 'reading' });
    await emit('agent-1', 'agent.progress', 'alice', { progress: 40, step: 'drafting' });
    await emit('agent-1', 'agent.progress', 'alice', { progress: 40 });
    const complete = await emit('agent-1', 'agent.complete', 'alice', { result: { words: 120 } });
    expect(services.agents.get('agent-1')).toMatchObject({
      status: 'complete',
      progress: 100,
      step: 'drafting',
      result: { words: 120 },
      lastEventId: complete.id,
    });
    expect(alice.types()).toEqual(['agent.started', 'agent.thinking', 'agent.progress', 'agent.progress', 'agent.complete']);
    expect(alice.events.every((event) => event.userId === 'alice' && (event.data as { agentId: string }).agentId === 'agent-1')).toBe(true);
    alice.close();
  });

  it('keeps the error of a failed run and lists runs by owner', async () => {
    await services.emitAgentEvent('agent-1', 'agent.started', 'alice', {});
    await services.emitAgentEvent('agent-2', 'agent.started', 'bob', {});
    await services.emitAgentEvent('agent-1', 'agent.error', 'alice', { error: 'model unavailable', retryable: true });
    expect(services.agents.get('agent-1')).toMatchObject({ status: 'error', error: 'model unavailable' });
    expect(services.agents.list({ ownerId: 'alice' }).map((run) => run.agentId)).toEqual(['agent-1']);
    expect(services.agents.list().map((run) => run.agentId)).toEqual(['agent-1', 'agent-2']);
  });

  it('begins a run with agent.thinking for an unknown agent, as the seed does', async () => {
    await services.emitAgentEvent('agent-1', 'agent.thinking', 'alice', { step: 'analyzing' });
    expect(services.agents.get('agent-1')).toMatchObject({ ownerId: 'alice', status: 'thinking' });
  });
});

describe('transition rules', () => {
  const emit = (...args: Parameters<RealtimeServices['emitAgentEvent']>) => services.emitAgentEvent(...args);

  it('rejects anything after the run ended, and an end without a run', async () => {
    await expect(emit('ghost', 'agent.complete', 'alice', {})).rejects.toMatchObject({ code: 'PRECONDITION_FAILED' });
    await emit('agent-1', 'agent.started', 'alice', {});
    await emit('agent-1', 'agent.complete', 'alice', {});
    for (const attempt of [
      emit('agent-1', 'agent.progress', 'alice', { progress: 50 }),
      emit('agent-1', 'agent.thinking', 'alice', {}),
      emit('agent-1', 'agent.complete', 'alice', {}),
      emit('agent-1', 'agent.error', 'alice', { error: 'late' }),
    ]) {
      await expect(attempt).rejects.toMatchObject({ code: 'PRECONDITION_FAILED' });
    }
    expect(services.agents.get('agent-1')?.status).toBe('complete');
    // A new run of the same agent begins with agent.started.
    await emit('agent-1', 'agent.started', 'alice', { task: 'again' });
    expect(services.agents.get('agent-1')).toMatchObject({ status: 'started', progress: 0, task: 'again' });
  });

  it('rejects a second start while running', async () => {
    await emit('agent-1', 'agent.started', 'alice', {});
    await expect(emit('agent-1', 'agent.started', 'alice', {})).rejects.toMatchObject({ code: 'CONFLICT' });
  });

  it('keeps progress within 0–100 and never backwards unless the producer resets it', async () => {
    await emit('agent-1', 'agent.started', 'alice', {});
    await emit('agent-1', 'agent.progress', 'alice', { progress: 60 });
    await expect(emit('agent-1', 'agent.progress', 'alice', { progress: 101 })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    await expect(emit('agent-1', 'agent.progress', 'alice', { progress: -1 })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    await expect(emit('agent-1', 'agent.progress', 'alice', { progress: 30 })).rejects.toMatchObject({
      code: 'PRECONDITION_FAILED',
      message: expect.stringContaining('cannot go back from 60 to 30'),
    });
    expect(services.agents.get('agent-1')?.progress).toBe(60);
    await emit('agent-1', 'agent.progress', 'alice', { progress: 10, step: 'retrying', reset: true });
    expect(services.agents.get('agent-1')).toMatchObject({ progress: 10, step: 'retrying', status: 'running' });
  });

  it("rejects another user's events for a running agent, and another producer's", async () => {
    await services.agents.emit('agent-1', 'agent.started', 'alice', {}, 'worker-a');
    await expect(emit('agent-1', 'agent.progress', 'bob', { progress: 5 })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(services.agents.emit('agent-1', 'agent.progress', 'alice', { progress: 5 }, 'worker-b')).rejects.toMatchObject({
      code: 'FORBIDDEN',
    });
    await services.agents.emit('agent-1', 'agent.progress', 'alice', { progress: 5 }, 'worker-a');
    expect(services.agents.get('agent-1')).toMatchObject({ producerId: 'worker-a', progress: 5 });
  });

  it('publishes nothing for a rejected event', async () => {
    const alice = await watch('alice');
    await emit('agent-1', 'agent.started', 'alice', {});
    await emit('agent-1', 'agent.progress', 'alice', { progress: 50 });
    await expect(emit('agent-1', 'agent.progress', 'alice', { progress: 20 })).rejects.toThrow();
    await expect(emit('agent-1', 'agent.started', 'alice', {})).rejects.toThrow();
    expect(alice.types()).toEqual(['agent.started', 'agent.progress']);
    alice.close();
  });
});

describe('cancel', () => {
  it('by the owner: emits agent.cancelled, aborts the signal, and ends the run', async () => {
    const alice = await watch('alice');
    await services.emitAgentEvent('agent-1', 'agent.started', 'alice', {});
    const signal = services.agents.signal('agent-1')!;
    expect(signal.aborted).toBe(false);
    await services.agents.cancel('agent-1', { userId: 'alice', isAdmin: false }, 'wrong task');
    expect(signal.aborted).toBe(true);
    expect(String(signal.reason)).toContain('cancelled by alice');
    expect(services.agents.get('agent-1')).toMatchObject({ status: 'cancelled', cancelledBy: 'alice', cancelReason: 'wrong task' });
    expect(alice.events.at(-1)).toMatchObject({ type: 'agent.cancelled', data: { agentId: 'agent-1', cancelledBy: 'alice', reason: 'wrong task' } });
    await expect(services.emitAgentEvent('agent-1', 'agent.progress', 'alice', { progress: 90 })).rejects.toMatchObject({
      code: 'PRECONDITION_FAILED',
    });
    await expect(services.agents.cancel('agent-1', { userId: 'alice', isAdmin: false })).rejects.toMatchObject({ code: 'PRECONDITION_FAILED' });
    alice.close();
  });

  it('by a stranger is FORBIDDEN, by an admin allowed, and of an unknown agent NOT_FOUND', async () => {
    await services.agents.emit('agent-1', 'agent.started', 'alice', {}, 'worker-a');
    await expect(services.agents.cancel('agent-1', { userId: 'mallory', isAdmin: false })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    expect(services.agents.signal('agent-1')?.aborted).toBe(false);
    await services.agents.cancel('agent-1', { userId: 'root', isAdmin: true });
    expect(services.agents.get('agent-1')).toMatchObject({ status: 'cancelled', cancelledBy: 'root' });
    await expect(services.agents.cancel('nobody', { userId: 'root', isAdmin: true })).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('gives the next run of the agent a fresh signal', async () => {
    await services.emitAgentEvent('agent-1', 'agent.started', 'alice', {});
    await services.agents.cancel('agent-1', { userId: 'alice', isAdmin: false });
    await services.emitAgentEvent('agent-1', 'agent.started', 'alice', {});
    expect(services.agents.signal('agent-1')?.aborted).toBe(false);
  });
});

describe('a late subscriber', () => {
  it('replays the current run from its start, then receives live events', async () => {
    await services.emitAgentEvent('agent-1', 'agent.started', 'alice', { task: 'first run' });
    await services.emitAgentEvent('agent-1', 'agent.complete', 'alice', {});
    await services.emitAgentEvent('agent-1', 'agent.started', 'alice', { task: 'second run' });
    await services.emitAgentEvent('agent-2', 'agent.started', 'alice', {});
    await services.emitAgentEvent('agent-1', 'agent.progress', 'alice', { progress: 40, step: 'halfway' });

    const late = await watch('alice', services.agents.replayPointOf('agent-1'), 'agent-1');
    expect(late.events.map((event) => [event.type, event.data])).toEqual([
      ['agent.started', { agentId: 'agent-1', task: 'second run' }],
      ['agent.progress', { agentId: 'agent-1', progress: 40, step: 'halfway' }],
    ]);
    await services.emitAgentEvent('agent-1', 'agent.progress', 'alice', { progress: 70 });
    expect(late.types()).toEqual(['agent.started', 'agent.progress', 'agent.progress']);
    late.close();
  });

  it('subscribing from the state’s lastEventId gets exactly what follows it', async () => {
    await services.emitAgentEvent('agent-1', 'agent.started', 'alice', {});
    await services.emitAgentEvent('agent-1', 'agent.progress', 'alice', { progress: 20 });
    const state = services.agents.get('agent-1')!;
    await services.emitAgentEvent('agent-1', 'agent.progress', 'alice', { progress: 30 });
    const resumed = await watch('alice', state.lastEventId, 'agent-1');
    expect(resumed.events.map((event) => (event.data as { progress?: number }).progress)).toEqual([30]);
    resumed.close();
    expect(services.agents.replayPointOf('unknown')).toBeUndefined();
  });
});
