/**
 * `pnpm bench`: measures the service against baselines measured in the same run, on this
 * machine, and reports ratios (absolute figures drift between runs; ratios hold).
 *
 * Needs DATABASE_URL (real PostgreSQL; a database `orders_bench` is created beside it).
 * Servers run pinned to core 0 and the load generator (wrk where installed, else autocannon)
 * to core 1 where `taskset` exists.
 * Each scenario is measured alone in interleaved rounds (the table), then the ratios the
 * targets read are measured in pairs, scenario and baseline taking turns (see PAIRS in pairs.ts).
 * Env: BENCH_DURATION (s, default 8), BENCH_WARMUP (s, 2), BENCH_ROUNDS (3), BENCH_SLICE (s, 2),
 * BENCH_CYCLES (20), BENCH_CONNECTIONS (50), BENCH_ONLY (comma-separated scenario names),
 * BENCH_CPU_LATENCY (`default` leaves idle CPUs free to sleep; see cpu-latency.ts).
 */
import pg from 'pg';
import { holdCpusAwake } from './cpu-latency.ts';
import { prepareBenchDatabase } from './fixture.ts';
import { measureRounds, type Measurement } from './measure.ts';
import { startOtlpSink } from './otlp-sink.ts';
import { measurePairs, type PairResult } from './pairs.ts';
import { writeReport } from './report.ts';
import { selectedScenarios } from './scenarios.ts';
import { startServers } from './server-process.ts';
import { buildService, servers } from './server-specs.ts';
import { JWT_SECRET } from './settings.ts';
import { tableOf } from './table.ts';

async function main(): Promise<void> {
  const databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) {
    process.stderr.write(
      'pnpm bench needs DATABASE_URL (a PostgreSQL server; it creates the database orders_bench there)\n',
    );
    process.exit(2);
  }
  const scenarios = selectedScenarios(process.env.BENCH_ONLY);
  buildService();
  const { url: benchUrl, fixture } = await prepareBenchDatabase(databaseUrl, JWT_SECRET);
  const otlp = await startOtlpSink();
  const specs = servers(benchUrl, { otlpUrl: otlp.url }).filter((spec) =>
    scenarios.some((scenario) => scenario.server === spec.name),
  );
  const cpuLatency = holdCpusAwake();
  process.stdout.write(
    cpuLatency.polling
      ? `idle CPUs poll for the run (cpu_dma_latency 0, cpuidle driver ${cpuLatency.idleDriver})\n`
      : `idle CPUs may sleep (cpuidle driver ${cpuLatency.idleDriver}; cpu_dma_latency not held)\n`,
  );
  const running = await startServers(specs);

  let samples: Map<string, Measurement[]>;
  let pairs: PairResult[];
  try {
    samples = await measureRounds(running, scenarios, fixture);
    pairs = await measurePairs(running, scenarios, fixture);
  } finally {
    for (const target of running.values()) target.process.kill('SIGTERM');
    cpuLatency.release();
    otlp.server.close();
  }
  process.stdout.write(`the OTLP sink received ${otlp.exports()} span exports\n`);

  writeReport(tableOf(scenarios, samples), pairs, cpuLatency);
  await new pg.Pool({ connectionString: databaseUrl }).end();
}

await main();
