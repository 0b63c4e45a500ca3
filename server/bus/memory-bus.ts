/**
 * The embedded bus: one process, history in bounded in-memory logs. Delivery is synchronous
 * within `publish`, queued when a listener publishes from inside a delivery so that order holds.
 */
import { formatEphemeralEventId, formatEventId } from '../../shared/event-id.js';
import type { EventType, RealtimeEvent } from '../../shared/events.js';
import { createListeners, type Listeners } from '../../shared/listeners.js';
import { firehoseChannel } from './channels.js';
import { BoundedLog } from './bounded-log.js';
import { historyDefaults, stampEvent, type BusEvent, type BusHealth, type BusListener, type EventBus, type HistoryRead, type PublishRequest } from './bus.js';
import { HistoryBudget, eventBytes } from './history-budget.js';
import { mergedHistory, resumePoint } from './history-read.js';
import { isMembershipEventType } from './membership-events.js';

export interface MemoryBusOptions {
  /** Events kept per channel for resume. @default 1000 */
  historyPerChannel?: number;
  /** Events kept across all channels (admin history, firehose resume). @default 10000 */
  globalHistory?: number;
  /** Of those, membership changes, kept in a global log of their own. @default 2000 */
  globalMembershipHistory?: number;
  /** Channels whose history is kept; the least recently written is dropped past this. @default 10000 */
  maxChannels?: number;
  /** Bytes (event JSON) kept per channel; the channel's oldest go first. @default 4194304 (4 MiB) */
  historyBytesPerChannel?: number;
  /** Bytes kept across all history, each event counted once; the oldest go first. @default 67108864 (64 MiB) */
  historyBytesTotal?: number;
  /** Fixed epoch, for tests; a fresh one per process otherwise. */
  epoch?: string;
  /** A listener that throws is reported here; delivery to the others goes on. @default console.error */
  onListenerError?: (error: unknown) => void;
}

export class MemoryBus implements EventBus {
  readonly epoch: string;
  private sequence = 0;
  private ephemeralCount = 0;
  private readonly listeners: Listeners<BusEvent>;
  private readonly channelLogs = new Map<string, BoundedLog<BusEvent>>();
  /** Every stored event but membership changes, which `membershipLog` keeps (see historyDefaults.globalMembership). */
  private readonly globalLog: BoundedLog<BusEvent>;
  private readonly membershipLog: BoundedLog<BusEvent>;
  /** Newest sequence held by a channel log that was dropped whole. */
  private droppedChannelsThrough = 0;
  private readonly pending: BusEvent[] = [];
  private delivering = false;
  private readonly historyPerChannel: number;
  private readonly historyBytesPerChannel: number;
  private readonly budget: HistoryBudget;
  private readonly maxChannels: number;

  constructor(options: MemoryBusOptions = {}) {
    this.epoch = options.epoch ?? Date.now().toString(36);
    this.historyPerChannel = options.historyPerChannel ?? historyDefaults.perChannel;
    this.historyBytesPerChannel = options.historyBytesPerChannel ?? historyDefaults.bytesPerChannel;
    this.budget = new HistoryBudget(options.historyBytesTotal ?? historyDefaults.bytesTotal);
    this.maxChannels = options.maxChannels ?? 10_000;
    const globalHistory = options.globalHistory ?? historyDefaults.global;
    this.globalLog = this.newLog(globalHistory, this.budget.maxBytes);
    this.membershipLog = this.newLog(Math.min(globalHistory, options.globalMembershipHistory ?? historyDefaults.globalMembership), this.budget.maxBytes);
    this.listeners = createListeners<BusEvent>({
      onListenerError: options.onListenerError ?? ((error) => console.error('[realtime] bus listener failed', error)),
    });
  }

  async start(): Promise<void> {}

  async publish<T extends EventType>(request: PublishRequest<T>): Promise<RealtimeEvent<T>> {
    return this.publishNow(request);
  }

  /** Synchronous publish: the embedded core uses it where it must not yield (disconnect paths). */
  publishNow<T extends EventType>(request: PublishRequest<T>): RealtimeEvent<T> {
    const sequence = ++this.sequence;
    const event = stampEvent(request, formatEventId(this.epoch, sequence));
    // An exact-size copy of the channel list: history keeps it, and a list built by push or spread
    // reserves room for ~16 more entries, 128 bytes per stored event (issue 17: a join's presence).
    const published: BusEvent = { event: event as RealtimeEvent, channels: request.channels.slice(), sequence };
    this.store(published);
    this.pending.push(published);
    this.drain();
    return event;
  }

