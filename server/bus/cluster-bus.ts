/**
 * The bus on a Redis Cluster (`REDIS_CLUSTER_URLS`): P partitions (bus/cluster-partitions), each
 * a RedisBus of its own over one hash tag, so its epoch, sequence, global stream and channel
 * streams live in one slot, its publish script appends and SPUBLISHes on that slot's node, and
 * every process SSUBSCRIBEs to its shard channel and catches up from its stream after a blip.
 * There is no global sequence: order is per partition (so per channel), not across channels.
 *
 * An event to channels of several partitions is published once per partition, each part with
 * the event's one id (a subscriber that hears two parts delivers one; see core/fanout). Parts are
 * published one after another, not atomically: if a later part's shard is down the publish fails
 * with SERVICE_UNAVAILABLE after the earlier parts went out.
 *
 * Resuming needs a position per partition: the tracked ids of a subscription's events are
 * cursors (bus/resume-cursors). The connections go straight to the node of each partition's slot
 * (one commands and one subscriber connection per node, shared by its partitions); slots are read
 * once at start, so a cluster resharded while running needs its processes restarted.
 */
import { Cluster, Redis } from 'ioredis';
import calculateSlot from 'cluster-key-slot';
import type { EventType, RealtimeEvent } from '../../shared/events.js';
import { createListeners } from '../../shared/listeners.js';
import { formatEventId, parseEventId } from '../../shared/event-id.js';
import { firehoseChannel } from './channels.js';
import { historyDefaults, type BusEvent, type BusHealth, type EventBus, type GapReason, type HistoryRead, type PublishRequest } from './bus.js';
import { ClusterPartitions, partitionKey } from './cluster-partitions.js';
import { RedisBus, redisConnectionOptions } from './redis-bus.js';
import { hostAndPort, readSlotOwners } from './cluster-topology.js';
import { DeliveredPositions, formatCursor, parseCursor, positionOf, type ResumeCursors, type SubscriptionCursor } from './resume-cursors.js';

export interface ClusterBusOptions {
  /** Seed nodes, `host:port` or `redis://host:port`. */
  nodes: readonly string[];
  /** @default 'rt' */
  prefix?: string;
  /** @default 12 */
  partitions?: number;
  historyPerChannel?: number;
  globalHistory?: number;
  historyTtlSeconds?: number;
  onError?: (error: unknown, context: string) => void;
}

type ShardHealth = NonNullable<BusHealth['shards']>[number];

/** How far back `from` reads the other partitions: more than the clocks of a cluster's hosts may differ by. */
const clockSkewMarginMs = 100;

interface NodeConnections {
  commands: Redis;
  subscriber: Redis;
}

export class ClusterBus implements EventBus, ResumeCursors {
  readonly partitions: ClusterPartitions;
  readonly prefix: string;
  private readonly reportError: (error: unknown, context: string) => void;
  private readonly listeners = createListeners<BusEvent>({ onListenerError: (error) => this.reportError(error, 'bus listener failed') });
  private readonly connections = new Map<string, NodeConnections>();
  private buses: RedisBus[] = [];
  private nodeOfPartition: string[] = [];
  /** Each partition's position after the last event this process delivered from it. */
  private heads!: DeliveredPositions;
  private localSequence = 0;
  private readonly everyPartition: number[];
  /**
   * A Cluster client for the service's single-key state (decision claims, idempotency keys,
   * rate-limit leases): each command names one key, routed to that key's node, so that state is
   * spread over the shards by its own keys.
   */
  readonly keys: Cluster;

  constructor(private readonly options: ClusterBusOptions) {
    this.prefix = options.prefix ?? 'rt';
    this.partitions = new ClusterPartitions(options.partitions);
    this.everyPartition = Array.from({ length: this.partitions.count }, (_, partition) => partition);
    this.reportError = options.onError ?? ((error, context) => console.error(`[realtime] ${context}`, error));
    this.keys = new Cluster(
      options.nodes.map((node) => {
        const [host, port] = hostAndPort(node);
        return { host, port };
      }),
      { lazyConnect: true, clusterRetryStrategy: (attempt) => Math.min(100 * attempt, 2_000), redisOptions: { maxRetriesPerRequest: 1 } },
    );
    this.keys.on('error', (error) => this.reportError(error, 'redis cluster'));
  }

  get cursors(): ResumeCursors {
    return this;
  }

  /** Each partition's own bus, once started: the cluster's membership scripts run on them (cluster/redis-membership). */
  get partitionBuses(): readonly RedisBus[] {
    return this.buses;
  }

  get epoch(): string {
    return this.buses.map((bus) => bus.epoch).join(',');
  }

