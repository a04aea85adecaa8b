/**
 * `pnpm bench`: measures the service against baselines measured in the same run, on this
 * machine, and reports ratios (absolute figures drift between runs; ratios hold).
 *
 * Needs DATABASE_URL (real PostgreSQL; a database `orders_bench` is created beside it).
 * Servers run pinned to core 0 and the load generator (wrk where installed, else autocannon)
 * to core 1 where `taskset` exists, on Node 24 LTS (BENCH_NODE; see node-binary.ts).
 * Each scenario is measured alone in interleaved rounds (the table), then the ratios the
 * targets read are measured in pairs, scenario and baseline taking turns (see PAIRS in pairs.ts);
 * then the main pairs again on the Node beside (BENCH_BESIDE_NODE, the machine's by default).
 * Env: BENCH_NODE (`24`, `machine` or a path), BENCH_BESIDE_NODE (`machine`, `24`, a path or
 * `none`), BENCH_DURATION (s, default 8), BENCH_WARMUP (s, 2), BENCH_ROUNDS (3), BENCH_SLICE
 * (s, 2), BENCH_CYCLES (20; orders.create's pairs take half, the Node beside 30%),
 * BENCH_CONNECTIONS (50), BENCH_ONLY (comma-separated parts of scenario names),
 * BENCH_DATABASE (orders_bench), BENCH_CPU_LATENCY (`default` leaves idle CPUs free to sleep;
 * see cpu-latency.ts).
 */
import pg from 'pg';
import { holdCpusAwake } from './cpu-latency.ts';
import { prepareBenchDatabase, type BenchFixture } from './fixture.ts';
import { measureRounds, type Measurement } from './measure.ts';
import { nodeBinary, type NodeBinary } from './node-binary.ts';
import { startOtlpSink } from './otlp-sink.ts';
import { BESIDE_PAIRS, measurePairs, PAIRS, type PairResult } from './pairs.ts';
import { writeReport } from './report.ts';
import { selectedScenarios, type Scenario } from './scenarios.ts';
import { startServers, stopServers } from './server-process.ts';
import { buildService, servers, type ServerSpec } from './server-specs.ts';
import { BENCH_NODE, BESIDE_NODE, JWT_SECRET } from './settings.ts';
import { tableOf } from './table.ts';

/** The Node reported beside, unless it is switched off or the same version as the servers'. */
function besideNode(main: NodeBinary): NodeBinary | undefined {
  if (BESIDE_NODE === 'none') return undefined;
  const beside = nodeBinary(BESIDE_NODE);
  return beside.version === main.version ? undefined : beside;
}

/** The main pairs on the Node beside: only the servers they need, started after the main run's stopped. */
async function measureBeside(
  node: NodeBinary,
  specs: ServerSpec[],
  { scenarios, fixture }: { scenarios: Scenario[]; fixture: BenchFixture },
): Promise<PairResult[]> {
  const names = new Set(BESIDE_PAIRS.flatMap((pair) => [pair.scenario, pair.baseline]));
  const needed = new Set(scenarios.filter((scenario) => names.has(scenario.name)).map((scenario) => scenario.server));
  const running = await startServers(
    specs.filter((spec) => needed.has(spec.name)),
    node,
    4200,
  );
  process.stdout.write(`beside: the main pairs on node ${node.version}\n`);
  try {
    return await measurePairs(running, BESIDE_PAIRS, { scenarios, fixture, warmUp: true });
  } finally {
    stopServers(running);
  }
}

async function main(): Promise<void> {
  const databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) {
    process.stderr.write(
      'pnpm bench needs DATABASE_URL (a PostgreSQL server; it creates the database orders_bench there)\n',
    );
    process.exit(2);
  }
  const scenarios = selectedScenarios(process.env.BENCH_ONLY);
  const node = nodeBinary(BENCH_NODE);
  const beside = besideNode(node);
  process.stdout.write(`servers on node ${node.version}${beside ? `, main pairs beside on ${beside.version}` : ''}\n`);
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

  let samples: Map<string, Measurement[]>;
  let pairs: PairResult[];
  let besidePairs: PairResult[] = [];
  try {
    const running = await startServers(specs, node, 4100);
    try {
      samples = await measureRounds(running, scenarios, fixture);
      pairs = await measurePairs(running, PAIRS, { scenarios, fixture });
    } finally {
      stopServers(running);
    }
    if (beside) besidePairs = await measureBeside(beside, specs, { scenarios, fixture });
  } finally {
    cpuLatency.release();
    otlp.server.close();
  }
  process.stdout.write(`the OTLP sink received ${otlp.exports()} span exports\n`);

  writeReport({
    table: tableOf(scenarios, samples),
    pairs,
    cpuLatency,
    runtimes: { node: node.version, beside: beside ? { node: beside.version, pairs: besidePairs } : null },
  });
  await new pg.Pool({ connectionString: databaseUrl }).end();
}

await main();