  stampEphemeral<T extends EventType>(request: PublishRequest<T>): RealtimeEvent<T> {
    return stampEvent(request, formatEphemeralEventId(this.epoch, this.sequence, (++this.ephemeralCount).toString(36)));
  }

  /** Queued behind the stored events already being delivered, so its sequence means "after those". */
  sendEphemeral(event: RealtimeEvent, channels: readonly string[]): void {
    this.pending.push({ event, channels, sequence: this.sequence, ephemeral: true });
    this.drain();
  }

  subscribe(listener: BusListener): () => void {
    return this.listeners.add(listener);
  }

  async readHistory(channelNames: readonly string[], afterEventId: string, limit: number): Promise<HistoryRead> {
    const start = resumePoint(afterEventId, this.epoch, this.sequence);
    const { afterSequence } = start;
    let gap = start.gap;
    const merged = new Map<number, BusEvent>();
    for (const channel of channelNames) {
      const logs = channel === firehoseChannel ? [this.globalLog, this.membershipLog] : [this.channelLogs.get(channel)];
      for (const log of logs) {
        if (!log) {
          if (afterSequence < this.droppedChannelsThrough) gap ??= 'history_evicted';
          continue;
        }
        if (log.hasGapAfter(afterSequence)) gap ??= 'history_evicted';
        for (const item of log.after(afterSequence)) merged.set(item.sequence, item);
      }
    }
    return mergedHistory(merged, limit, gap);
  }

  async recentHistory(limit: number, predicate?: (event: RealtimeEvent) => boolean): Promise<RealtimeEvent[]> {
    const wanted = predicate && ((item: BusEvent) => predicate(item.event));
    return [...this.globalLog.newest(limit, wanted), ...this.membershipLog.newest(limit, wanted)]
      .sort((a, b) => b.sequence - a.sequence)
      .slice(0, limit)
      .map((item) => item.event);
  }

  headEventId(): string {
    return formatEventId(this.epoch, this.sequence);
  }

  health(): BusHealth {
    return { ready: true };
  }

  async close(): Promise<void> {
    this.listeners.clear();
  }

  /** Bytes the history holds, each event once (for tests and statistics). */
  get historyBytes(): number {
    return this.budget.bytes;
  }

  private newLog(capacity: number, maxBytes: number): BoundedLog<BusEvent> {
    return new BoundedLog<BusEvent>(capacity, {
      maxBytes,
      sizeOf: (item) => this.budget.bytesOf(item.sequence),
      onEvict: (item) => this.budget.release(item.sequence),
    });
  }

  private store(published: BusEvent): void {
    const holders = 1 + published.channels.filter((channel) => channel !== firehoseChannel).length;
    this.budget.add(published, eventBytes(published), holders);
    this.globalLogOf(published).append(published);
    for (const channel of published.channels) {
      let log = this.channelLogs.get(channel);
      if (log) {
        // Re-insert to keep the map ordered by last write, so the stalest channel is dropped first.
        this.channelLogs.delete(channel);
      } else {
        log = this.newLog(this.historyPerChannel, this.historyBytesPerChannel);
        if (this.channelLogs.size >= this.maxChannels) this.dropStalestChannel();
      }
      this.channelLogs.set(channel, log);
      log.append(published);
    }
    this.keepWithinBudget();
  }

  /** Past the total, the oldest event held anywhere leaves every log that holds it. */
  private keepWithinBudget(): void {
    for (let oldest = this.budget.overBudget(); oldest; oldest = this.budget.overBudget()) {
      const globalLog = this.globalLogOf(oldest);
      if (globalLog.oldest === oldest) globalLog.evictOldest();
      for (const channel of oldest.channels) {
        const log = this.channelLogs.get(channel);
        if (log?.oldest === oldest) log.evictOldest();
      }
      // Every log holding it had it first (logs are in sequence order); this only guarantees progress.
      this.budget.forget(oldest.sequence);
    }
  }

  private globalLogOf(published: BusEvent): BoundedLog<BusEvent> {
    return isMembershipEventType(published.event.type) ? this.membershipLog : this.globalLog;
  }

  private dropStalestChannel(): void {
    const stalest = this.channelLogs.entries().next().value;
    if (!stalest) return;
    const [name, log] = stalest;
    this.droppedChannelsThrough = Math.max(this.droppedChannelsThrough, log.newestSequence);
    this.channelLogs.delete(name);
    for (const item of log.retained()) this.budget.release(item.sequence);
  }

  private drain(): void {
    if (this.delivering) return;
    this.delivering = true;
    try {
      for (let published = this.pending.shift(); published; published = this.pending.shift()) this.listeners.emit(published);
    } finally {
      this.delivering = false;
    }
  }
}
