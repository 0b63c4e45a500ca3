/** What the reconnect-storm orchestrator, its server and its client processes say to each other. */

export const stormRoomId = 'storm';

export type StormServerOperations = {
  stats: { request: Record<string, never>; response: { cpuMicros: number; connections: number; refusedConnections: number } };
};

export interface StormStatus {
  clients: number;
  /** Clients whose subscription has started at least `starts` times. */
  started: number;
  /** Clients that received every expected marker. */
  complete: number;
  /** Expected markers missing, summed over clients. */
  missing: number;
  /** Markers received more than once, summed over clients. */
  duplicates: number;
  /** stream.gap notices (the restarted embedded server's new epoch), summed over clients. */
  gaps: number;
}

export type StormClientOperations = {
  connect: {
    request: { url: string; count: number; userIdPrefix: string; secret: string; timeoutMs: number };
    response: { connected: number; milliseconds: number };
  };
  status: { request: { starts: number; markers: string[] }; response: StormStatus };
  close: { request: Record<string, never>; response: { closed: number } };
};
