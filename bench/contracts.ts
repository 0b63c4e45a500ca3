/**
 * What the orchestrator, the servers and the load generators say to each other: the target a
 * load generator connects to, the figures a server reports, and the load generator's operations.
 */

/**
 * `socketio-jwt`: the same Socket.IO server, each connection's HS256 token verified with jose in
 * an `io.use` middleware, as ours verifies it: a like-for-like price of authentication, which the
 * plain `socketio` (the comparison) does without. Not run unless asked (`--servers`).
 */
export type ServerKind = 'trpc' | 'ws' | 'socketio' | 'socketio-jwt';

export const serverKinds: readonly ServerKind[] = ['trpc', 'ws', 'socketio', 'socketio-jwt'];

/** What `npm run bench` runs without `--servers`. */
export const defaultServerKinds: readonly ServerKind[] = ['trpc', 'ws', 'socketio'];

export const serverLabels: Record<ServerKind, string> = {
  trpc: 'this project (tRPC protocol)',
  ws: 'raw ws, stringify once',
  socketio: 'Socket.IO 4.8',
  'socketio-jwt': 'Socket.IO 4.8, JWT verified',
};

/** The room every benchmark subscriber is in. */
export const benchRoomId = 'bench';

/** Where and how to connect to one server under test. */
export interface TargetInfo {
  kind: ServerKind;
  /** http://127.0.0.1:PORT */
  url: string;
  /** The WebSocket endpoint (for tRPC, the `/trpc` path). */
  wsUrl: string;
  /** Tokens for our server: every subscriber shares the viewer identity (see bench/README.md). */
  viewerToken?: string;
  adminToken?: string;
  /** HS256 secret of our server, for load generators that sign a token per distinct subscriber (issue 17). */
  userTokenSecret?: string;
  /** Tokens of distinct users for the `--cursors` mode (each member's cursor is its own). */
  memberTokens?: string[];
}

/** Members of the `--cursors` mode: at most this many distinct users per server. */
export const maxCursorMembers = 200;

export interface ServerStats {
  /** process.cpuUsage() user + system, in microseconds since the process started. */
  cpuMicros: number;
  rssBytes: number;
  /**
   * What V8's young generation holds in memory (new space, physical): it grows to its maximum
   * during a burst of allocation (a connect storm) and stays grown after it, whatever is retained.
   */
  newSpaceBytes: number;
  heapUsedBytes: number;
  /** external + arrayBuffers: socket buffers and Buffers live outside the JS heap. */
  externalBytes: number;
  connections: number;
  /** process.hrtime in microseconds: the clock V8's CPU profile timestamps use, to cut a profile to a phase. */
  monotonicMicros: number;
  /** Rows our server's durable store has written (`--store`); absent for the other servers. */
  storeRowsWritten?: number;
}

export type ServerOperations = {
  stats: { request: { collectGarbage: boolean }; response: ServerStats };
  shutdown: { request: Record<string, never>; response: { ok: true } };
};

export interface ConnectResult {
  connected: number;
  failed: number;
  firstError?: string;
  milliseconds: number;
}

/** Subscribers as distinct users (`<prefix><index>`, each with its own token), or all as one user (`bench-viewer`). */
export interface SubscriberIdentity {
  distinctUsers: boolean;
  userIdPrefix: string;
}

export interface CollectedLatencies {
  /** Deliveries this generator received of the events being measured. */
  received: number;
  expected: number;
  /** Latency samples in milliseconds, sorted ascending; at most `maxSamples`, evenly thinned. */
  samples: number[];
  /** Per event of the phase, in order: the latency of its first and last delivery here (null: none arrived). */
  eventFirstMs: Array<number | null>;
  eventLastMs: Array<number | null>;
  /** Epoch milliseconds (high resolution) of the first and last measured delivery. */
  firstReceiveAt: number;
  lastReceiveAt: number;
  unexpectedCloses: number;
  timedOut: boolean;
  /** The generator's own CPU (user + system, µs) and wall time (ms) from arm to collect. */
  cpuMicros: number;
  wallMilliseconds: number;
}

export interface PublishResult {
  published: number;
  publishErrors: number;
  firstError?: string;
  /** Epoch milliseconds (high resolution) of the first publish. */
  startedAt: number;
  finishedAt: number;
}

export type PublishPlan =
  | { mode: 'rate'; eventsPerSecond: number }
  /** Full speed, closed loop: at most `window` events not yet delivered to all local subscribers. */
  | { mode: 'burst'; window: number };

export type LoadOperations = {
  connect: { request: { target: TargetInfo; subscribers: number; publisher: boolean; timeoutMs: number; identity?: SubscriberIdentity }; response: ConnectResult };
  arm: { request: { firstSequence: number; events: number }; response: { armed: true } };
  collect: { request: { timeoutMs: number; maxSamples: number }; response: CollectedLatencies };
  publish: { request: { firstSequence: number; events: number; plan: PublishPlan; timeoutMs: number }; response: PublishResult };
  disconnect: { request: { timeoutMs: number }; response: { closed: number } };
  verifyOfficialClients: { request: { target: TargetInfo }; response: { checks: string[] } };
  /** A snapshot while a long phase runs (the soak): answers at once, waits for nothing. */
  progress: { request: Record<string, never>; response: LoadProgress };
};

/** What a load generator has seen so far of the armed events, and how many of its sockets are still open. */
export interface LoadProgress {
  received: number;
  /** Events its publisher has sent since the last `publish` began (0 if it is not the publisher). */
  published: number;
  openSubscribers: number;
  unexpectedCloses: number;
  /** Membership events (room.joined, room.left, user.presence, user.idle, room.membership) received by its subscribers since its last `connect` began. */
  membershipEvents: number;
}

/** High-resolution wall-clock milliseconds, comparable across processes on one machine. */
export function epochNow(): number {
  return performance.timeOrigin + performance.now();
}
