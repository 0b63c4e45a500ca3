/** Messages between a reliability test and the server it runs in a child process (see child-server.ts). */
import type { ServerConfig } from '../../../server/index.js';

export type ChildRequest =
  | { type: 'sign'; requestId: number; userId: string; role: 'user' | 'admin' | 'service' }
  | {
      type: 'broadcast';
      requestId: number;
      roomId: string;
      /** Events to publish. */
      count: number;
      /** Each event's message starts with its index and a colon, counting from this. */
      firstIndex: number;
      /** Characters of padding per event (the frame is a little larger). */
      payloadBytes: number;
      /** Events published per macrotask; the publisher yields to I/O between batches. */
      perBatch: number;
      /** Take a live-memory checkpoint (a full collection, then heap + Buffers) every this many events; 0 for none. */
      checkpointEvery: number;
    }
  | { type: 'notify'; requestId: number; userId: string; title: string }
  | { type: 'memory'; requestId: number }
  | { type: 'counters'; requestId: number };

export interface MemorySample {
  rssBytes: number;
  /** Heap plus ArrayBuffers (where queued outgoing frames live), after a full collection. */
  liveBytes: number;
  /** Highest RSS sampled (every 5 ms) since the previous `memory` request. */
  peakRssBytes: number;
  /** Highest live memory at a checkpoint since the previous `memory` request. */
  peakLiveBytes: number;
}

export interface TransportCountersReply {
  connections: number;
  subscriptions: number;
  slowConsumerCloses: number;
  deadPeerTerminations: number;
  refusedConnections: number;
  /** Input refused before it cost anything (unauthenticated sockets, bad frames, oversized calls). */
  refusals: number;
  /** Errors the server reported from procedures (INTERNAL_SERVER_ERROR answers): each one is a bug. */
  procedureErrors: number;
  /** CPU time the server process has used (user + system), in ms: a cost figure a busy machine does not inflate. */
  cpuMs: number;
}

export type ChildReply =
  | { type: 'ready'; url: string; wsUrl: string; pid: number }
  | { type: 'reply'; requestId: number; token: string }
  | { type: 'reply'; requestId: number; published: number; lastEventId: string }
  | { type: 'reply'; requestId: number; eventId: string }
  | ({ type: 'reply'; requestId: number } & MemorySample)
  | ({ type: 'reply'; requestId: number } & TransportCountersReply);

/** The child reads its configuration from this environment variable (JSON of Partial<ServerConfig>). */
export const childConfigVariable = 'RELIABILITY_SERVER_CONFIG';
export type ChildConfig = Partial<ServerConfig>;
