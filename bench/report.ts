import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { renderChart } from './chart.ts';
import type { CpuLatencyHold } from './cpu-latency.ts';
import { LOAD_GENERATOR } from './load.ts';
import type { PairResult } from './pairs.ts';
import { CONNECTIONS, CYCLES, DURATION, HAS_TASKSET, ROOT, ROUNDS, SLICE, WARMUP } from './settings.ts';
import { formatTable, type TableRow } from './table.ts';
import { checkTargets } from './targets.ts';

/** The Node the servers ran on, and the one whose main pairs are reported beside (null when none ran). */
export interface Runtimes {
  node: string;
  beside: { node: string; pairs: PairResult[] } | null;
}

const pairLines = (pairs: PairResult[]) =>
  pairs
    .map((pair) => `${pair.ratio}  ${pair.scenario} | ${pair.baseline}  (turns: ${pair.ratios.join(', ')})`)
    .join('\n');

/**
 * Writes the run to bench/results/<date>.json (machine, settings, table, pairs, targets, the
 * Node beside) and .svg (the chart), and prints the table, the pairs and the targets.
 */
export function writeReport({
  table,
  pairs,
  cpuLatency,
  runtimes,
}: {
  table: TableRow[];
  pairs: PairResult[];
  cpuLatency: CpuLatencyHold;
  runtimes: Runtimes;
}): void {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const result = {
    date: new Date().toISOString(),
    machine: {
      node: runtimes.node,
      cpus: cpus().length,
      pinned: HAS_TASKSET,
      idleCpusPoll: cpuLatency.polling,
      cpuidleDriver: cpuLatency.idleDriver,
    },
    settings: {
      durationS: DURATION,
      warmupS: WARMUP,
      rounds: ROUNDS,
      sliceS: SLICE,
      cycles: CYCLES,
      connections: CONNECTIONS,
      loadGenerator: LOAD_GENERATOR,
    },
    table,
    pairs,
    targets: checkTargets(table, pairs),
    beside: runtimes.beside,
  };
  mkdirSync(`${ROOT}bench/results`, { recursive: true });
  writeFileSync(`${ROOT}bench/results/${stamp}.json`, `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(`${ROOT}bench/results/${stamp}.svg`, renderChart(table));
  const targets = result.targets
    .map((target) => `${target.met ? 'met    ' : 'MISSED '} ${target.name}: ${target.value} (target ${target.target})`)
    .join('\n');
  const beside = runtimes.beside
    ? `\n\nbeside, on node ${runtimes.beside.node} (the main pairs):\n${pairLines(runtimes.beside.pairs)}`
    : '';
  process.stdout.write(
    `\nnode ${runtimes.node}\n${formatTable(table)}\n\npaired (throughput, scenario / baseline, median of turns):\n${pairLines(pairs)}${beside}\n\n${targets}\nwrote bench/results/${stamp}.json and .svg\n`,
  );
}
