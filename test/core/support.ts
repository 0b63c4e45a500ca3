/** Plain-object connections and sinks for testing the core without any transport. */
import type { RealtimeEvent } from '../../shared/events.js';
import type { CloseCode } from '../../shared/codes.js';
import { MemoryBus } from '../../server/bus/memory-bus.js';
import { createRealtimeServices, type RealtimeServicesOptions } from '../../server/core/service.js';
import type { CoreConnection } from '../../server/core/connection.js';

export function testConnection(id: string, userId: string): CoreConnection & { closedWith?: [CloseCode, string] } {
  const connection: CoreConnection & { closedWith?: [CloseCode, string] } = {
    id,
    userId,
    close: (code, reason) => (connection.closedWith = [code, reason]),
  };
  return connection;
}

export function recorder() {
  const events: RealtimeEvent[] = [];
  return { events, sink: (event: RealtimeEvent) => events.push(event), types: () => events.map((event) => event.type) };
}

export async function startServices(options: Partial<RealtimeServicesOptions> = {}) {
  const services = createRealtimeServices({ bus: new MemoryBus({ epoch: 'test' }), ...options });
  await services.start();
  return services;
}
