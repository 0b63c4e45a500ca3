/**
 * The Redis bus: many processes act as one service. Publishing is one Lua call that appends the
 * event to the global stream (whose entry id is its cluster-wide sequence) and to each channel's
 * stream (both bounded with MAXLEN), and PUBLISHes it: 4 commands for one channel; every process's subscriber hands each message to the
 * core once, in sequence order. When the subscriber was cut off, it catches up from the global
 * stream before delivering live messages again, so a Redis blip loses nothing that history holds.
 *
 * Bus failures are reported, never thrown into callbacks; a publish that cannot reach Redis
 * rejects with SERVICE_UNAVAILABLE instead of being dropped.
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import superjson from 'superjson';
import type { EventType, RealtimeEvent } from '../../shared/events.js';
import { channels as channelNames, roomMembersChannelPrefix } from './channels.js';
import { RealtimeError } from '../errors.js';
import { formatEphemeralEventId } from '../../shared/event-id.js';
import { historyDefaults, stampEvent, type BusEvent, type BusHealth, type BusListener, type EventBus, type HistoryRead, type PublishRequest } from './bus.js';
import { readRecent, readStreams, type RedisHistorySource } from './redis-history.js';
import { SequenceWaiters } from './sequence-waiters.js';
import { decodeMessage, globalMessage, sequenceOfStreamId, streamIdOf, type Envelope, type StreamEntry, type WireMessage } from './redis-wire.js';
import { TtlRefreshes } from './ttl-refreshes.js';
import { publishScript } from './redis-scripts.js';
import { RedisBusLink } from './redis-bus-link.js';
import { createListeners } from '../../shared/listeners.js';
import type { EventPart, RedisBusOptions } from './redis-bus-options.js';

export { redisConnectionOptions, type EventPart, type RedisBusOptions } from './redis-bus-options.js';

export class RedisBus implements EventBus {
  readonly prefix: string;
  /** The commands connection; other Redis-backed parts of the service share it. */
  readonly redis: Redis;
  private readonly subscriber: Redis;
  private readonly link: RedisBusLink;
  private readonly publishCommandName: string;
  private readonly listeners = createListeners<BusEvent>({ onListenerError: (error) => this.reportError(error, 'bus listener failed') });
  private readonly resubscribedListeners = createListeners<{ dataLost: boolean }>();
  private readonly historyPerChannel: number;
  private readonly globalHistory: number;
  private readonly historyTtlSeconds: number;
  /**
   * Added to Redis sequences to make the sequences this process hands out monotonic even when
   * Redis loses its data and the cluster's sequence starts again under a new epoch.
   */
  private sequenceOffset = 0;
  private lastLocalSequence = 0;
  private readonly reportError: (error: unknown, context: string) => void;
  /** Makes ephemeral ids unique to this process (see stampEphemeral). */
  private readonly nonce = randomBytes(3).toString('hex');
  private ephemeralCount = 0;
  private lastSequence = 0;
  /** Live messages held while catching up after the subscriber reconnected. */
  private catchingUp: WireMessage[] | undefined;
  private catchingUpRunning = false;
  private subscribed = false;
  /** Set once start() subscribed: from then on a reconnect resubscribes. */
  private started = false;
  /** Callers waiting until this process has delivered a sequence (see `delivered`). */
  private readonly deliveryWaiters = new SequenceWaiters();
  private closed = false;
  private readonly history: RedisHistorySource;
  private readonly ttlRefreshes: TtlRefreshes;
  /**
   * The epoch of this process's last publish: its next publish names it (publishFunction), so
   * after an epoch change it takes the steady path before the change's message has arrived.
   */
  private publishEpoch = '';
  /** Set when the epoch changed: the next decoded sequence decides the offset (see noteEpoch). */
  private rebasePending = false;
  epoch = '';

  constructor(options: RedisBusOptions) {
    this.prefix = options.prefix ?? 'rt';
    this.historyPerChannel = options.historyPerChannel ?? historyDefaults.perChannel;
    this.globalHistory = options.globalHistory ?? historyDefaults.global;
    this.historyTtlSeconds = options.historyTtlSeconds ?? 86_400;
    this.reportError = options.onError ?? ((error, context) => console.error(`[realtime] ${context}`, error));
    this.link = new RedisBusLink(options, this.key('events'), this.reportError);
    this.redis = this.link.commands;
    this.subscriber = this.link.subscriber;
    this.publishCommandName = this.link.defineScript('realtimePublish', publishScript);
    this.history = {
      redis: this.redis,
      key: (name) => this.key(name),
      decode: (message) => this.decode(message),
      epoch: () => this.epoch,
      historyTtlMs: this.historyTtlSeconds * 1000,
    };
    this.ttlRefreshes = new TtlRefreshes(this.historyTtlSeconds * 1000);
  }

  async start(): Promise<void> {
    await this.link.connect();
    // The sequence is read before subscribing, and live messages are held until what was
    // published in between has been read from the global stream (sequences are not contiguous,
    // so a live message cannot tell that one is missing).
    this.epoch = (await this.redis.get(this.key('epoch'))) ?? '';
    const newest = (await this.redis.xrevrange(this.key(`all:${this.epoch}`), '+', '-', 'COUNT', 1))[0];
    this.lastSequence = newest ? sequenceOfStreamId(newest[0]) : 0;
    this.link.onMessage((message) => this.onMessage(message));
    this.subscriber.on('ready', () => void this.resubscribe());
    this.catchingUp = [];
    await this.link.listen();
    this.subscribed = true;
    this.started = true;
    await this.catchUp();
  }

  /**
   * After the subscriber reconnects: subscribe again, then catch up from the global stream, and
   * only then call the bus ready, so nothing published around the reconnect is missed.
   */
  private async resubscribe(knownEpoch = this.epoch): Promise<void> {
    if (this.closed || !this.started) return;
    this.subscribed = false;
    // knownEpoch, the epoch from before the disconnect, is read before subscribing, because once
    // subscribed a message from a process that already restored its state carries the new epoch,
    // and this process would then think nothing was lost and not restore its own.
    // Live messages wait until the catch-up has delivered what came before them.
    this.catchingUp ??= [];
    try {
      await this.link.listen();
      this.subscribed = true;
      await this.link.commandsReady(() => this.closed);
      const currentEpoch = await this.redis.get(this.key('epoch'));
      await this.catchUp();
      // No epoch, or another one: Redis restarted without its data (or was flushed).
      const dataLost = knownEpoch !== '' && currentEpoch !== knownEpoch;
      this.resubscribedListeners.emit({ dataLost });
    } catch (error) {
      // A node that has just come back may answer CLUSTERDOWN (or LOADING) until it has rejoined:
      // try again, or this bus would hold live messages forever and never be ready.
      this.reportError(error, 'resubscribing after a redis reconnect');
      setTimeout(() => void this.resubscribe(knownEpoch), 500).unref();
    }
  }

  /** Called after every reconnect, once caught up; `dataLost` when Redis came back without its data. */
  onResubscribed(listener: (info: { dataLost: boolean }) => void): () => void {
    return this.resubscribedListeners.add(listener);
  }

  async publish<T extends EventType>(request: PublishRequest<T>, part?: EventPart): Promise<RealtimeEvent<T>> {
    const envelope: Envelope = { type: request.type, data: request.data } as Envelope;
    if (part) {
      if (part.eventId !== undefined) envelope.o = part.eventId;
      envelope.n = part.parts;
    }
    if (request.roomId !== undefined) envelope.roomId = request.roomId;
    if (request.userId !== undefined) envelope.userId = request.userId;
    if (request.senderId !== undefined) envelope.senderId = request.senderId;
    const stored = part?.storedData === undefined ? '' : JSON.stringify(superjson.serialize({ ...envelope, data: part.storedData }));
    let message: string;
    try {
      message = (await this.link.callScript(this.publishCommandName, [
        this.prefix,
        this.historyPerChannel,
        this.globalHistory,
        this.historyTtlSeconds,
        this.publishEpoch || this.epoch,
        Date.now(),
        JSON.stringify(superjson.serialize(envelope)),
        JSON.stringify(request.channels),
        this.ttlRefreshes.due(request.channels),
        stored,
        ...request.channels,
      ])) as string;
    } catch (cause) {
      throw new RealtimeError('SERVICE_UNAVAILABLE', 'The event bus (Redis) is unavailable; the event was not published', { cause });
    }
    const published = JSON.parse(message) as WireMessage;
    this.publishEpoch = published.id.slice(0, published.id.lastIndexOf('-'));
    return this.decode(published).event as RealtimeEvent<T>;
  }

  stampEphemeral<T extends EventType>(request: PublishRequest<T>): RealtimeEvent<T> {
    // The nonce: ids from two processes reach one client, which drops an id it has seen.
    return stampEvent(request, formatEphemeralEventId(this.epoch, this.lastSequence, `${(++this.ephemeralCount).toString(36)}${this.nonce}`));
  }

  /** One PUBLISH on the events channel: no Lua, no stream entry, no sequence (the cheapest path). */
  sendEphemeral(event: RealtimeEvent, channels: readonly string[]): void {
    const { id, timestamp, ...envelope } = event;
    const message: WireMessage = { id, seq: this.lastSequence, ts: timestamp.getTime(), ch: [...channels], e: superjson.serialize(envelope), x: 1 };
    this.link.publish(JSON.stringify(message)).catch((error: unknown) => this.reportError(error, 'publishing an ephemeral event'));
  }

  subscribe(listener: BusListener): () => void {
    return this.listeners.add(listener);
  }

  readHistory(channels: readonly string[], afterEventId: string, limit: number): Promise<HistoryRead> {
    return readStreams(this.history, channels, afterEventId, limit);
  }

  recentHistory(limit: number, predicate?: (event: RealtimeEvent) => boolean): Promise<RealtimeEvent[]> {
    return readRecent(this.history, limit, predicate);
  }

  headEventId(): string | undefined {
    return this.epoch === '' ? undefined : `${this.epoch}-${this.lastSequence}`;
  }

  health(): BusHealth {
    if (this.redis.status !== 'ready') return { ready: false, reason: `redis connection is ${this.redis.status}` };
    if (this.subscriber.status !== 'ready' || !this.subscribed) return { ready: false, reason: `redis subscriber is ${this.subscriber.status}` };
    if (this.catchingUp) return { ready: false, reason: 'catching up after a redis reconnect' };
    return { ready: true };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.listeners.clear();
    await this.link.close();
  }

  /**
   * Resolves once this process has handed the event with this (Redis) sequence to its
   * listeners, so a caller reads its own write; after `timeoutMs` it resolves anyway.
   */
  delivered(sequence: number, timeoutMs = 2_000): Promise<void> {
    if (sequence <= this.lastSequence) return Promise.resolve();
    return this.deliveryWaiters.wait(sequence, timeoutMs);
  }

  /**
   * Runs a script that publishes (the cluster's membership scripts): defined on first use, and
   * called with the arguments every such script takes first (see cluster/membership-prelude): prefix,
   * history bounds, the epoch this process knows (see publishFunction), the time, and the channel names a membership change
   * goes to (a room's membership channel prefix, the presence channel), so the scripts never spell a name.
   */
  runScript(name: string, lua: string, args: ReadonlyArray<string | number>): Promise<unknown> {
    const command = this.link.defineScript(name, lua);
    const common = [this.prefix, this.historyPerChannel, this.globalHistory, this.historyTtlSeconds, this.publishEpoch || this.epoch, Date.now()];
    return this.link.callScript(command, [...common, roomMembersChannelPrefix, channelNames.presence, ...args]);
  }

  /** A key in this service's namespace. */
  key(name: string): string {
    return `${this.prefix}:${name}`;
  }

  private onMessage(raw: string): void {
    let message: WireMessage;
    try {
      message = JSON.parse(raw) as WireMessage;
    } catch (error) {
      this.reportError(error, 'malformed bus message');
      return;
    }
    if (message.x === 1) {
      // Stale by the time a catch-up ends: dropped, as a volatile emit would be.
      if (!this.catchingUp) this.deliverEphemeral(message);
      return;
    }
    this.noteEpoch(message.id.slice(0, message.id.lastIndexOf('-')));
    if (this.catchingUp) this.catchingUp.push(message);
    else this.deliver(message);
  }

  /**
   * When Redis lost its data (restarted without persistence, flushed), a new history begins
   * under a new epoch; subscribers resuming from the old epoch are told of the gap by readHistory.
   */
  private noteEpoch(epoch: string): void {
    if (epoch === this.epoch) return;
    this.epoch = epoch;
    this.lastSequence = 0;
    // Sequences come from Redis's clock, so a new epoch's usually continue above the old ones;
    // should the clock have gone back, the offset keeps this process's sequences increasing.
    this.rebasePending = true;
    this.deliveryWaiters.releaseAll();
  }

  /**
   * Delivers from the global stream everything after the last delivered sequence, then the live
   * messages that arrived meanwhile. Runs after a reconnect and whenever a gap is seen.
   */
  private async catchUp(): Promise<void> {
    if (this.closed || !this.subscribed) return;
    if (this.catchingUp && this.catchingUpRunning) return;
    this.catchingUp ??= [];
    this.catchingUpRunning = true;
    try {
      const epoch = await this.redis.get(this.key('epoch'));
      if (epoch) this.noteEpoch(epoch);
      for (let page = 0; page < 100; page++) {
        const epoch = this.epoch;
        const entries = (await this.redis.xrange(this.key(`all:${epoch}`), `(${streamIdOf(this.lastSequence)}`, '+', 'COUNT', 1000)) as StreamEntry[];
        for (const entry of entries) this.deliver(globalMessage(epoch, entry));
        if (entries.length < 1000) break;
      }
    } catch (error) {
      // Keep holding live messages (delivering them now would skip the gap) and try again.
      this.reportError(error, 'catching up from the global stream');
      this.catchingUpRunning = false;
      setTimeout(() => void this.catchUp(), 500).unref();
      return;
    }
    const held = (this.catchingUp ?? []).sort((a, b) => a.seq - b.seq);
    this.catchingUp = undefined;
    this.catchingUpRunning = false;
    for (const message of held) this.deliver(message);
  }

  private deliver(message: WireMessage): void {
    if (message.seq <= this.lastSequence) return;
    this.lastSequence = message.seq;
    const published = this.decode(message);
    this.lastLocalSequence = published.sequence;
    this.deliveryWaiters.reached(message.seq);
    this.listeners.emit(published);
  }

  private deliverEphemeral(message: WireMessage): void {
    let published: BusEvent;
    try {
      const decoded = decodeMessage(message, 0);
      // Its place among stored events is where this process is now: after everything delivered.
      published = { ...decoded, sequence: this.sequenceOffset + this.lastSequence, ephemeral: true };
    } catch (error) {
      this.reportError(error, 'malformed ephemeral bus message');
      return;
    }
    this.listeners.emit(published);
  }

  private decode(message: WireMessage): BusEvent {
    if (this.rebasePending) {
      this.rebasePending = false;
      this.sequenceOffset = Math.max(0, this.lastLocalSequence + 1 - message.seq);
    }
    return decodeMessage(message, this.sequenceOffset);
  }
}
