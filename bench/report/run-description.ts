/** When, where and how a run was made: printed with every table and chart. */
import os from 'node:os';
import type { BenchOptions } from '../options.js';

export interface RunDescription {
  date: string;
  machine: { cpuModel: string; cores: number; memoryGb: number; node: string; os: string };
  options: BenchOptions;
  officialClientChecks: string[];
}

export function describeMachine(): RunDescription['machine'] {
  return {
    cpuModel: os.cpus()[0]?.model.trim() ?? 'unknown CPU',
    cores: os.availableParallelism(),
    memoryGb: Math.round(os.totalmem() / 2 ** 30),
    node: process.versions.node,
    os: `${os.type()} ${os.release()}`,
  };
}

export function describeRun(options: BenchOptions, officialClientChecks: string[]): RunDescription {
  return { date: new Date().toISOString(), machine: describeMachine(), options, officialClientChecks };
}
