/**
 * Prometheus metrics (prom-client). Hot-path counts are plain numbers read at scrape time, so a
 * delivery costs an increment, not a label lookup.
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { RealtimeServices } from '../core/service.js';
import type { RateLimits } from '../api/rate-limit.js';
import type { RefusalLog } from '../logging/refusal-log.js';
import type { TransportCounters, WsTransport } from '../transport/ws-transport.js';

export interface MetricsSources {
  services: RealtimeServices;
  transport: WsTransport;
  rateLimits: RateLimits;
  refusals: RefusalLog;
}

export function createMetrics(sources: MetricsSources): { registry: Registry; stop: () => void } {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 20 });
  const { services, transport, rateLimits, refusals } = sources;

  new Gauge({
    name: 'realtime_connections',
    help: 'Open WebSocket connections on this process',
    registers: [registry],
    collect() {
      this.set(transport.connectionCount);
    },
  });
  new Gauge({
    name: 'realtime_subscriptions',
    help: 'Live subscriptions on this process',
    registers: [registry],
    collect() {
      this.set(services.core.stats().subscriptions);
    },
  });
  new Gauge({
    name: 'realtime_rooms',
    help: 'Rooms with at least one member',
    registers: [registry],
    collect() {
      this.set(services.core.stats().activeRooms);
    },
  });
  const events = new Counter({ name: 'realtime_events_total', help: 'Events seen by this process, by type', labelNames: ['type'], registers: [registry] });
  const stopCounting = services.core.onEventCounted((type) => events.inc({ type }));

  const fromNumber = (name: string, help: string, read: () => number) =>
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        this.reset();
        this.inc(read());
      },
    });
  const counter = (key: keyof TransportCounters) => () => transport.counters[key];
  fromNumber('realtime_deliveries_total', 'Events written to WebSocket subscribers', counter('deliveries'));
  fromNumber('realtime_encoded_events_total', 'Events serialized for delivery (once per event, not per recipient)', () => transport.frames.encodedEvents);
  fromNumber('realtime_rate_limited_total', 'Calls rejected with TOO_MANY_REQUESTS', () => rateLimits.rejected);
  fromNumber('realtime_slow_consumer_closes_total', 'Connections closed because their outgoing buffer passed its bound (4008)', counter('slowConsumerCloses'));
  fromNumber('realtime_dead_peer_terminations_total', 'Connections terminated after unanswered keep-alive pings', counter('deadPeerTerminations'));
  fromNumber('realtime_flood_closes_total', 'Connections closed for sending frames far past the rate limit (4030)', counter('floodCloses'));
  fromNumber('realtime_ephemeral_dropped_total', 'Ephemeral frames (cursors) not written to a socket past half its buffer bound', counter('droppedEphemeral'));
  fromNumber('realtime_ephemeral_coalesced_total', 'Ephemeral publishes (cursors) replaced by a later one before they were sent (EPHEMERAL_HZ)', () => services.core.ephemeral.coalesced);
  fromNumber('realtime_deduplicated_publishes_total', 'Publishes answered from the idempotency store instead of publishing twice', () => services.idempotency.deduplicated);
  fromNumber('realtime_refused_inputs_total', 'Peer errors and refused input (logged at warn, at most a few lines per 10 s)', () => refusals.total);
  fromNumber('realtime_refused_connections_total', 'Upgrades refused (per-address limit, shutting down)', counter('refusedConnections'));
  const { store } = services.core;
  fromNumber('realtime_store_rows_written_total', 'Rows the durable store wrote (inboxes, audit trail, runs, room history)', () => store.counters().rowsWritten);
  fromNumber('realtime_store_failed_batches_total', 'Write batches that failed and were retried (the database was away or refused)', () => store.counters().failedBatches);
  fromNumber('realtime_store_dropped_writes_total', 'Writes refused because the store queue was full', () => store.counters().droppedWrites);
  new Gauge({
    name: 'realtime_store_queued_writes',
    help: 'Writes waiting for the durable store',
    registers: [registry],
    collect() {
      this.set(store.counters().queued);
    },
  });

  return { registry, stop: stopCounting };
}
