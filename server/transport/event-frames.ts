/**
 * Encodes an event into tRPC's WebSocket data message once per event, and the full frame once
 * per distinct subscription id, instead of once per recipient.
 *
 * A tracked subscription message is `{"id":<subscription id>,"result":{"type":"data","id":<event
 * id>,"data":<transformer output of { id, data: event }>}}`: the only per-recipient part is the
 * subscription id, and clients' ids are small counters, so most recipients share a frame.
 * Fan-out offers one event to every subscriber before the next event, so a one-entry cache keyed
 * by the event object is exact and costs nothing to invalidate.
 *
 * The frame is the wire bytes of an unmasked, unfragmented, uncompressed text frame (RFC 6455
 * §5.2: servers never mask), so the transport can write it as is to every socket that has no
 * extension negotiated (frame-writer.ts); `payload` is the same message for `ws.send`.
 */
import type { RealtimeEvent } from '../../shared/events.js';

export type OutputSerializer = (value: unknown) => unknown;

/** One tRPC message, ready to go: the complete frame bytes and, as a view into them, the payload. */
export interface PreparedFrame {
  /** Header + payload of a final text frame, unmasked. */
  readonly bytes: Buffer;
  /** The tRPC message alone (a view into `bytes`), for sockets that must go through `ws.send`. */
  readonly payload: Buffer;
}

const finalTextFrame = 0x81; // FIN + opcode 1 (text)

/** Frames a UTF-8 message as one unmasked text frame: header and payload in a single Buffer. */
export function prepareTextFrame(message: string): PreparedFrame {
  const length = Buffer.byteLength(message);
  const headerLength = length < 126 ? 2 : length < 65_536 ? 4 : 10;
  const bytes = Buffer.allocUnsafe(headerLength + length);
  bytes[0] = finalTextFrame;
  if (length < 126) {
    bytes[1] = length;
  } else if (length < 65_536) {
    bytes[1] = 126;
    bytes.writeUInt16BE(length, 2);
  } else {
    bytes[1] = 127;
    bytes.writeBigUInt64BE(BigInt(length), 2);
  }
  bytes.write(message, headerLength, 'utf8');
  return { bytes, payload: bytes.subarray(headerLength) };
}

export class EventFrameEncoder {
  private currentEvent: RealtimeEvent | undefined;
  /** The current event's encoding with its own id tracked, and its frames per subscription id. */
  private current: TrackedEncoding | undefined;
  /** On a partitioned bus: the current event's encodings per cursor (most subscribers share a few). */
  private readonly byCursor = new Map<string, TrackedEncoding>();
  /** Events encoded (payload serializations), for the benchmark and metrics. */
  encodedEvents = 0;

  constructor(private readonly serialize: OutputSerializer) {}

  /**
   * `cursor`: on a partitioned bus the tracked id is a resume cursor (bus/resume-cursors), shared
   * by the subscribers listening on the same partitions; the payload is then made once per cursor.
   */
  frame(subscriptionId: string | number, event: RealtimeEvent, cursor?: string): PreparedFrame {
    if (event !== this.currentEvent) {
      this.currentEvent = event;
      this.current = undefined;
      this.byCursor.clear();
    }
    let encoding: TrackedEncoding;
    if (cursor === undefined) encoding = this.current ??= this.encode(event, event.id);
    else {
      let forCursor = this.byCursor.get(cursor);
      if (!forCursor) this.byCursor.set(cursor, (forCursor = this.encode(event, cursor)));
      encoding = forCursor;
    }
    let frame = encoding.frames.get(subscriptionId);
    if (!frame) {
      frame = prepareTextFrame(`{"id":${JSON.stringify(subscriptionId)},"result":{"type":"data","id":${JSON.stringify(cursor ?? event.id)},"data":${encoding.payload}}}`);
      encoding.frames.set(subscriptionId, frame);
    }
    return frame;
  }

  private encode(event: RealtimeEvent, trackedId: string): TrackedEncoding {
    this.encodedEvents++;
    return { payload: JSON.stringify(this.serialize({ id: trackedId, data: event })), frames: new Map() };
  }
}

interface TrackedEncoding {
  payload: string;
  frames: Map<string | number, PreparedFrame>;
}
