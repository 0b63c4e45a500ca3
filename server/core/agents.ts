/**
 * Agent runs: an owner, a lifecycle `started → thinking/progress* → complete | error | cancelled`,
 * and a current state. Events out of order are rejected before they are published, so what
 * subscribers see is always a valid run. Cancelling aborts the run's AbortSignal, which is how an
 * in-process producer hears of it; remote producers hear the `agent.cancelled` event.
 *
 * What an event does to a run is the shared fold (shared/folds/agent-runs.ts), the same one every
 * other process, the React hook and the dashboard use; this file keeps only the checks before a
 * publish and what belongs to this process (the AbortController, the replay point).
 */
import { formatEventId, isNewerEventId, parseEventId } from '../../shared/event-id.js';
import type { AgentEventType, EventDataInput, EventDataMap, RealtimeEvent } from '../../shared/events.js';
import { parseEventData } from '../../shared/events.js';
import {
  beginsAgentRun,
  foldAgentRun,
  isTerminalAgentStatus,
  type AgentRun,
  type AgentRunEvent,
  type AgentStatus,
} from '../../shared/folds/agent-runs.js';
import { AgentOutputs, type OutputCursor, type OutputRuns } from './agent-output.js';
import { channels } from './channels.js';
import { RealtimeError } from './errors.js';
import type { RealtimeCore } from './realtime-core.js';
import { toValidationError } from './validation.js';

export { isTerminalAgentStatus, type AgentStatus };
/** A run as `agents.get` and `agents.list` answer it. */
export type AgentRunState = AgentRun;

/**
 * Data of an agent event without `agentId`, which the service fills in; an output's `offset` is
 * the service's too (a producer may state it, and gets CONFLICT when it is not the text's length).
 */
export type AgentEventData<T extends AgentEventType> = T extends 'agent.output'
  ? Omit<EventDataInput<T>, 'agentId' | 'offset'> & { offset?: number }
  : Omit<EventDataInput<T>, 'agentId'>;

interface RunRecord {
  state: AgentRun;
  abort: AbortController;
  /** Id of the event that began the run, once published: where a late subscriber's replay starts. */
  firstEventId?: string;
}

export interface AgentServiceOptions {
  /** Runs remembered; the oldest finished are forgotten past it. @default 10000 */
  maxRuns?: number;
  /** UTF-8 bytes of one run's `agent.output` text (AGENT_OUTPUT_MAX_BYTES). @default 1 MiB */
  maxOutputBytes?: number;
}

/** Who is emitting: a producer (checked against the run's producer) or a canceller (owner or admin, checked by `cancel`). */
type EmitAuthority = 'producer' | 'canceller';

export class AgentService {
  private readonly runs = new Map<string, RunRecord>();
  private readonly outputs: AgentOutputs;

  constructor(
    private readonly core: RealtimeCore,
    private readonly options: AgentServiceOptions = {},
  ) {
    this.outputs = new AgentOutputs(options.maxOutputBytes === undefined ? {} : { maxOutputBytes: options.maxOutputBytes });
  }

  /** The run's text so far, as this process has received it. */
  output(agentId: string): string {
    return this.outputs.text(agentId);
  }

  /** A subscriber's cursor over run texts: a late or resumed subscriber gets what it lacks as one event. */
  outputCursor(lastEventId: string | undefined, runs: OutputRuns): OutputCursor {
    return this.outputs.cursor(lastEventId, runs);
  }

  /**
   * Publishes an agent event for `userId`'s agent after checking it is a valid next step.
   * `senderId` is the producer's own id when it emits over the API: a run started by one
   * producer cannot be driven by another. `data` is validated here against the catalog, so what
   * arrives from the wire may be passed as it is.
   */
  emit<T extends AgentEventType>(
    agentId: string,
    type: T,
    userId: string,
    data: AgentEventData<T>,
    senderId?: string,
  ): Promise<RealtimeEvent<T>> {
    return this.apply(agentId, type, userId, data, senderId, 'producer');
  }

  /** Cancels a running agent: only its owner or an admin may. Aborts the run's signal once published. */
  async cancel(agentId: string, by: { userId: string; isAdmin: boolean }, reason?: string): Promise<RealtimeEvent<'agent.cancelled'>> {
    const run = this.runs.get(agentId);
    if (!run) throw new RealtimeError('NOT_FOUND', `No agent run ${agentId}`);
    if (run.state.ownerId !== by.userId && !by.isAdmin) {
      throw new RealtimeError('FORBIDDEN', `Only the owner of ${agentId} or an admin may cancel it`);
    }
    const data = { cancelledBy: by.userId, ...(reason !== undefined && { reason }) };
    return this.apply(agentId, 'agent.cancelled', run.state.ownerId, data, by.userId, 'canceller');
  }

