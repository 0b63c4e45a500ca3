/**
 * Presence: a user is online while they hold at least one connection, with the status they
 * chose (online, away, busy) and its metadata; offline otherwise, with their last-seen time.
 * A connected user who has been quiet for `idleAfterMs` is idle (shown as away) until they act.
 */
import type { PresenceStatus, UserPresence } from '../../shared/presence.js';
import { RealtimeError } from './errors.js';

type ChosenStatus = Exclude<PresenceStatus, 'offline'>;

interface PresenceRecord {
  chosen: ChosenStatus;
  metadata?: Record<string, unknown>;
  /**
   * The user's connection ids: nearly every user holds one, so one is kept as the id itself and
   * a Set is made only for a second (a Set costs ~150 bytes per user; issue 17).
   */
  connections: string | Set<string> | undefined;
  lastSeen: number;
  lastActivity: number;
  idle: boolean;
}

export type PresenceChangeKind = 'online' | 'offline' | 'status' | 'idle' | 'active';

export interface PresenceTrackerOptions {
  /** Quiet time after which a connected user is idle. @default 300000 (5 minutes) */
  idleAfterMs: number;
  /** Offline users whose last-seen is remembered; the oldest are forgotten past it. @default 100000 */
  maxRememberedOffline: number;
  onChange: (kind: PresenceChangeKind, presence: UserPresence) => void;
  now?: () => number;
}

export class PresenceTracker {
  private readonly records = new Map<string, PresenceRecord>();
  private readonly offline = new Set<string>();
  private sweepTimer: NodeJS.Timeout | undefined;
  private readonly now: () => number;

  constructor(private readonly options: PresenceTrackerOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Starts the idle sweep. The timer is unref'd: it never keeps the process alive. */
  start(): void {
    if (this.sweepTimer) return;
    const every = Math.max(50, Math.min(this.options.idleAfterMs / 2, 5_000));
    this.sweepTimer = setInterval(() => this.sweepIdle(), every);
    this.sweepTimer.unref();
  }

  stop(): void {
    clearInterval(this.sweepTimer);
    this.sweepTimer = undefined;
  }

  /** Returns true when this connection brought the user online. */
  connect(userId: string, connectionId: string): boolean {
    const now = this.now();
    let record = this.records.get(userId);
    if (!record) {
      record = { chosen: 'online', connections: undefined, lastSeen: now, lastActivity: now, idle: false };
      this.records.set(userId, record);
    }
    this.offline.delete(userId);
    const cameOnline = connectionCount(record) === 0;
    addConnection(record, connectionId);
    record.lastSeen = now;
    record.lastActivity = now;
    if (cameOnline) {
      record.idle = false;
      this.options.onChange('online', this.snapshot(userId, record));
    }
    return cameOnline;
  }

  /** Returns true when this was the user's last connection. */
  disconnect(userId: string, connectionId: string): boolean {
    const record = this.records.get(userId);
    if (!record || !removeConnection(record, connectionId)) return false;
    record.lastSeen = this.now();
    if (connectionCount(record) > 0) return false;
    record.idle = false;
    // Metadata describes a session; an offline user keeps only their last-seen time, so the
    // 100,000 remembered offline users cost bytes each, not kilobytes (issue 13).
    record.metadata = undefined;
    this.rememberOffline(userId);
    this.options.onChange('offline', this.snapshot(userId, record));
    return true;
  }

  update(userId: string, status: ChosenStatus, metadata?: Record<string, unknown>): UserPresence {
    const record = this.records.get(userId);
    if (!record || connectionCount(record) === 0) {
      throw new RealtimeError('PRECONDITION_FAILED', 'Presence can be set only while connected');
    }
    record.chosen = status;
    if (metadata !== undefined) record.metadata = metadata;
    record.lastSeen = record.lastActivity = this.now();
    record.idle = false;
    const presence = this.snapshot(userId, record);
    this.options.onChange('status', presence);
    return presence;
  }

  /** Records activity; an idle user becomes active again. */
  touch(userId: string): void {
    const record = this.records.get(userId);
    if (!record || connectionCount(record) === 0) return;
    record.lastSeen = record.lastActivity = this.now();
    if (record.idle) {
      record.idle = false;
      this.options.onChange('active', this.snapshot(userId, record));
    }
  }

  sweepIdle(): void {
    const now = this.now();
    for (const [userId, record] of this.records) {
      if (connectionCount(record) === 0 || record.idle) continue;
      if (now - record.lastActivity >= this.options.idleAfterMs) {
        record.idle = true;
        this.options.onChange('idle', this.snapshot(userId, record));
      }
    }
  }

  get(userId: string): UserPresence | undefined {
    const record = this.records.get(userId);
    return record && this.snapshot(userId, record);
  }

  isOnline(userId: string): boolean {
    return connectionCount(this.records.get(userId)) > 0;
  }

  /** Users with at least one connection. */
  online(): UserPresence[] {
    const result: UserPresence[] = [];
    for (const [userId, record] of this.records) {
      if (connectionCount(record) > 0) result.push(this.snapshot(userId, record));
    }
    return result;
  }

  all(): UserPresence[] {
    return [...this.records].map(([userId, record]) => this.snapshot(userId, record));
  }

  get connectedUserCount(): number {
    return this.records.size - this.offline.size;
  }

  private rememberOffline(userId: string): void {
    this.offline.add(userId);
    if (this.offline.size <= this.options.maxRememberedOffline) return;
    const oldest = this.offline.values().next().value;
    if (oldest !== undefined) {
      this.offline.delete(oldest);
      this.records.delete(oldest);
    }
  }

  private snapshot(userId: string, record: PresenceRecord): UserPresence {
    const status: PresenceStatus =
      connectionCount(record) === 0 ? 'offline' : record.idle && record.chosen === 'online' ? 'away' : record.chosen;
    return {
      userId,
      status,
      ...(record.metadata !== undefined && { metadata: record.metadata }),
      lastSeen: new Date(record.lastSeen),
      connections: connectionCount(record),
      idle: record.idle,
    };
  }
}

function connectionCount(record: PresenceRecord | undefined): number {
  const connections = record?.connections;
  return connections === undefined ? 0 : typeof connections === 'string' ? 1 : connections.size;
}

function addConnection(record: PresenceRecord, connectionId: string): void {
  const connections = record.connections;
  if (connections === undefined) record.connections = connectionId;
  else if (typeof connections === 'string') {
    if (connections !== connectionId) record.connections = new Set([connections, connectionId]);
  } else connections.add(connectionId);
}

/** False when the connection was not the user's. */
function removeConnection(record: PresenceRecord, connectionId: string): boolean {
  const connections = record.connections;
  if (typeof connections === 'string') {
    if (connections !== connectionId) return false;
    record.connections = undefined;
    return true;
  }
  if (!connections?.delete(connectionId)) return false;
  // Back to the single id: a user who opened a second tab and closed it costs no Set.
  if (connections.size === 1) record.connections = connections.values().next().value;
  return true;
}
