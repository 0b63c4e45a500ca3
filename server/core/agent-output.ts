/**
 * The text of each agent run on this process, and the cursor that gives every subscriber exactly
 * that text (issue 19).
 *
 * Every process folds the `agent.output` events it receives from the bus (before fan-out, so the
 * text here always holds what has been offered to subscribers). A subscriber's cursor knows how
 * much text that subscriber holds; a delta that starts past it (the subscriber joined late, or
 * resumed after history was evicted) goes out as one event carrying everything missing, and a
 * delta it already holds is dropped. Ably's AI Transport compacts appended tokens on rewind the
 * same way. Deltas that need no change go out as the same object, so the transport still encodes
 * each event once for every socket.
 */
import { isAfterResumePoint } from '../../shared/event-id.js';
import type { RealtimeEvent } from '../../shared/events.js';
import { appendOutput } from '../../shared/folds/agent-output.js';
import { RealtimeError } from './errors.js';

type OutputEvent = RealtimeEvent<'agent.output'>;

interface RunText {
  text: string;
  /** UTF-8 bytes of `text` plus deltas accepted here and not yet folded back from the bus. */
  claimedBytes: number;
  /** Length the next accepted delta starts at (counts deltas published but not yet folded). */
  claimedLength: number;
  /** Ids of the folded output events, oldest first, and the text's length after each. */
  ids: string[];
  ends: number[];
}

export interface AgentOutputOptions {
  /** UTF-8 bytes of one run's text; a delta past it is PAYLOAD_TOO_LARGE. @default 1 MiB */
  maxOutputBytes?: number;
}

export class AgentOutputs {
  private readonly runs = new Map<string, RunText>();

  constructor(private readonly options: AgentOutputOptions = {}) {}

  get maxOutputBytes(): number {
    return this.options.maxOutputBytes ?? 1024 * 1024;
  }

  /**
   * Checks a producer's delta and reserves its place: returns the offset it is published at.
   * A stated `offset` that is not the current length is a CONFLICT (a retried or reordered delta).
   */
  claim(agentId: string, delta: string, offset: number | undefined): { offset: number; release: () => void } {
    const run = this.runOf(agentId);
    if (offset !== undefined && offset !== run.claimedLength) {
      throw new RealtimeError('CONFLICT', `Output of ${agentId} is ${run.claimedLength} long; a delta at offset ${offset} does not follow it`);
    }
    const bytes = Buffer.byteLength(delta, 'utf8');
    if (run.claimedBytes + bytes > this.maxOutputBytes) {
      throw new RealtimeError('PAYLOAD_TOO_LARGE', `Output of ${agentId} would pass ${this.maxOutputBytes} bytes (AGENT_OUTPUT_MAX_BYTES)`);
    }
    const at = run.claimedLength;
    run.claimedLength += delta.length;
    run.claimedBytes += bytes;
    return {
      offset: at,
      // A publish that failed gives its place back, if nothing was claimed after it.
      release: () => {
        if (this.runs.get(agentId) === run && run.claimedLength === at + delta.length) {
          run.claimedLength = at;
          run.claimedBytes -= bytes;
        }
      },
    };
  }

  /** A new run of the agent starts with no text. */
  reset(agentId: string): void {
    this.runs.delete(agentId);
  }

  /** Folds a published `agent.output` (from any process) into the run's text. */
  observe(event: OutputEvent): void {
    const run = this.runOf(event.data.agentId);
    const result = appendOutput(run.text, event.data);
    if (result.kind !== 'appended') return;
    const grown = result.text.length - run.text.length;
    run.text = result.text;
    if (run.claimedLength < run.text.length) {
      // Published by another process: its bytes were never claimed here.
      run.claimedBytes += Buffer.byteLength(event.data.delta.slice(event.data.delta.length - grown), 'utf8');
      run.claimedLength = run.text.length;
    }
    run.ids.push(event.id);
    run.ends.push(run.text.length);
  }

  text(agentId: string): string {
    return this.runs.get(agentId)?.text ?? '';
  }