  /** Aborted when the run is cancelled; a producer passes it to the work it does. */
  signal(agentId: string): AbortSignal | undefined {
    return this.runs.get(agentId)?.abort.signal;
  }

  get(agentId: string): AgentRunState | undefined {
    const run = this.runs.get(agentId);
    return run && { ...run.state };
  }

  list(filter: { ownerId?: string; roomId?: string } = {}): AgentRunState[] {
    return [...this.runs.values()]
      .filter((run) => filter.ownerId === undefined || run.state.ownerId === filter.ownerId)
      .filter((run) => filter.roomId === undefined || run.state.roomId === filter.roomId)
      .map((run) => ({ ...run.state }));
  }

  /**
   * The `lastEventId` from which a subscription replays the whole current run of `agentId`: the
   * id just before the run's first event. Undefined when the run is unknown or its first event
   * is still being published.
   */
  replayPointOf(agentId: string): string | undefined {
    const first = this.runs.get(agentId)?.firstEventId;
    const parsed = first === undefined ? null : parseEventId(first);
    return parsed ? formatEventId(parsed.epoch, Math.max(0, parsed.sequence - 1)) : undefined;
  }

  /**
   * Folds an agent event published by any process into the run's state, so every process knows
   * runs driven elsewhere (and can cancel them), and an in-process producer's signal aborts when
   * another process cancels its run. This process's own events fold to the state `apply` already
   * gave the run (the fold skips what is not newer than the run's last event).
   */
  observe(event: RealtimeEvent): void {
    switch (event.type) {
      case 'agent.started':
      case 'agent.thinking':
      case 'agent.progress':
      case 'agent.complete':
      case 'agent.error':
      case 'agent.cancelled':
      case 'agent.output': {
        if (event.type === 'agent.output') this.outputs.observe(event);
        const before = this.runs.get(event.data.agentId)?.state;
        const run = this.fold(event);
        // Only a cancel that moved the run: a late one of an earlier run leaves the current alone.
        if (event.type === 'agent.cancelled' && run.state !== before) this.abortCancelled(run, event);
        return;
      }
      default:
        return;
    }
  }

  private async apply<T extends AgentEventType>(
    agentId: string,
    type: T,
    userId: string,
    data: AgentEventData<T>,
    senderId: string | undefined,
    authority: EmitAuthority,
  ): Promise<RealtimeEvent<T>> {
    let parsed: EventDataMap[T];
    try {
      // An output's offset is checked and set below; 0 stands in for it while the rest is parsed.
      parsed = parseEventData(type, type === 'agent.output' ? { offset: 0, ...data, agentId } : { ...data, agentId });
    } catch (error) {
      throw toValidationError(type, error);
    }
    const draft = agentDraft<AgentEventType>(type, parsed, { timestamp: new Date(), userId, ...(senderId !== undefined && { senderId }) });
    // The draft is checked and folded synchronously, before anything awaits, so concurrent emits
    // are checked in the order they were made. Every check that can fail comes first, so a
    // rejected event changes nothing.
    this.check(this.runs.get(agentId), draft, authority);
    let release: (() => void) | undefined;
    if (draft.type === 'agent.output') {
      const stated = (data as { offset?: number }).offset;
      const claimed = this.outputs.claim(agentId, draft.data.delta, stated);
      draft.data.offset = claimed.offset;
      release = claimed.release;
    }
    const run = this.fold(draft);
    // A run in a room reaches the room's members as well (room access decides who subscribes there).
    const { roomId } = run.state;
    let event: RealtimeEvent<T>;
    try {
      event = await this.core.publish(type, parsed, [channels.user(userId), channels.agents, ...(roomId === undefined ? [] : [channels.room(roomId)])], {
        userId,
        ...(roomId !== undefined && { roomId }),
        ...(senderId !== undefined && { senderId }),
      });
    } catch (error) {
      release?.();
      throw error;
    }
    if (this.runs.get(agentId) === run) {
      if (run.firstEventId === undefined || isNewerEventId(run.firstEventId, event.id)) run.firstEventId = event.id;
      if (isNewerEventId(event.id, run.state.lastEventId)) run.state = { ...run.state, lastEventId: event.id };
    }
    if (draft.type === 'agent.cancelled') this.abortCancelled(run, draft);
    // A finished run is kept by the process that published its end, with its whole text.
    if (isTerminalAgentStatus(run.state.status) && this.runs.get(agentId) === run) {
      this.core.store.recordFinishedRun({ ...run.state, output: this.outputs.text(agentId) });
    }
    return event;
  }

