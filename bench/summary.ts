/** Medians over repeats per (server, N), and our server's ratios to the others. */
import { serverKinds, type ServerKind } from './contracts.js';
import type { CellResult } from './measure-cell.js';
import { median } from './statistics.js';

export interface SummaryRow {
  server: ServerKind;
  subscribers: number;
  repeats: number;
  connectSeconds: number;
  connectCpuMicrosPerSubscriber: number;
  membershipEventsPerSubscriber: number;
  deliveriesPerSecond: number;
  /** Server CPU per delivery in the full-speed phase. */
  cpuMicrosPerDelivery: number;
  cpuMicrosPerDeliveryFixedRate: number;
  fixedRateP50Ms: number;
  fixedRateP99Ms: number;
  /** Medians over the fixed-rate events of each one's first and last delivery (see PhaseResult). */
  fixedRateFirstDeliveryMs: number;
  fixedRateLastDeliveryMs: number;
  fullSpeedP50Ms: number;
  fullSpeedP99Ms: number;
  rssKbPerConnection: number;
  settledRssKbPerConnection: number;
  heapKbPerConnection: number;
  externalKbPerConnection: number;
  problems: string[];
}

export interface RatioRow {
  subscribers: number;
  versus: ServerKind;
  /** ours / theirs: below 1 means we are cheaper, faster or smaller. */
  connectSeconds: number;
  connectCpuMicrosPerSubscriber: number;
  cpuMicrosPerDelivery: number;
  fixedRateP99Ms: number;
  fixedRateLastDeliveryMs: number;
  fullSpeedP99Ms: number;
  rssKbPerConnection: number;
  settledRssKbPerConnection: number;
  /** ours / theirs: above 1 means we deliver more per second. */
  deliveriesPerSecond: number;
}

export function summarize(cells: readonly CellResult[]): SummaryRow[] {
  const rows: SummaryRow[] = [];
  const counts = [...new Set(cells.map((cell) => cell.subscribers))].sort((a, b) => a - b);
  for (const subscribers of counts) {
    for (const server of serverKinds) {
      const group = cells.filter((cell) => cell.server === server && cell.subscribers === subscribers);
      if (group.length === 0) continue;
      const of = (pick: (cell: CellResult) => number) => median(group.map(pick));
      rows.push({
        server,
        subscribers,
        repeats: group.length,
        connectSeconds: of((cell) => cell.connectSeconds),
        // Results written before this figure existed have none.
        connectCpuMicrosPerSubscriber: of((cell) => cell.connectCpuMicrosPerSubscriber ?? Number.NaN),
        membershipEventsPerSubscriber: of((cell) => cell.membershipEventsPerSubscriber),
        deliveriesPerSecond: of((cell) => cell.fullSpeed.deliveriesPerSecond),
        cpuMicrosPerDelivery: of((cell) => cell.fullSpeed.cpuMicrosPerDelivery),
        cpuMicrosPerDeliveryFixedRate: of((cell) => cell.fixedRate.cpuMicrosPerDelivery),
        fixedRateP50Ms: of((cell) => cell.fixedRate.latencyP50Ms),
        fixedRateP99Ms: of((cell) => cell.fixedRate.latencyP99Ms),
        // Results written before these figures existed have none.
        fixedRateFirstDeliveryMs: of((cell) => cell.fixedRate.firstDeliveryMs ?? Number.NaN),
        fixedRateLastDeliveryMs: of((cell) => cell.fixedRate.lastDeliveryMs ?? Number.NaN),
        fullSpeedP50Ms: of((cell) => cell.fullSpeed.latencyP50Ms),
        fullSpeedP99Ms: of((cell) => cell.fullSpeed.latencyP99Ms),
        rssKbPerConnection: of((cell) => cell.rssKbPerConnection),
        settledRssKbPerConnection: of((cell) => cell.settledRssKbPerConnection ?? Number.NaN),
        heapKbPerConnection: of((cell) => cell.heapKbPerConnection),
        externalKbPerConnection: of((cell) => cell.externalKbPerConnection),
        problems: group.flatMap((cell) => cell.problems.map((problem) => `repeat ${cell.repeat}: ${problem}`)),
      });
    }
  }
  return rows;
}

export function ratios(rows: readonly SummaryRow[]): RatioRow[] {
  const result: RatioRow[] = [];
  for (const ours of rows.filter((row) => row.server === 'trpc')) {
    for (const theirs of rows.filter((row) => row.subscribers === ours.subscribers && row.server !== 'trpc')) {
      result.push({
        subscribers: ours.subscribers,
        versus: theirs.server,
        connectSeconds: ours.connectSeconds / theirs.connectSeconds,
        connectCpuMicrosPerSubscriber: ours.connectCpuMicrosPerSubscriber / theirs.connectCpuMicrosPerSubscriber,
        cpuMicrosPerDelivery: ours.cpuMicrosPerDelivery / theirs.cpuMicrosPerDelivery,
        fixedRateP99Ms: ours.fixedRateP99Ms / theirs.fixedRateP99Ms,
        fixedRateLastDeliveryMs: ours.fixedRateLastDeliveryMs / theirs.fixedRateLastDeliveryMs,
        fullSpeedP99Ms: ours.fullSpeedP99Ms / theirs.fullSpeedP99Ms,
        rssKbPerConnection: ours.rssKbPerConnection / theirs.rssKbPerConnection,
        settledRssKbPerConnection: ours.settledRssKbPerConnection / theirs.settledRssKbPerConnection,
        deliveriesPerSecond: ours.deliveriesPerSecond / theirs.deliveriesPerSecond,
      });
    }
  }
  return result;
}

export interface MarginalMemoryRow {
  server: ServerKind;
  fromSubscribers: number;
  toSubscribers: number;
  /** (memory at the larger N − memory at the smaller N) ÷ the connections added: what one more connection costs. */
  rssKbPerAddedConnection: number;
  heapPlusExternalKbPerAddedConnection: number;
}

/**
 * Memory per connection at one N includes what a server grows once, whatever N: V8's young
 * generation doubling during the connect burst, the libuv thread pool and its malloc arenas
 * (ours verifies tokens with WebCrypto), code compiled on first use. At N = 1,000 that is tens of
 * KB per connection. The difference between two N of the same run cancels it.
 */
export function marginalMemory(rows: readonly SummaryRow[]): MarginalMemoryRow[] {
  const result: MarginalMemoryRow[] = [];
  for (const server of serverKinds) {
    const own = rows.filter((row) => row.server === server).sort((a, b) => a.subscribers - b.subscribers);
    const smallest = own[0];
    const largest = own.at(-1);
    if (!smallest || !largest || smallest.subscribers === largest.subscribers) continue;
    const added = largest.subscribers - smallest.subscribers;
    const grown = (pick: (row: SummaryRow) => number) => (pick(largest) * largest.subscribers - pick(smallest) * smallest.subscribers) / added;
    result.push({
      server,
      fromSubscribers: smallest.subscribers,
      toSubscribers: largest.subscribers,
      rssKbPerAddedConnection: grown((row) => row.rssKbPerConnection),
      heapPlusExternalKbPerAddedConnection: grown((row) => row.heapKbPerConnection + row.externalKbPerConnection),
    });
  }
  return result;
}
