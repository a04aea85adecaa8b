import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { renderChart } from './chart.ts';
import type { CpuLatencyHold } from './cpu-latency.ts';
import { LOAD_GENERATOR } from './load.ts';
import type { PairResult } from './pairs.ts';
import { CONNECTIONS, CYCLES, DURATION, HAS_TASKSET, ROOT, ROUNDS, SLICE, WARMUP } from './settings.ts';
import { formatTable, type TableRow } from './table.ts';
import { checkTargets } from './targets.ts';

/**
 * Writes the run to bench/results/<date>.json (machine, settings, table, pairs, targets) and
 * .svg (the chart), and prints the table, the pairs and the targets.
 */
export function writeReport(table: TableRow[], pairs: PairResult[], cpuLatency: CpuLatencyHold): void {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const result = {
    date: new Date().toISOString(),
    machine: {
      node: process.version,
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
  };
  mkdirSync(`${ROOT}bench/results`, { recursive: true });
  writeFileSync(`${ROOT}bench/results/${stamp}.json`, `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(`${ROOT}bench/results/${stamp}.svg`, renderChart(table));
  const targets = result.targets
    .map((target) => `${target.met ? 'met    ' : 'MISSED '} ${target.name}: ${target.value} (target ${target.target})`)
    .join('\n');
  const paired = pairs
    .map((pair) => `${pair.ratio}  ${pair.scenario} | ${pair.baseline}  (turns: ${pair.ratios.join(', ')})`)
    .join('\n');
  process.stdout.write(
    `\n${formatTable(table)}\n\npaired (throughput, scenario / baseline, median of turns):\n${paired}\n\n${targets}\nwrote bench/results/${stamp}.json and .svg\n`,
  );
}
