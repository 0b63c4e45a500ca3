/** The cluster benchmark's markdown report: medians per variant, ratios to (a), the per-event reading. */
import type { RunDescription } from '../report/run-description.js';
import { variantLabels, type ClusterBenchOptions } from './options.js';
import type { PairRatioRow, Spread, VariantRatioRow, VariantRow } from './summary.js';

export interface ClusterRunDescription {
  date: string;
  machine: RunDescription['machine'];
  options: ClusterBenchOptions;
  redis: { version: string; clockTicksPerSecond: number; wholeRunCpuMsFromStat: number; wholeRunCpuMsFromSchedstat: number | undefined };
  seconds: number;
}

const number = (value: number, digits = 1) => (Number.isFinite(value) ? value.toFixed(digits) : 'n/a');
const thousands = (value: number) => (Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : 'n/a');
const ratio = (value: number) => (Number.isFinite(value) ? `${value.toFixed(2)}×` : 'n/a');
const signed = (value: number, digits = 0) => (Number.isFinite(value) ? `${value >= 0 ? '+' : ''}${value.toFixed(digits)}` : 'n/a');
/** The median, then the lowest and highest repeat when there were several. */
const spread = (value: Spread, format: (value: number) => string) =>
  value.min === value.max ? format(value.median) : `${format(value.median)} (${format(value.min)} to ${format(value.max)})`;

/** A section's title, what its figures are, and the head of its table (the second column left-aligned, the rest numbers). */
function tableHead(lines: string[], title: string, intro: string, columns: readonly string[]): void {
  const alignment = columns.map((_, index) => (index === 1 ? '---' : '---:'));
  lines.push('', `## ${title}`, '', intro, '', `| ${columns.join(' | ')} |`, `|${alignment.join('|')}|`);
}

/** Whether a cost grows with N (per recipient) or stays put (per event): its value at the largest N against the smallest. */
function perEventReading(rows: readonly VariantRow[], ratioRows: readonly VariantRatioRow[]): string[] {
  const counts = [...new Set(rows.map((row) => row.subscribers))].sort((a, b) => a - b);
  if (counts.length < 2) return ['Only one N was measured: run with at least two (`--n 1000,2000`) to tell a per-event cost from a per-recipient one.'];
  const [small, large] = [counts[0]!, counts[counts.length - 1]!];
  const lines = [
    `From N=${small.toLocaleString('en-US')} to N=${large.toLocaleString('en-US')} a cost paid per recipient grows ${ratio(large / small)}; ` +
      'a cost paid per event stays at 1× (and its share per delivery falls).',
    '',
  ];
  for (const variant of [...new Set(ratioRows.map((row) => row.variant))]) {
    const row = (subscribers: number) => rows.find((candidate) => candidate.variant === variant && candidate.subscribers === subscribers);
    const paired = (subscribers: number) => ratioRows.find((candidate) => candidate.variant === variant && candidate.subscribers === subscribers);
    const [from, to, pairedFrom, pairedTo] = [row(small), row(large), paired(small), paired(large)];
    if (!from || !to || !pairedFrom || !pairedTo) continue;
    const change = (pick: (row: VariantRow) => number, digits: number) =>
      `${number(pick(from), digits)} → ${number(pick(to), digits)} (${ratio(pick(to) / pick(from))})`;
    lines.push(
      `- ${variantLabels[variant]}: Redis commands per event ${change((r) => r.redisCommandsPerEvent, 2)}; Lua script µs per event ` +
        `${change((r) => r.redisScriptMicrosPerEvent, 1)}; Redis CPU µs per event ${change((r) => r.redisCpuMicrosPerEvent, 1)}, ` +
        `per delivery ${change((r) => r.redisCpuMicrosPerDelivery, 3)}. Node + Redis extra over (a) per event ` +
        `${signed(pairedFrom.extraTotalCpuMicrosPerEvent.median)} → ${signed(pairedTo.extraTotalCpuMicrosPerEvent.median)} µs ` +
        `(per delivery ${signed(pairedFrom.extraTotalCpuMicrosPerDelivery.median, 3)} → ${signed(pairedTo.extraTotalCpuMicrosPerDelivery.median, 3)} µs).`,
    );
  }
  return lines;
}

