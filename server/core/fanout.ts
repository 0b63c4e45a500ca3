/**
 * The subscription index and the fan-out over it: channel → subscribers connected to this
 * process. One published event is offered to each matching subscriber once; a subscriber that
 * already saw a sequence (through another channel, or in its replay) skips it, which is what
 * makes resume and overlapping channels exactly-once.
 */
import type { EventType, RealtimeEvent } from '../../shared/events.js';
import type { BusEvent } from '../bus/bus.js';
import { channels, firehoseChannel, roomIdOfChannel } from './channels.js';
import type { PartitionedDelivery } from './partitioned-delivery.js';

const roomChannel = channels.room;

/** `cursor`: on a partitioned bus, the tracked id the event goes out with (bus/resume-cursors); else the event's id is. */
export type EventSink = (event: RealtimeEvent, cursor?: string) => void;

export interface SubscriberOptions {
  connectionId: string;
  /** Static channels this subscriber listens on. */
  channels: readonly string[];
  /** Also receive events of every room this user is a member of, as memberships change. */
  followRoomsOf?: string;
  /** Which of those followed rooms it may hear (room access). @default every one */
  followsRoom?: (roomId: string) => boolean;
  types?: ReadonlySet<EventType>;
  accept?: (event: RealtimeEvent) => boolean;
  /** Rewrites or drops an accepted event before it reaches the sink (an agent output cursor). */
  transform?: EventMapper;
  sink: EventSink;
  /** Live events held while a replay is being read; past it the subscriber is told of a gap. @default 10000 */
  maxBufferedWhileReplaying?: number;
  /** On a partitioned bus only. */
  partitioned?: PartitionedDelivery;
}

/** An object, not a closure: one per subscription, and most subscriptions keep it for their life. */
export interface EventMapper {
  map(event: RealtimeEvent): RealtimeEvent | undefined;
}

type SubscriberState = 'replaying' | 'live' | 'closed';

export class Subscriber {
  readonly connectionId: string;
  readonly channels: readonly string[];
  readonly followRoomsOf: string | undefined;
  private state: SubscriberState = 'live';
  private lastSequence = 0;
  /** Live events that arrived during a replay; made by the first (most subscriptions never replay; issue 17). */
  private held: BusEvent[] | undefined;
  /** Membership batches that arrived during a replay, delivered after it (see offerBatch). */
  private heldBatches: RealtimeEvent[] | undefined;
  private heldOverflow = false;
  /** The last ephemeral event delivered: one reaching it through two channels is sent once. */
  private lastEphemeral: BusEvent | undefined;
  private readonly options: SubscriberOptions;

  constructor(options: SubscriberOptions) {
    this.options = options;
    this.connectionId = options.connectionId;
    this.channels = options.channels;
    this.followRoomsOf = options.followRoomsOf;
  }

  get isClosed(): boolean {
    return this.state === 'closed';
  }

  /** Hold live events until `finishReplay`, so a replay read asynchronously cannot interleave. */
  beginReplay(): void {
    if (this.state === 'live') this.state = 'replaying';
  }

  /**
   * Deliver the replayed events, then whatever arrived live meanwhile, each once and in order.
   * Returns false when more arrived during the replay than could be held (a gap the caller reports).
   * `delivered`: ids already given to the sink another way (a rewind from the durable store), skipped.
   */
  finishReplay(replayed: readonly BusEvent[], delivered?: ReadonlySet<string>): boolean {
    if (this.state !== 'replaying') return true;
    this.state = 'live';
    const partitioned = this.options.partitioned;
    partitioned?.beginCatchUp();
    for (const item of replayed) this.deliver(item, true);
    const held = this.held ?? [];
    const overflowed = this.heldOverflow;
    this.held = undefined;
    this.heldOverflow = false;
    for (const item of held) if (!delivered?.has(item.event.id)) this.deliver(item);
    partitioned?.endCatchUp();
    const batches = this.heldBatches ?? [];
    this.heldBatches = undefined;
    for (const event of batches) this.sinkIfWanted(event, partitioned?.current());
    return !overflowed;
  }

  offer(published: BusEvent): void {
    if (published.ephemeral) {
      // Live only: a replaying subscriber would get it after older stored events; it is stale then.
      if (this.state === 'live' && published !== this.lastEphemeral) {
        this.lastEphemeral = published;
        this.sinkIfWanted(published.event, this.options.partitioned?.current());
      }
      return;
    }
    if (this.state === 'live') this.deliver(published);
    else if (this.state === 'replaying') {
      if ((this.held?.length ?? 0) < (this.options.maxBufferedWhileReplaying ?? 10_000)) (this.held ??= []).push(published);
      else this.heldOverflow = true;
    }
  }

  /**
   * A room's membership batch (core/membership-batcher). It has no sequence of its own and lists
   * changes already counted in this subscriber's sequence, so it never moves or is skipped by it;
   * during a replay it is held, not dropped: its changes may be newer than the replay read.
   */
  offerBatch(event: RealtimeEvent): void {
    if (this.state === 'live') this.sinkIfWanted(event, this.options.partitioned?.current());
    else if (this.state === 'replaying' && (this.heldBatches?.length ?? 0) < (this.options.maxBufferedWhileReplaying ?? 10_000)) {
      (this.heldBatches ??= []).push(event);
    }
  }

