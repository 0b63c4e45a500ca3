/**
 * The core's subscriptions: each is a subscriber in the fan-out index, optionally holding a room
 * while it lives and replaying what it missed after `lastEventId` (or telling of the gap), and
 * each is closed with its connection.
 */
import type { EventType, RealtimeEvent } from '../../shared/events.js';
import type { EventBus, GapReason } from '../bus/bus.js';
import { channels, roomChannels, withRoomChannels } from './channels.js';
import type { CoreConnection } from './connection.js';
import type { EventCatalog } from './event-catalog.js';
import { Subscriber, type EventMapper, type EventSink, type SubscriptionIndex } from './fanout.js';
import type { MembershipState } from './membership-state.js';
import { isBatchedMembershipType } from '../../shared/room-membership.js';
import type { MembershipBatcher } from './membership-batcher.js';
import { PartitionedDelivery } from './partitioned-delivery.js';

export interface SubscribeOptions {
  connection: Pick<CoreConnection, 'id' | 'userId'>;
  channels: readonly string[];
  /** Also receive the events of every room this user is in, as memberships change. */
  followRoomsOfUser?: boolean;
  /** Which of the followed rooms this subscription may hear (room access). @default every one */
  followsRoom?: (roomId: string) => boolean;
  /** Hold membership of this room while subscribed. */
  holdRoom?: string;
  types?: ReadonlySet<EventType>;
  accept?: (event: RealtimeEvent) => boolean;
  /**
   * Rewrites or drops each event before delivery; `catchUp` is delivered once, after the replay
   * (what a late or resumed subscriber lacks, such as an agent run's text so far).
   */
  transform?: EventTransform;
  /** Resume: replay what this subscription would have received after this id. */
  lastEventId?: string;
  /**
   * Earlier events delivered before live ones, oldest first (onRoom's `rewind`, read from the
   * durable store). Ignored when resuming: `lastEventId` replays exactly what was missed instead.
   */
  rewind?: () => Promise<readonly RealtimeEvent[]>;
  sink: EventSink;
}

export interface EventTransform extends EventMapper {
  catchUp?(): readonly RealtimeEvent[];
}

export interface Subscription {
  /** Idempotent. */
  close(): void;
}

export interface CoreSubscriptionsOptions {
  index: SubscriptionIndex;
  membership: MembershipState;
  bus: EventBus;
  catalog: EventCatalog;
  /** Most events replayed to one resuming subscription; past it the client is told of a gap. */
  maxReplay: number;
  /** Folds a replay's membership changes into one batch per room, as live delivery sends them; none: replayed one by one. */
  membershipBatcher?: MembershipBatcher | undefined;
  reportError: (error: unknown, context: string) => void;
}

export class CoreSubscriptions {
  private readonly byConnection = new Map<string, Set<Subscription>>();

  constructor(private readonly options: CoreSubscriptionsOptions) {}

