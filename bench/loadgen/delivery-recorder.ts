/**
 * Records, for a run of consecutive events, every delivery's latency: the publisher writes
 * `<sequence>@<epoch ms>` into the notification message, and each received frame is searched
 * for it as bytes (no JSON.parse, no string copy of the frame), so the load generator costs the
 * same per message whatever server sent it.
 */
const marker = Buffer.from('"message":"');
const at = 0x40; // '@'
const quote = 0x22; // '"'
const zero = 0x30;
const nine = 0x39;

export class DeliveryRecorder {
  private firstSequence = 0;
  private events = 0;
  private subscribers = 0;
  private perEventDeliveries = new Int32Array(0);
  private latencies = new Float64Array(0);
  /** Each event's earliest and latest delivery latency here (ms); ±Infinity until it has one. */
  private firstLatency = new Float64Array(0);
  private lastLatency = new Float64Array(0);
  private received = 0;
  private firstReceiveAt = Number.POSITIVE_INFINITY;
  private lastReceiveAt = 0;
  private completeWaiters: Array<() => void> = [];
  /** Events delivered to every local subscriber (the publisher's window counts these). */
  completedEvents = 0;
  /** Called whenever an event reaches every local subscriber. */
  onEventComplete: (() => void) | undefined;

  arm(firstSequence: number, events: number, subscribers: number): void {
    this.firstSequence = firstSequence;
    this.events = events;
    this.subscribers = subscribers;
    this.perEventDeliveries = new Int32Array(events);
    this.latencies = new Float64Array(events * subscribers);
    this.firstLatency = new Float64Array(events).fill(Number.POSITIVE_INFINITY);
    this.lastLatency = new Float64Array(events).fill(Number.NEGATIVE_INFINITY);
    this.received = 0;
    this.completedEvents = 0;
    this.firstReceiveAt = Number.POSITIVE_INFINITY;
    this.lastReceiveAt = 0;
    this.onEventComplete = undefined;
  }

  get expected(): number {
    return this.events * this.subscribers;
  }

  get isComplete(): boolean {
    return this.received >= this.expected;
  }

  record(frame: Buffer, now: number): void {
    const markerAt = frame.indexOf(marker);
    if (markerAt === -1) return;
    let position = markerAt + marker.length;
    let sequence = 0;
    for (let byte = frame[position]; byte !== undefined && byte >= zero && byte <= nine; byte = frame[++position]) {
      sequence = sequence * 10 + (byte - zero);
    }
    if (frame[position] !== at) return;
    const index = sequence - this.firstSequence;
    if (index < 0 || index >= this.events) return; // an earlier phase's straggler
    const end = frame.indexOf(quote, position + 1);
    const sentAt = Number(frame.toString('latin1', position + 1, end));
    if (this.received >= this.latencies.length) return;
    const latency = now - sentAt;
    this.latencies[this.received++] = latency;
    if (latency < this.firstLatency[index]!) this.firstLatency[index] = latency;
    if (latency > this.lastLatency[index]!) this.lastLatency[index] = latency;
    if (now < this.firstReceiveAt) this.firstReceiveAt = now;
    if (now > this.lastReceiveAt) this.lastReceiveAt = now;
    if (++this.perEventDeliveries[index]! === this.subscribers) {
      this.completedEvents++;
      this.onEventComplete?.();
    }
    if (this.isComplete) this.wakeWaiters();
  }

  /** Resolves true when every expected delivery arrived, false at the timeout. */
  waitUntilComplete(timeoutMs: number): Promise<boolean> {
    if (this.isComplete) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.completeWaiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  /** Sorted latencies, thinned to at most `maxSamples` evenly spaced quantiles. */
  sortedSamples(maxSamples: number): number[] {
    const sorted = this.latencies.slice(0, this.received).sort();
    if (sorted.length <= maxSamples) return Array.from(sorted);
    const thinned: number[] = [];
    for (let i = 0; i < maxSamples; i++) thinned.push(sorted[Math.floor((i * sorted.length) / maxSamples)]!);
    return thinned;
  }

  /** Per event (in sequence order), its first and last delivery latency here; null for an event none reached. */
  eventSpans(): { firstMs: Array<number | null>; lastMs: Array<number | null> } {
    const finite = (values: Float64Array) => Array.from(values, (value) => (Number.isFinite(value) ? value : null));
    return { firstMs: finite(this.firstLatency), lastMs: finite(this.lastLatency) };
  }

  summary(): { received: number; expected: number; firstReceiveAt: number; lastReceiveAt: number } {
    return { received: this.received, expected: this.expected, firstReceiveAt: this.firstReceiveAt, lastReceiveAt: this.lastReceiveAt };
  }

  private wakeWaiters(): void {
    const waiters = this.completeWaiters;
    this.completeWaiters = [];
    for (const wake of waiters) wake();
  }
}
