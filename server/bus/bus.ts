/**
 * The one bus interface. A bus stamps each published event with its id and timestamp, keeps the
 * bounded history that resumes read from, and hands every event to every process's listener
 * exactly once, in publish order. Two implementations: in-memory (one process) and Redis (many).
 */
import type { EventDataMap, EventType, RealtimeEvent } from '../../shared/events.js';

/** History bounds every bus keeps unless told otherwise (and `HISTORY_*` env vars default to). */
export const historyDefaults = {
  /** Events kept per channel for resume. */
  perChannel: 1_000,
  /** Events kept across all channels (admin history, firehose resume). */
  global: 10_000,
  /**
   * Of those, membership changes (connections, joins, leaves, presence, typing) kept apart by the
   * embedded bus, so that thousands of (re)joins cannot push everything else out of the global
   * history, and a storm of them costs bounded memory (issue 17).
   */
  globalMembership: 2_000,
  /** Bytes (event JSON) kept per channel by the embedded bus. */
  bytesPerChannel: 4 * 1024 * 1024,
  /** Bytes kept across all history by the embedded bus, each event counted once. */
  bytesTotal: 64 * 1024 * 1024,
} as const;

export interface PublishRequest<T extends EventType = EventType> {
  type: T;
  data: EventDataMap[T];
  roomId?: string;
  userId?: string;
  senderId?: string;
  /** Where the event is routed and stored; see bus/channels. */
  channels: readonly string[];
}

export interface BusEvent {
  readonly event: RealtimeEvent;
  readonly channels: readonly string[];
  /** For an ephemeral event, the sequence of the newest stored event before it (it has none of its own). */
  readonly sequence: number;
  /** Live only: never stored, never replayed, dropped by a subscriber that is not live. */
  readonly ephemeral?: true;
  /**
   * On a partitioned bus (Redis Cluster, bus/cluster-bus): the partition the event (or this part
   * of it) came from, and its position there (`<partition epoch>-<sequence>`, the event's own id
   * unless the event was published to several partitions). `sequence` is then this process's
   * delivery order, and resume cursors list a position per partition (bus/resume-cursors).
   */
  readonly partition?: number;
  readonly position?: string;
  /** Published to this many partitions, each part with the event's one id: a subscriber hearing two parts delivers one. */
  readonly parts?: number;
}

export type GapReason = 'history_evicted' | 'service_restarted' | 'unknown_event_id';

export interface HistoryRead {
  /** Events after the requested id on any of the channels, oldest first, each once. */
  events: BusEvent[];
  /** Set when some events after the requested id can no longer be replayed. */
  gap?: GapReason;
}

export interface BusHealth {
  ready: boolean;
  reason?: string;
  /** Per node of a Redis Cluster: which partitions it holds and whether it answers. */
  shards?: Array<{ node: string; ready: boolean; partitions: number[]; reason?: string }>;
}

export type BusListener = (published: BusEvent) => void;

/** One subscription's tracked ids on a partitioned bus (see bus/resume-cursors). */
export interface SubscriptionCursor {
  /** The cursor for a live event: after everything this process has delivered. */
  live(): string;
  /** The cursor after `published`, one of a replay (or of the live events held during it). */
  advance(published: BusEvent): string;
}

export interface ResumeCursors {
  /** Cursors for a subscription on `channels` (undefined: every partition), resuming from `lastEventId` if given. */
  forSubscription(channels: readonly string[] | undefined, lastEventId: string | undefined): SubscriptionCursor;
  /**
   * A cursor from the moment of `position` (an event's position, or just before one): exact in
   * its own partition; in the others, from that time by their shards' clocks less a margin for
   * skew (what a late subscriber needs to replay a run from its first event, whose parts went to
   * several partitions).
   */
  from(position: string): string;
}

export interface EventBus {
  /** Changes whenever the history behind event ids is lost; part of every event id. */
  readonly epoch: string;
  start(): Promise<void>;
  /** Resolves with the stamped event once it is stored and on its way to every process. */
  publish<T extends EventType>(request: PublishRequest<T>): Promise<RealtimeEvent<T>>;
  /**
   * Stamps an ephemeral event (id `<epoch>-<head>.<suffix>`, see shared/event-id) without storing
   * it, so the core can return it at once and deliver it later, coalesced.
   */
  stampEphemeral<T extends EventType>(request: PublishRequest<T>): RealtimeEvent<T>;
  /**
   * Hands a stamped ephemeral event to every process's listeners, live only: no history, no
   * sequence (with Redis: one PUBLISH, no stream entry). Best effort, like a volatile emit: a
   * failure is reported, never thrown.
   */
  sendEphemeral(event: RealtimeEvent, channels: readonly string[]): void;
  /** Every event published by any process, once, in order. Returns its own unsubscribe. */
  subscribe(listener: BusListener): () => void;
  /** What a subscription listening on `channels` missed after `afterEventId`. */
  readHistory(channels: readonly string[], afterEventId: string, limit: number): Promise<HistoryRead>;
  /** Newest first, across all channels. */
  recentHistory(limit: number, predicate?: (event: RealtimeEvent) => boolean): Promise<RealtimeEvent[]>;
  /**
   * The id of the newest event this process has seen, or undefined before the first. A client
   * that subscribes with it as `lastEventId` resumes from the moment it asked, even if it is
   * disconnected before its first event arrives.
   */
  headEventId(): string | undefined;
  health(): BusHealth;
  close(): Promise<void>;
  /**
   * A partitioned bus (Redis Cluster) has no global sequence: its subscriptions' tracked ids are
   * cursors with a position per partition (bus/resume-cursors). Absent: event ids are resume points.
   */
  readonly cursors?: ResumeCursors;
}

/** An event as the buses stamp it, stored or ephemeral: the given id, now, the request's routing fields. */
export function stampEvent<T extends EventType>(request: PublishRequest<T>, id: string): RealtimeEvent<T> {
  return {
    id,
    type: request.type,
    data: request.data,
    timestamp: new Date(),
    ...(request.roomId !== undefined && { roomId: request.roomId }),
    ...(request.userId !== undefined && { userId: request.userId }),
    ...(request.senderId !== undefined && { senderId: request.senderId }),
  } as RealtimeEvent<T>;
}