export function clusterResultsMarkdown(
  run: ClusterRunDescription,
  rows: readonly VariantRow[],
  ratioRows: readonly VariantRatioRow[],
  pairRows: readonly PairRatioRow[] = [],
): string {
  const { options, machine, redis } = run;
  const lines: string[] = [];
  lines.push('# Cluster benchmark: one process, over Redis or a Redis Cluster, and Socket.IO on its Redis adapters', '');
  lines.push(
    `${run.date} · ${machine.cpuModel} × ${machine.cores} cores · ${machine.memoryGb} GB · Node ${machine.node} · ${machine.os} · redis-server ${redis.version}`,
    '',
    `The same job in every variant: N subscribers in one room (split evenly over two load-generator processes), one admin publishing ` +
      `into it from the first. (a) one server process on the embedded memory bus; (b) one process with \`REDIS_URL\`; (c) two processes ` +
      `with \`REDIS_URL\`, load generator i on process i, so half the subscribers on each and the publisher on the first; (d) and (e) ` +
      `Socket.IO 4.8 with @socket.io/redis-adapter on the same Redis, one and two processes, the same load; on a 3-master Redis ` +
      `Cluster of the run's own, (f) and (g) one and two processes with \`REDIS_CLUSTER_URLS\`, (h) Socket.IO with the sharded ` +
      `adapter (\`createShardedAdapter\`, SPUBLISH on the room's channel), two processes. ` +
      `Loopback; a fresh server process per cell; cells interleaved, the order rotated per repeat; ${options.repeats} repeat(s), medians. ` +
      `Fixed rate: ${options.fixedRateEvents} events at ${options.fixedRate}/s. Full speed: closed loop, ${options.window} events in flight. ` +
      `Run took ${run.seconds.toFixed(0)} s.`,
    '',
  );
  lines.push(
    '| N | variant | deliveries/s | node CPU µs/delivery | node CPU µs/event | Redis CPU µs/event | Redis CPU µs/delivery | node + Redis µs/delivery | node CPU µs/delivery (fixed rate) | p50 / p99 ms (fixed rate) | load average |',
    '|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  );
  for (const row of rows) {
    // In (a) nothing talks to Redis: its figure is the idle background, the noise floor of the others.
    const idle = row.variant === 'memory';
    const redisCell = (text: string) => (idle ? `(idle ${text})` : text);
    lines.push(
      `| ${row.subscribers.toLocaleString('en-US')} | ${variantLabels[row.variant]} | ${thousands(row.deliveriesPerSecond)} | ${number(row.serverCpuMicrosPerDelivery, 2)} | ` +
        `${thousands(row.serverCpuMicrosPerEvent)} | ${redisCell(number(row.redisCpuMicrosPerEvent))} | ${redisCell(number(row.redisCpuMicrosPerDelivery, 3))} | ` +
        `${number(row.totalCpuMicrosPerDelivery, 2)} | ${number(row.serverCpuMicrosPerDeliveryFixedRate, 2)} | ${number(row.fixedRateP50Ms)} / ${number(row.fixedRateP99Ms)} | ${number(row.loadAverage)} |`,
    );
  }
  lines.push(
    '',
    '## What Redis does per event (full speed)',
    '',
    'CPU is everything the redis-server spent (on the Redis Cluster, its masters summed), idle background included; "above idle" takes ' +
      'off the idle rate measured at the start of the run over the phase (at tens of events a second the idle background of three ' +
      'masters is most of the figure: `--publish-cost` measures a publish at thousands a second); commands count a script\'s own ' +
      'calls; script time is the Lua publish (stamp, append to the streams, `PUBLISH`/`SPUBLISH`) and the calls it makes; socket ' +
      'reads are wake-ups: fewer than one per command means commands arrived batched.',
    '',
    '| N | variant | Redis CPU µs/event | above idle | commands/event | script µs/event | socket reads/event |',
    '|---:|---|---:|---:|---:|---:|---:|',
  );
  for (const row of rows) {
    lines.push(
      `| ${row.subscribers.toLocaleString('en-US')} | ${variantLabels[row.variant]} | ${number(row.redisCpuMicrosPerEvent)} | ` +
        `${number(row.redisCpuMicrosPerEventAboveIdle)} | ${number(row.redisCommandsPerEvent, 2)} | ` +
        `${number(row.redisScriptMicrosPerEvent)} | ${number(row.redisSocketReadsPerEvent, 2)} |`,
    );
  }
  if (ratioRows.length > 0) {
    tableHead(
      lines,
      'Side by side with (a)',
      'Each figure is taken within one repeat against the (a) cell of the same N, which ran seconds to a minute apart; shown is the median over ' +
        'repeats and, in brackets, the lowest and highest repeat: the spread is what the shared machine adds.',
      ['N', 'variant', 'deliveries/s ÷ (a)', 'node CPU/delivery ÷ (a)', 'node + Redis CPU/delivery ÷ (a)', 'extra node µs/event', 'Redis µs/event', 'extra node + Redis µs/event', '… per delivery'],
    );
    for (const row of ratioRows) {
      lines.push(
        `| ${row.subscribers.toLocaleString('en-US')} | ${variantLabels[row.variant]} | ${spread(row.deliveriesPerSecond, ratio)} | ` +
          `${spread(row.serverCpuMicrosPerDelivery, ratio)} | ${spread(row.totalCpuMicrosPerDelivery, ratio)} | ` +
          `${spread(row.extraServerCpuMicrosPerEvent, (value) => signed(value))} | ${spread(row.redisCpuMicrosPerEvent, (value) => number(value))} | ` +
          `${spread(row.extraTotalCpuMicrosPerEvent, (value) => signed(value))} | ${spread(row.extraTotalCpuMicrosPerDelivery, (value) => signed(value, 3))} |`,
      );
    }
    lines.push('', '## Per event or per recipient?', '', ...perEventReading(rows, ratioRows));
  }
  if (pairRows.length > 0) {
    tableHead(
      lines,
      'Ours against Socket.IO\'s Redis adapter',
      'Ours ÷ Socket.IO with as many processes, within each repeat (cells seconds apart), median over repeats and the range: above 1, ours costs more ' +
        '(deliveries/s: above 1, ours delivers more).',
      ['N', 'pair', 'Redis commands/event', 'Redis CPU µs/event', 'node CPU µs/delivery', 'node + Redis µs/delivery', 'deliveries/s'],
    );
    for (const row of pairRows) {
      lines.push(
        `| ${row.subscribers.toLocaleString('en-US')} | ${variantLabels[row.variant]} ÷ ${variantLabels[row.baseline]} | ${spread(row.redisCommandsPerEvent, ratio)} | ` +
          `${spread(row.redisCpuMicrosPerEvent, ratio)} | ${spread(row.serverCpuMicrosPerDelivery, ratio)} | ${spread(row.totalCpuMicrosPerDelivery, ratio)} | ` +
          `${spread(row.deliveriesPerSecond, ratio)} |`,
      );
    }
  }
  const problems = rows.flatMap((row) => row.problems.map((problem) => `- ${variantLabels[row.variant]}, N=${row.subscribers}: ${problem}`));
  lines.push('', '## Problems during the run', '', ...(problems.length > 0 ? problems : ['None: every expected delivery arrived.']));
  const schedstat = redis.wholeRunCpuMsFromSchedstat;
  lines.push(
    '',
    '## How it is measured',
    '',
    '- Node CPU: `process.cpuUsage()` (all threads, GC included) of every server process across the phase, summed; per delivery divides by the deliveries received, per event by the events published.',
    `- Redis CPU: the redis-server's run time across the same phase, from \`/proc/<pid>/task/*/schedstat\` (nanoseconds, every thread) where the kernel has it, else \`/proc/<pid>/stat\` utime + stime (clock ticks, CLK_TCK = ${redis.clockTicksPerSecond}, too coarse for one phase). ` +
      `Whole run: ${number(redis.wholeRunCpuMsFromStat, 0)} ms by \`/proc/<pid>/stat\`` +
      (schedstat === undefined ? ' (no schedstat on this kernel).' : `, ${number(schedstat, 0)} ms by schedstat.`),
    '- Extra per event: the variant\'s (node + Redis) CPU per event minus (a)\'s node CPU per event, within one repeat. A cost per recipient would grow with N; a cost per event stays put.',
    '- Coalescing: each socket\'s writes in one tick go out in one syscall, so at full speed CPU per delivery falls the more events a process has queued at once; ' +
      'in (c) each process has half the subscribers and coalesces less. `--window 1` (one event in flight) removes coalescing from every variant.',
    '- Deliveries/s: deliveries received in the full-speed phase over the time from its first publish to its last delivery. On 2 cores the two load generators, the server process(es) and Redis share the machine, so (c) cannot show a second core\'s worth of throughput here: CPU per delivery is the figure to compare.',
    '- Latency: the publisher writes a high-resolution timestamp into the event; each subscriber socket compares it with its receive time (same machine clock).',
    '',
  );
  return lines.join('\n');
}