  async start(): Promise<void> {
    const slotOwners = await readSlotOwners(this.options.nodes);
    await this.keys.connect();
    this.nodeOfPartition = this.everyPartition.map((partition) => {
      const slot = calculateSlot(partitionKey(this.prefix, this.partitions, partition));
      const owner = slotOwners.find(([low, high]) => slot >= low && slot <= high);
      if (!owner) throw new Error(`no node of the Redis Cluster serves slot ${slot} (partition ${partition})`);
      return owner[2];
    });
    for (const node of new Set(this.nodeOfPartition)) this.connections.set(node, this.connect(node));
    await Promise.all([...this.connections.values()].flatMap(({ commands, subscriber }) => [commands.connect(), subscriber.connect()]));
    this.buses = this.everyPartition.map((partition) => {
      const { commands, subscriber } = this.connections.get(this.nodeOfPartition[partition]!)!;
      return new RedisBus({
        url: this.nodeOfPartition[partition]!,
        prefix: this.partitions.prefixOf(this.prefix, partition),
        historyPerChannel: this.options.historyPerChannel ?? historyDefaults.perChannel,
        // The global history is shared out: each partition keeps its part of it.
        globalHistory: Math.max(100, Math.ceil((this.options.globalHistory ?? historyDefaults.global) / this.partitions.count)),
        ...(this.options.historyTtlSeconds !== undefined && { historyTtlSeconds: this.options.historyTtlSeconds }),
        onError: this.reportError,
        shared: { commands, subscriber, dialect: { publishCommand: 'SPUBLISH', epochSuffix: this.partitions.epochSuffix(partition) } },
      });
    });
    this.heads = new DeliveredPositions(
      this.everyPartition.map((partition) => this.beforeHistory(partition)),
      (id) => this.partitions.partitionOfId(id),
    );
    this.buses.forEach((bus, partition) => bus.subscribe((published) => this.onPartitionEvent(partition, published)));
    await Promise.all(this.buses.map((bus) => bus.start()));
    this.buses.forEach((bus, partition) => {
      const head = bus.headEventId();
      if (head !== undefined && this.heads.get(partition) === this.beforeHistory(partition)) this.heads.delivered(partition, head);
    });
  }

  /**
   * The position of a partition that had no history yet (no epoch): a cursor naming it resumes
   * from the partition's first event, whatever epoch that came under.
   */
  private beforeHistory(partition: number): string {
    return `${this.partitions.epochSuffix(partition)}-0`;
  }

  private connect(node: string): NodeConnections {
    const [host, port] = hostAndPort(node);
    const commands = new Redis({ host, port, ...redisConnectionOptions('commands') });
    const subscriber = new Redis({ host, port, ...redisConnectionOptions('subscriber') });
    commands.on('error', (error) => this.reportError(error, `redis ${node}`));
    subscriber.on('error', (error) => this.reportError(error, `redis subscriber ${node}`));
    return { commands, subscriber };
  }

  private onPartitionEvent(partition: number, published: BusEvent): void {
    if (published.ephemeral) {
      this.listeners.emit({ ...published, sequence: this.localSequence, partition });
      return;
    }
    const position = positionOf(published);
    this.heads.delivered(partition, position);
    this.listeners.emit({
      event: published.event,
      channels: published.channels,
      sequence: ++this.localSequence,
      partition,
      position,
      ...(published.parts !== undefined && { parts: published.parts }),
    });
  }

  /**
   * The channels of a request grouped by partition, in partition order. `heard`: for hearing or
   * reading them, where a spread channel (operators' presence) is in every partition.
   */
  private byPartition(channels: readonly string[], heard = false): Map<number, string[]> {
    const groups = new Map<number, string[]>();
    const add = (partition: number, channel: string) => {
      const group = groups.get(partition);
      if (group) group.push(channel);
      else groups.set(partition, [channel]);
    };
    for (const channel of channels) {
      if (heard && this.partitions.isSpread(channel)) for (const partition of this.everyPartition) add(partition, channel);
      else add(this.partitions.partitionOf(channel), channel);
    }
    return new Map([...groups].sort(([a], [b]) => a - b));
  }

  async publish<T extends EventType>(request: PublishRequest<T>): Promise<RealtimeEvent<T>> {
    const groups = [...this.byPartition(request.channels)];
    if (groups.length <= 1) {
      const [partition, channels] = groups[0] ?? [0, []];
      return this.buses[partition]!.publish({ ...request, channels });
    }
    const [[firstPartition, firstChannels], ...rest] = groups as [[number, string[]], ...Array<[number, string[]]>];
    const first = await this.buses[firstPartition]!.publish({ ...request, channels: firstChannels }, { parts: groups.length });
    for (const [partition, channels] of rest) {
      await this.buses[partition]!.publish({ ...request, channels }, { eventId: first.id, parts: groups.length });
    }
    return first;
  }

  stampEphemeral<T extends EventType>(request: PublishRequest<T>): RealtimeEvent<T> {
    return this.buses[this.partitions.partitionOf(request.channels[0] ?? '')]!.stampEphemeral(request);
  }

  sendEphemeral(event: RealtimeEvent, channels: readonly string[]): void {
    for (const [partition, group] of this.byPartition(channels)) this.buses[partition]!.sendEphemeral(event, group);
  }

