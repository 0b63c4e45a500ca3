/** The agent-run fold on plain objects: what every process, the hook and the dashboard share. */
import { describe, expect, it } from 'vitest';
import type { AgentEventType, EventDataMap } from '../../shared/events.js';
import {
  agentRunChange,
  beginsAgentRun,
  foldAgentRun,
  type AgentRun,
  type AgentRunEvent,
} from '../../shared/folds/agent-runs.js';

const at = (second: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, second));
let sequence = 0;
type EventOf = { [K in AgentEventType]: { type: K; data: EventDataMap[K]; userId?: string; senderId?: string } }[AgentEventType];
/** A published event for alice, driven by producer `worker` unless it says otherwise; ids and times increase. */
const published = (event: EventOf): AgentRunEvent => {
  sequence++;
  return { id: `e-${sequence}`, timestamp: at(sequence), userId: 'alice', senderId: 'worker', ...event };
};

const foldAll = (events: AgentRunEvent[], run?: AgentRun) => events.reduce<AgentRun | undefined>(foldAgentRun, run);

describe('foldAgentRun', () => {
  it('builds a run from started → thinking → progress → complete', () => {
    const started = published({ type: 'agent.started', data: { agentId: 'a1', task: 'sum' } });
    const run = foldAll([
      started,
      published({ type: 'agent.thinking', data: { agentId: 'a1', step: 'reading' } }),
      published({ type: 'agent.progress', data: { agentId: 'a1', progress: 40 } }),
      published({ type: 'agent.complete', data: { agentId: 'a1', result: { files: 3 } } }),
    ])!;
    expect(run).toMatchObject({
      agentId: 'a1',
      ownerId: 'alice',
      producerId: 'worker',
      status: 'complete',
      progress: 100,
      task: 'sum',
      step: 'reading',
      result: { files: 3 },
      startedAt: started.timestamp,
    });
    expect(run.lastEventId).toBe(`e-${sequence}`);
    expect(run.updatedAt).toEqual(at(sequence));
  });

  it('keeps the last step named when progress names none', () => {
    const run = foldAll([
      published({ type: 'agent.thinking', data: { agentId: 'a1', step: 'planning' } }),
      published({ type: 'agent.progress', data: { agentId: 'a1', progress: 10 } }),
    ])!;
    expect(run).toMatchObject({ status: 'running', progress: 10, step: 'planning' });
  });

  it('records errors and cancellations, and a canceller is not the producer', () => {
    const errored = foldAll([published({ type: 'agent.started', data: { agentId: 'a1' } }), published({ type: 'agent.error', data: { agentId: 'a1', error: 'disk full' } })]);
    expect(errored).toMatchObject({ status: 'error', error: 'disk full' });
    const cancelled = foldAll([published({ type: 'agent.cancelled', senderId: 'bob', data: { agentId: 'a2', cancelledBy: 'bob', reason: 'stop' } })]);
    expect(cancelled).toMatchObject({ status: 'cancelled', cancelledBy: 'bob', cancelReason: 'stop' });
    expect(cancelled?.producerId).toBeUndefined();
  });

  it('skips an event not newer than the last one folded, returning the same run', () => {
    const first = published({ type: 'agent.started', data: { agentId: 'a1' } });
    const second = published({ type: 'agent.progress', data: { agentId: 'a1', progress: 50 } });
    const run = foldAll([first, second])!;
    expect(foldAgentRun(run, second)).toBe(run);
    expect(foldAgentRun(run, first)).toBe(run);
  });

  it('folds a draft (no id yet) without moving lastEventId, and its published echo to the same state', () => {
    const started = foldAll([published({ type: 'agent.started', data: { agentId: 'a1' } })])!;
    const draft: AgentRunEvent = { type: 'agent.progress', data: { agentId: 'a1', progress: 30 }, timestamp: at(50), userId: 'alice' };
    const afterDraft = foldAgentRun(started, draft);
    expect(afterDraft).toMatchObject({ status: 'running', progress: 30, lastEventId: started.lastEventId });
    const echo = foldAgentRun(afterDraft, { ...draft, id: 'e-999' });
    expect(echo).toMatchObject({ status: 'running', progress: 30, lastEventId: 'e-999', startedAt: started.startedAt });
  });

  it('begins a new run after the last one ended, and not while one is running', () => {
    const ended = foldAll([published({ type: 'agent.started', data: { agentId: 'a1', task: 'old' } }), published({ type: 'agent.error', data: { agentId: 'a1', error: 'x' } })])!;
    const next = foldAgentRun(ended, published({ type: 'agent.started', userId: 'carol', data: { agentId: 'a1' } }));
    expect(next).toMatchObject({ status: 'started', progress: 0, ownerId: 'carol' });
    expect(next.error).toBeUndefined();
    expect(next.task).toBeUndefined();

    const running = foldAll([published({ type: 'agent.started', data: { agentId: 'a3', task: 't' } }), published({ type: 'agent.progress', data: { agentId: 'a3', progress: 70 } })])!;
    // Its own start delivered again (a publisher folds its draft, then hears the event) moves nothing back.
    const again = foldAgentRun(running, published({ type: 'agent.started', data: { agentId: 'a3', task: 't' } }));
    expect(again).toMatchObject({ progress: 70, startedAt: running.startedAt });
  });

  it('does not modify the run it is given', () => {
    const run = foldAll([published({ type: 'agent.started', data: { agentId: 'a1' } })])!;
    const copy = structuredClone(run);
    foldAgentRun(run, published({ type: 'agent.progress', data: { agentId: 'a1', progress: 5 } }));
    expect(run).toEqual(copy);
  });
});

describe('beginsAgentRun and agentRunChange', () => {
  it('a run begins with any event for an unknown agent, and after an end with anything but another end', () => {
    expect(beginsAgentRun(undefined, 'agent.thinking')).toBe(true);
    expect(beginsAgentRun('running', 'agent.started')).toBe(false);
    expect(beginsAgentRun('complete', 'agent.started')).toBe(true);
    expect(beginsAgentRun('complete', 'agent.cancelled')).toBe(false);
  });

  it('names only the fields an event changes', () => {
    expect(agentRunChange({ type: 'agent.thinking', data: { agentId: 'a' }, timestamp: at(0) })).toEqual({ status: 'thinking' });
    expect(agentRunChange({ type: 'agent.complete', data: { agentId: 'a' }, timestamp: at(0) })).toEqual({ status: 'complete', progress: 100 });
  });
});