  async open(options: SubscribeOptions): Promise<Subscription> {
    const { connection, transform } = options;
    // Listening on a room's channel means hearing the room: its membership channel too.
    const listened = withRoomChannels(options.channels);
    // A room follower's channels change with its memberships: its cursors name every partition.
    const cursors = this.options.bus.cursors?.forSubscription(options.followRoomsOfUser ? undefined : listened, options.lastEventId);
    const subscriber = new Subscriber({
      connectionId: connection.id,
      channels: listened,
      ...(options.followRoomsOfUser && { followRoomsOf: connection.userId }),
      ...(options.followsRoom && { followsRoom: options.followsRoom }),
      ...(options.types && { types: withMembershipBatches(options.types) }),
      ...(options.accept && { accept: options.accept }),
      ...(transform && { transform }),
      ...(cursors && { partitioned: new PartitionedDelivery(cursors) }),
      sink: options.sink,
    });
    let closed = false;
    let heldRoom: string | undefined;
    const subscription: Subscription = {
      close: () => {
        if (closed) return;
        closed = true;
        subscriber.close();
        this.options.index.remove(subscriber);
        const own = this.byConnection.get(connection.id);
        own?.delete(subscription);
        if (own?.size === 0) this.byConnection.delete(connection.id);
        if (heldRoom !== undefined) {
          this.options.membership
            .release(heldRoom, connection.userId, 'subscription', 'unsubscribed')
            .catch((error: unknown) => this.options.reportError(error, `releasing room ${heldRoom}`));
        }
      },
    };
    // A resuming subscriber holds live events from the moment it is indexed: otherwise its own
    // `room.joined` (published by holdRoom below) was delivered first and moved its sequence
    // past every replayed event, which were then skipped as already seen (reliability test).
    const rewind = options.lastEventId === undefined ? options.rewind : undefined;
    if (options.lastEventId !== undefined || rewind) subscriber.beginReplay();
    // Indexed before the room is held, so the subscriber sees its own `room.joined`.
    this.options.index.add(subscriber);
    let own = this.byConnection.get(connection.id);
    if (!own) this.byConnection.set(connection.id, (own = new Set()));
    own.add(subscription);
    if (options.holdRoom !== undefined) {
      try {
        await this.options.membership.hold(options.holdRoom, connection.userId, 'subscription');
        heldRoom = options.holdRoom;
      } catch (error) {
        subscription.close();
        throw error;
      }
    }

    if (options.lastEventId !== undefined) {
      try {
        const replayChannels = options.followRoomsOfUser
          ? [...listened, ...this.options.membership.roomsOf(connection.userId).filter((roomId) => subscriber.follows(roomId)).flatMap(roomChannels)]
          : listened;
        const read = await this.options.bus.readHistory(replayChannels, options.lastEventId, this.options.maxReplay);
        if (read.gap) subscriber.deliverDirect(this.gapEvent(options.lastEventId, read.gap));
        let replayed = read.events.filter((published) => !this.options.catalog.isEphemeral(published.event.type));
        const batcher = this.options.membershipBatcher;
        if (batcher) {
          const heard = new Set(replayChannels);
          const collapsed = batcher.collapseReplay(replayed, (roomId) => heard.has(channels.room(roomId)));
          replayed = collapsed.events;
          for (const batch of collapsed.batches) subscriber.offerBatch(batch);
        }
        if (!subscriber.finishReplay(replayed)) {
          subscriber.deliverDirect(this.gapEvent(options.lastEventId, 'history_evicted'));
        }
      } catch (error) {
        subscription.close();
        throw error;
      }
    }
    if (rewind) await this.rewind(subscriber, rewind);
    for (const event of transform?.catchUp?.() ?? []) subscriber.deliverDirect(event);
    return subscription;
  }

  /**
   * Earlier events first, then what arrived live meanwhile, each once (an event both read and
   * live is skipped live). A store that cannot answer costs the rewind, never the live stream.
   */
  private async rewind(subscriber: Subscriber, read: () => Promise<readonly RealtimeEvent[]>): Promise<void> {
    let earlier: readonly RealtimeEvent[] = [];
    try {
      earlier = await read();
    } catch (error) {
      this.options.reportError(error, 'rewinding a room subscription');
    }
    for (const event of earlier) subscriber.deliverDirect(event);
    subscriber.finishReplay([], new Set(earlier.map((event) => event.id)));
  }

  /** Closes every subscription of the connection. */
  closeConnection(connectionId: string): void {
    for (const subscription of this.byConnection.get(connectionId) ?? []) subscription.close();
    this.byConnection.delete(connectionId);
  }

  private gapEvent(lastEventId: string, reason: GapReason): RealtimeEvent<'stream.gap'> {
    return { id: lastEventId, type: 'stream.gap', data: { lastEventId, reason }, timestamp: new Date() };
  }
}

/** A subscriber of any membership change also takes the batches that carry them (`room.membership`). */
function withMembershipBatches(types: ReadonlySet<EventType>): ReadonlySet<EventType> {
  if (types.has('room.membership') || ![...types].some(isBatchedMembershipType)) return types;
  return new Set([...types, 'room.membership']);
}