  subscribe(listener: (published: BusEvent) => void): () => void {
    return this.listeners.add(listener);
  }

  /**
   * What a subscription on `channels` missed after the cursor (or single event id)
   * `afterEventId`: each partition read from its own position, merged oldest first by time. A
   * partition the cursor does not name cannot be resumed: that is a gap (`unknown_event_id`).
   */
  async readHistory(channels: readonly string[], afterEventId: string, limit: number): Promise<HistoryRead> {
    const positions = parseCursor(afterEventId, (position) => this.partitions.partitionOfId(position));
    const groups = channels.includes(firehoseChannel)
      ? new Map(this.everyPartition.map((partition) => [partition, [firehoseChannel]]))
      : this.byPartition(channels, true);
    // An id that names none of the partitions: one of an earlier deployment (one Redis, or
    // another prefix), whose history is not here.
    let gap: GapReason | undefined = positions.size > 0 ? undefined : parseEventId(afterEventId) ? 'service_restarted' : 'unknown_event_id';
    const reads = await Promise.all(
      [...groups].map(async ([partition, group]) => {
        const position = positions.get(partition);
        if (position === undefined) {
          gap ??= 'unknown_event_id';
          return [];
        }
        const bus = this.buses[partition]!;
        // A partition that had no history when the cursor was made: from its first event.
        const from = position === this.beforeHistory(partition) ? (bus.epoch === '' ? undefined : formatEventId(bus.epoch, 0)) : position;
        if (from === undefined) return [];
        const read = await bus.readHistory(group, from, limit);
        if (read.gap) gap ??= read.gap;
        return read.events.map((published) => ({ ...published, partition, position: positionOf(published), sequence: 0 }));
      }),
    );
    const seen = new Set<string>();
    let events = reads
      .flat()
      .sort((a, b) => a.event.timestamp.getTime() - b.event.timestamp.getTime())
      .filter((published) => !seen.has(published.event.id) && seen.add(published.event.id));
    if (events.length > limit) {
      events = events.slice(events.length - limit);
      gap ??= 'history_evicted';
    }
    return gap === undefined ? { events } : { events, gap };
  }

  /** Newest first, across every partition's part of the global history. */
  async recentHistory(limit: number, predicate?: (event: RealtimeEvent) => boolean): Promise<RealtimeEvent[]> {
    const reads = await Promise.all(this.buses.map((bus) => bus.recentHistory(limit, predicate)));
    const seen = new Set<string>();
    return reads
      .flat()
      .sort((a, b) => b.timestamp.getTime() - a.timestamp.getTime())
      .filter((event) => !seen.has(event.id) && seen.add(event.id))
      .slice(0, limit);
  }

  /** A cursor naming every partition: where a subscription opened now would start. */
  headEventId(): string | undefined {
    return this.heads.head();
  }

  forSubscription(channels: readonly string[] | undefined, lastEventId: string | undefined): SubscriptionCursor {
    const listened = channels === undefined || channels.includes(firehoseChannel) ? this.everyPartition : [...this.byPartition(channels, true).keys()];
    return this.heads.forSubscription(listened, lastEventId);
  }

  from(position: string): string {
    const own = this.partitions.partitionOfId(position);
    const parsed = parseEventId(position);
    if (own === undefined || !parsed) return position;
    const before = (Math.floor(parsed.sequence / 1000) - clockSkewMarginMs) * 1000;
    return formatCursor(
      this.everyPartition.map((partition) => {
        if (partition === own) return position;
        const epoch = this.buses[partition]!.epoch;
        return epoch === '' ? this.heads.get(partition) : formatEventId(epoch, Math.max(0, before));
      }),
    );
  }

  /** Ready when every partition's node is: a shard that is down makes the processes unready, naming it. */
  health(): BusHealth {
    const shards = [...this.connections.keys()].map((node): ShardHealth => {
      const partitions = this.everyPartition.filter((partition) => this.nodeOfPartition[partition] === node);
      const unready = partitions.map((partition) => this.buses[partition]!.health()).find((health) => !health.ready);
      return { node, ready: !unready, partitions, ...(unready?.reason !== undefined && { reason: unready.reason }) };
    });
    const down = shards.filter((shard) => !shard.ready);
    if (down.length === 0) return { ready: true, shards };
    return { ready: false, reason: down.map((shard) => `${shard.node} (partitions ${shard.partitions.join(', ')}): ${shard.reason ?? 'unavailable'}`).join('; '), shards };
  }

  async close(): Promise<void> {
    this.listeners.clear();
    await Promise.allSettled(this.buses.map((bus) => bus.close()));
    await Promise.allSettled([this.keys.quit(), ...[...this.connections.values()].flatMap(({ commands, subscriber }) => [commands.quit(), subscriber.quit()])]);
    this.keys.disconnect();
    for (const { commands, subscriber } of this.connections.values()) {
      commands.disconnect();
      subscriber.disconnect();
    }
  }
}