  /** Whether `event` may follow the run as this process knows it; throws the reason it may not. */
  private check(current: RunRecord | undefined, event: AgentRunEvent, authority: EmitAuthority): void {
    const { agentId } = event.data;
    const run = current?.state;
    const finished = run !== undefined && isTerminalAgentStatus(run.status);
    if (run && run.ownerId !== event.userId && !finished) {
      throw new RealtimeError('FORBIDDEN', `Agent ${agentId} belongs to another user`);
    }
    // The seed's emit_agent_event begins a run with `agent.thinking`; an unknown agent may start so.
    // After a run has ended, only `agent.started` begins the next one.
    const startsRun = event.type === 'agent.started' || ((event.type === 'agent.thinking' || event.type === 'agent.progress') && !run);
    if (startsRun) {
      if (run && !finished) throw new RealtimeError('CONFLICT', `Agent ${agentId} is already running (${run.status})`);
      return;
    }
    if (!run) throw new RealtimeError('PRECONDITION_FAILED', `Agent ${agentId} has no run; emit agent.started first`);
    if (finished) throw new RealtimeError('PRECONDITION_FAILED', `Agent ${agentId} already ended (${run.status}); ${event.type} is out of order`);
    const { producerId } = run;
    if (authority === 'producer' && producerId !== undefined && event.senderId !== undefined && event.senderId !== producerId) {
      throw new RealtimeError('FORBIDDEN', `Agent ${agentId} is driven by producer ${producerId}`);
    }
    if (event.type === 'agent.progress' && event.data.progress < run.progress && event.data.reset !== true) {
      throw new RealtimeError(
        'PRECONDITION_FAILED',
        `Progress of ${agentId} cannot go back from ${run.progress} to ${event.data.progress} (send reset: true to restart the count)`,
      );
    }
  }

  /** Folds an event (published, or a checked draft) into this process's record of the run. */
  private fold(event: AgentRunEvent): RunRecord {
    const { agentId } = event.data;
    const known = this.runs.get(agentId);
    const state = foldAgentRun(known?.state, event);
    if (known && state === known.state) return known;
    if (known && !beginsAgentRun(known.state.status, event.type)) {
      known.state = state;
      if (event.id !== undefined) known.firstEventId ??= event.id;
      return known;
    }
    const run: RunRecord = { state, abort: new AbortController(), ...(event.id !== undefined && { firstEventId: event.id }) };
    this.outputs.reset(agentId);
    // Re-inserted so the map stays ordered by start, and the oldest finished runs go first.
    this.runs.delete(agentId);
    this.runs.set(agentId, run);
    this.forgetOldRuns();
    return run;
  }

  private abortCancelled(run: RunRecord, event: AgentRunEvent<'agent.cancelled'>): void {
    if (run.abort.signal.aborted) return;
    const { agentId, cancelledBy, reason } = event.data;
    run.abort.abort(
      new RealtimeError('PRECONDITION_FAILED', `Agent ${agentId} was cancelled by ${cancelledBy ?? event.senderId ?? 'someone'}${reason ? `: ${reason}` : ''}`),
    );
  }

  private forgetOldRuns(): void {
    const max = this.options.maxRuns ?? 10_000;
    if (this.runs.size <= max) return;
    for (const [agentId, run] of this.runs) {
      if (this.runs.size <= max) break;
      if (isTerminalAgentStatus(run.state.status)) {
        this.runs.delete(agentId);
        this.outputs.reset(agentId);
      }
    }
  }
}

/**
 * The event `apply` is about to publish, as the fold and the checks read it. Called with the
 * union as `K`, so the draft is the union that narrows on `type` (the parse made the pair agree).
 */
function agentDraft<K extends AgentEventType>(
  type: K,
  data: EventDataMap[K],
  envelope: { timestamp: Date; userId: string; senderId?: string },
): AgentRunEvent<K> {
  return { type, data, ...envelope };
}
