/** The connections open on this process, counted per user against the per-user bound. */
import type { CoreConnection } from './connection.js';
import { RealtimeError } from './errors.js';

export class ConnectionRegistry {
  private readonly connections = new Map<string, CoreConnection>();
  private readonly countByUser = new Map<string, number>();

  constructor(private readonly maxPerUser: number) {}

  get size(): number {
    return this.connections.size;
  }

  /** False when it is already registered; TOO_MANY_REQUESTS when its user holds the most allowed. */
  add(connection: CoreConnection): boolean {
    if (this.connections.has(connection.id)) return false;
    const held = this.countByUser.get(connection.userId) ?? 0;
    if (held >= this.maxPerUser) throw new RealtimeError('TOO_MANY_REQUESTS', `At most ${this.maxPerUser} connections per user`);
    this.connections.set(connection.id, connection);
    this.countByUser.set(connection.userId, held + 1);
    return true;
  }

  /** False when it was not registered (already removed). */
  remove(connection: Pick<CoreConnection, 'id' | 'userId'>): boolean {
    if (!this.connections.delete(connection.id)) return false;
    const remaining = (this.countByUser.get(connection.userId) ?? 1) - 1;
    if (remaining <= 0) this.countByUser.delete(connection.userId);
    else this.countByUser.set(connection.userId, remaining);
    return true;
  }
}
