/**
 * Encodes an event into tRPC's WebSocket data message once per event, and the full frame once
 * per distinct subscription id, instead of once per recipient.
 *
 * A tracked subscription message is `{"id":<subscription id>,"result":{"type":"data","id":<event
 * id>,"data":<transformer output of { id, data: event }>}}`: the only per-recipient part is the
 * subscription id, and clients' ids are small counters, so most recipients share a frame.
 * Fan-out offers one event to every subscriber before the next event, so a one-entry cache keyed
 * by the event object is exact and costs nothing to invalidate.
 */
import type { RealtimeEvent } from '../../shared/events.js';

export type OutputSerializer = (value: unknown) => unknown;

export class EventFrameEncoder {
  private currentEvent: RealtimeEvent | undefined;
  private currentPayload = '';
  private readonly frames = new Map<string | number, Buffer>();
  /** Events encoded (payload serializations), for the benchmark and metrics. */
  encodedEvents = 0;

  constructor(private readonly serialize: OutputSerializer) {}

  frame(subscriptionId: string | number, event: RealtimeEvent): Buffer {
    if (event !== this.currentEvent) {
      this.currentEvent = event;
      this.currentPayload = JSON.stringify(this.serialize({ id: event.id, data: event }));
      this.frames.clear();
      this.encodedEvents++;
    }
    let frame = this.frames.get(subscriptionId);
    if (!frame) {
      frame = Buffer.from(
        `{"id":${JSON.stringify(subscriptionId)},"result":{"type":"data","id":${JSON.stringify(event.id)},"data":${this.currentPayload}}}`,
      );
      this.frames.set(subscriptionId, frame);
    }
    return frame;
  }
}