  /** Whether events of a followed room reach this subscriber (a member may have lost access to it). */
  follows(roomId: string): boolean {
    return this.options.followsRoom?.(roomId) ?? true;
  }

  /** Deliver an event outside the bus (a gap notice); it does not move the sequence. */
  deliverDirect(event: RealtimeEvent): void {
    if (this.state === 'live' && this.options.partitioned) this.options.sink(event, this.options.partitioned.current());
    else if (this.state !== 'closed') this.options.sink(event);
  }

  close(): void {
    this.state = 'closed';
    this.held = undefined;
    this.heldBatches = undefined;
  }

  /** `replayed`: read from history; on a partitioned bus it has no sequence of this process. */
  private deliver(published: BusEvent, replayed = false): void {
    const partitioned = this.options.partitioned;
    if (!partitioned) {
      if (published.sequence <= this.lastSequence) return;
      this.lastSequence = published.sequence;
      this.sinkIfWanted(published.event);
      return;
    }
    if (!replayed) {
      if (published.sequence <= this.lastSequence) return;
      this.lastSequence = published.sequence;
    }
    if (partitioned.accept(published, replayed)) this.sinkIfWanted(published.event, partitioned.cursorAfter(published));
  }

  private sinkIfWanted(event: RealtimeEvent, cursor?: string): void {
    const { types, accept, transform } = this.options;
    if (types && !types.has(event.type)) return;
    if (accept && !accept(event)) return;
    const delivered = transform ? transform.map(event) : event;
    if (delivered) this.options.sink(delivered, cursor);
  }
}

export class SubscriptionIndex {
  private readonly byChannel = new Map<string, Set<Subscriber>>();
  /**
   * Room followers by the user whose rooms they follow. Apart from the channels so that a room's
   * event looks its members up by the ids the room already holds: no key is built per member,
   * and a process with no followers at all skips its members (a room of 5,000: issue 17).
   */
  private readonly followersByUser = new Map<string, Set<Subscriber>>();
  private count = 0;

  constructor(private readonly onSinkError: (error: unknown) => void) {}

  get size(): number {
    return this.count;
  }

  /** How many channel and follower entries are indexed; returns to zero when every subscriber is removed. */
  get indexedChannels(): number {
    return this.byChannel.size + this.followersByUser.size;
  }

  add(subscriber: Subscriber): void {
    for (const channel of subscriber.channels) addTo(this.byChannel, channel, subscriber);
    if (subscriber.followRoomsOf !== undefined) addTo(this.followersByUser, subscriber.followRoomsOf, subscriber);
    this.count++;
  }

  remove(subscriber: Subscriber): void {
    let removed = false;
    for (const channel of subscriber.channels) if (removeFrom(this.byChannel, channel, subscriber)) removed = true;
    if (subscriber.followRoomsOf !== undefined && removeFrom(this.followersByUser, subscriber.followRoomsOf, subscriber)) removed = true;
    if (removed) this.count--;
  }

  /**
   * Offer one event to every local subscriber of its channels, the members' room followers of
   * its room channels, and the firehose.
   */
  fanOut(published: BusEvent, roomMembers: (roomId: string) => Iterable<string>): void {
    for (const channel of published.channels) {
      this.offerTo(this.byChannel.get(channel), published);
      if (this.followersByUser.size === 0) continue;
      const roomId = roomIdOfChannel(channel);
      if (roomId !== undefined) {
        for (const userId of roomMembers(roomId)) this.offerTo(this.followersByUser.get(userId), published, roomId);
      }
    }
    this.offerTo(this.byChannel.get(firehoseChannel), published);
  }

  /**
   * Offer a room's membership batch to the room's subscribers and its members' room followers
   * (not the firehose: it had each change as it happened).
   */
  fanOutRoomBatch(event: RealtimeEvent, roomId: string, roomMembers: Iterable<string>): void {
    const offer = (subscribers: Set<Subscriber> | undefined, followed?: string) => {
      for (const subscriber of subscribers ?? []) {
        if (followed !== undefined && !subscriber.follows(followed)) continue;
        try {
          subscriber.offerBatch(event);
        } catch (error) {
          this.onSinkError(error);
        }
      }
    };
    offer(this.byChannel.get(roomChannel(roomId)));
    if (this.followersByUser.size === 0) return;
    for (const userId of roomMembers) offer(this.followersByUser.get(userId), roomId);
  }

  /** `followedRoom`: the room through which followers are offered the event. */
  private offerTo(subscribers: Set<Subscriber> | undefined, published: BusEvent, followedRoom?: string): void {
    if (!subscribers) return;
    for (const subscriber of subscribers) {
      if (followedRoom !== undefined && !subscriber.follows(followedRoom)) continue;
      try {
        subscriber.offer(published);
      } catch (error) {
        // A broken sink must never stop delivery to the others.
        this.onSinkError(error);
      }
    }
  }
}

function addTo(index: Map<string, Set<Subscriber>>, key: string, subscriber: Subscriber): void {
  let set = index.get(key);
  if (!set) index.set(key, (set = new Set()));
  set.add(subscriber);
}

/** Whether it was there; the key goes with its last subscriber. */
function removeFrom(index: Map<string, Set<Subscriber>>, key: string, subscriber: Subscriber): boolean {
  const set = index.get(key);
  if (!set?.delete(subscriber)) return false;
  if (set.size === 0) index.delete(key);
  return true;
}