  /** The length of the text a subscriber held when it had seen every event up to `lastEventId`. */
  lengthAt(agentId: string, lastEventId: string): number {
    const run = this.runs.get(agentId);
    if (!run) return 0;
    // The last output event not newer than lastEventId (ids are in bus order).
    let low = 0;
    let high = run.ids.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (isAfterResumePoint(run.ids[middle]!, lastEventId)) high = middle;
      else low = middle + 1;
    }
    return low === 0 ? 0 : run.ends[low - 1]!;
  }

  /** Id of the newest folded output event of the run. */
  lastOutputId(agentId: string): string | undefined {
    const ids = this.runs.get(agentId)?.ids;
    return ids?.[ids.length - 1];
  }

  /**
   * A subscriber's view of the text of each run it hears of. `lastEventId`: where it resumes
   * (what it held then is worked out per run); without it, it holds no text of any run.
   */
  cursor(lastEventId: string | undefined, runs: OutputRuns): OutputCursor {
    return new OutputCursor(this, lastEventId, runs);
  }

  private runOf(agentId: string): RunText {
    let run = this.runs.get(agentId);
    if (!run) this.runs.set(agentId, (run = { text: '', claimedBytes: 0, claimedLength: 0, ids: [], ends: [] }));
    return run;
  }
}

/** The runs whose text a late subscriber is given at once: fixed ids, or read when it catches up. */
export type OutputRuns = readonly string[] | (() => readonly string[]);

/**
 * One subscription's transform (core-subscriptions' EventTransform): `map` for each event,
 * `catchUp` once after any replay. An object rather than closures: one per subscription.
 */
export class OutputCursor {
  /**
   * Text length each run's subscriber holds. Made on the first agent event: most subscriptions
   * (every onRoom of a room without runs) never see one, and a Map is ~0.2 KB each.
   */
  private heldByRun: Map<string, number> | undefined;

  private get held(): Map<string, number> {
    return (this.heldByRun ??= new Map());
  }

  constructor(
    private readonly outputs: AgentOutputs,
    private readonly lastEventId: string | undefined,
    private readonly runs: OutputRuns,
  ) {}

  /** What the subscriber lacks of each of its runs' text, one event per run. */
  catchUp(): OutputEvent[] {
    const agentIds = typeof this.runs === 'function' ? this.runs() : this.runs;
    return agentIds.flatMap((agentId) => this.catchUpRun(agentId) ?? []);
  }

  /**
   * What to deliver for `event`: itself, one event with everything the subscriber lacks up to
   * what this process holds (a replay of many deltas goes out as one), or nothing.
   */
  map(event: RealtimeEvent): RealtimeEvent | undefined {
    if (event.type === 'agent.started') this.held.set(event.data.agentId, 0);
    if (event.type !== 'agent.output') return event;
    const { agentId, delta, offset } = event.data;
    const held = this.heldOf(agentId);
    const end = offset + delta.length;
    if (end <= held) return undefined;
    const text = this.outputs.text(agentId);
    if (offset === held && text.length <= end) {
      // The live case: exactly the next delta, delivered as the same object (encoded once).
      this.held.set(agentId, end);
      return event;
    }
    if (text.length >= end) {
      this.held.set(agentId, text.length);
      return { ...event, data: { agentId, delta: text.slice(held), offset: held } };
    }
    // This process lacks the text too (it started after the run): the delta's part not held.
    this.held.set(agentId, end);
    return offset >= held ? event : { ...event, data: { agentId, delta: delta.slice(held - offset), offset: held } };
  }

  /** The text of `agentId`'s run this subscriber lacks, as one event; undefined when it lacks none. */
  catchUpRun(agentId: string): OutputEvent | undefined {
    const text = this.outputs.text(agentId);
    const held = this.heldOf(agentId);
    const id = this.outputs.lastOutputId(agentId);
    if (text.length <= held || id === undefined) return undefined;
    this.held.set(agentId, text.length);
    return { id, type: 'agent.output', data: { agentId, delta: text.slice(held), offset: held }, timestamp: new Date() };
  }

  private heldOf(agentId: string): number {
    let held = this.held.get(agentId);
    if (held === undefined) {
      held = this.lastEventId === undefined ? 0 : this.outputs.lengthAt(agentId, this.lastEventId);
      this.held.set(agentId, held);
    }
    return held;
  }
}
