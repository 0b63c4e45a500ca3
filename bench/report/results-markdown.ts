/** The markdown report: the medians table, our ratios to the others, the setup and any problems. */
import { serverLabels } from '../contracts.js';
import { marginalMemory, type RatioRow, type SummaryRow } from '../summary.js';
import type { RunDescription } from './run-description.js';

const number = (value: number, digits = 1) => (Number.isFinite(value) ? value.toFixed(digits) : 'n/a');
const thousands = (value: number) => (Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : 'n/a');
const ratio = (value: number) => (Number.isFinite(value) ? `${value.toFixed(2)}×` : 'n/a');

export function resultsMarkdown(run: RunDescription, rows: readonly SummaryRow[], ratioRows: readonly RatioRow[]): string {
  const lines: string[] = [];
  lines.push(`# Fan-out benchmark`, '');
  lines.push(
    `${run.date} · ${run.machine.cpuModel} × ${run.machine.cores} cores · ${run.machine.memoryGb} GB · Node ${run.machine.node} · ${run.machine.os}`,
    '',
    `N subscribers in one room, one admin publishing into it; one process per server, ${run.options.loadGenerators} load-generator process(es), ` +
      `loopback. Medians of ${run.options.repeats} interleaved repeat(s), a fresh server process per cell. ` +
      `Subscribers: ${run.options.distinctUsers ? 'a distinct user each (own token), so every join is a membership change' : 'all one user'}` +
      `${run.options.membershipBatchMs !== undefined ? `; our MEMBERSHIP_BATCH_MS=${run.options.membershipBatchMs}` : ''}. ` +
      `Fixed rate: ${run.options.fixedRateEvents} events at ${run.options.fixedRate}/s. Full speed: closed loop, ${run.options.window} events in flight.`,
    '',
  );
  lines.push(
    '| N | server | connect all N (s) | server CPU µs per connect | membership events per subscriber while connecting | deliveries/s (full speed) | CPU µs/delivery (full speed) | CPU µs/delivery (fixed rate) | p50 / p99 ms (fixed rate) | first / last delivery of an event, ms (fixed rate) | p50 / p99 ms (full speed) | KB/connection RSS | KB/connection RSS, settled | KB/connection heap + external |',
    '|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  );
  for (const row of rows) {
    lines.push(
      `| ${row.subscribers.toLocaleString('en-US')} | ${serverLabels[row.server]} | ${number(row.connectSeconds, 2)} | ${number(row.connectCpuMicrosPerSubscriber, 0)} | ${number(row.membershipEventsPerSubscriber)} | ` +
        `${thousands(row.deliveriesPerSecond)} | ${number(row.cpuMicrosPerDelivery, 2)} | ` +
        `${number(row.cpuMicrosPerDeliveryFixedRate, 2)} | ${number(row.fixedRateP50Ms)} / ${number(row.fixedRateP99Ms)} | ` +
        `${number(row.fixedRateFirstDeliveryMs)} / ${number(row.fixedRateLastDeliveryMs)} | ` +
        `${number(row.fullSpeedP50Ms)} / ${number(row.fullSpeedP99Ms)} | ${number(row.rssKbPerConnection)} | ${number(row.settledRssKbPerConnection)} | ${number(row.heapKbPerConnection + row.externalKbPerConnection)} |`,
    );
  }
  if (ratioRows.length > 0) {
    lines.push('', '## This project relative to the others (ours ÷ theirs)', '');
    lines.push('Connect time, CPU, latency and memory: below 1× is better. Deliveries/s: above 1× is better.', '');
    lines.push('| N | versus | connect all N | server CPU per connect | CPU µs/delivery | p99 (fixed rate) | last delivery of an event (fixed rate) | p99 (full speed) | KB/connection RSS | KB/connection RSS, settled | deliveries/s |', '|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
    for (const row of ratioRows) {
      lines.push(
        `| ${row.subscribers.toLocaleString('en-US')} | ${serverLabels[row.versus]} | ${ratio(row.connectSeconds)} | ${ratio(row.connectCpuMicrosPerSubscriber)} | ${ratio(row.cpuMicrosPerDelivery)} | ${ratio(row.fixedRateP99Ms)} | ${ratio(row.fixedRateLastDeliveryMs)} | ` +
          `${ratio(row.fullSpeedP99Ms)} | ${ratio(row.rssKbPerConnection)} | ${ratio(row.settledRssKbPerConnection)} | ${ratio(row.deliveriesPerSecond)} |`,
      );
    }
  }
  const marginal = marginalMemory(rows);
  const ours = marginal.find((row) => row.server === 'trpc');
  if (marginal.length > 0) {
    const first = marginal[0]!;
    lines.push('', `## Memory per added connection (N = ${first.fromSubscribers.toLocaleString('en-US')} → ${first.toSubscribers.toLocaleString('en-US')})`, '');
    lines.push(
      'The memory at the larger N minus the memory at the smaller, over the connections added: what one more subscribed connection costs, ' +
        'without what a server grows once whatever N (the young generation doubling during the connect burst, the thread pool, code compiled on first use).',
      '',
    );
    lines.push('| server | KB RSS per added connection | KB heap + external per added connection | ours ÷ theirs (RSS / heap + external) |', '|---|---:|---:|---:|');
    for (const row of marginal) {
      const versus = ours && row.server !== 'trpc' ? `${ratio(ours.rssKbPerAddedConnection / row.rssKbPerAddedConnection)} / ${ratio(ours.heapPlusExternalKbPerAddedConnection / row.heapPlusExternalKbPerAddedConnection)}` : '';
      lines.push(`| ${serverLabels[row.server]} | ${number(row.rssKbPerAddedConnection)} | ${number(row.heapPlusExternalKbPerAddedConnection)} | ${versus} |`);
    }
  }
  if (run.officialClientChecks.length > 0) {
    lines.push('', '## Official clients', '', ...run.officialClientChecks.map((check) => `- ${check}`));
  }
  const problems = rows.flatMap((row) => row.problems.map((problem) => `- ${serverLabels[row.server]}, N=${row.subscribers}: ${problem}`));
  lines.push('', '## Problems during the run', '', ...(problems.length > 0 ? problems : ['None: every expected delivery arrived.']));
  lines.push(
    '',
    '## How it is measured',
    '',
    '- CPU µs/delivery: `process.cpuUsage()` of the server process (all threads, GC included) across the phase, divided by the deliveries received.',
    '- Latency: the publisher writes a high-resolution timestamp into the event; each subscriber socket compares it with its receive time (same machine clock).',
    '- First / last delivery of an event: for each fixed-rate event, when its first and its last subscriber had it; the medians over the events. ' +
      'The p99 of 50 events × N deliveries is decided by the slowest one or two events; the median last delivery is what a typical event costs the room. ' +
      'At N = 5,000 both are mostly the time one load generator takes to read N frames in turn.',
    '- KB/connection: server RSS (and heap + external after a forced GC) after connecting N subscribers, minus before, divided by N. ' +
      '"Settled": the same RSS once the server sat idle until V8 gave back what the connect burst grew (young generation, free pages; at most 15 s).',
    '- Deliveries/s: deliveries received in the full-speed phase over the time from its first publish to its last delivery; bounded by the load generator on 2 cores.',
    '',
  );
  return lines.join('\n');
}
