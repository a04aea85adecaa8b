/**
 * `pnpm bench`: measures the service against baselines measured in the same run, on this
 * machine, and reports ratios (absolute figures drift between runs; ratios hold).
 *
 * Needs DATABASE_URL (real PostgreSQL; a database `orders_bench` is created beside it).
 * Servers run pinned to core 0 and the load generator (wrk where installed, else autocannon)
 * to core 1 where `taskset` exists.
 * Each scenario is measured alone in interleaved rounds (the table), then the ratios the
 * targets read are measured in pairs, scenario and baseline taking turns (see PAIRS).
 * Env: BENCH_DURATION (s, default 8), BENCH_WARMUP (s, 2), BENCH_ROUNDS (3), BENCH_SLICE (s, 2),
 * BENCH_CYCLES (20), BENCH_CONNECTIONS (50), BENCH_ONLY (comma-separated scenario names),
 * BENCH_CPU_LATENCY (`default` leaves idle CPUs free to sleep; see cpu-latency.ts).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { renderChart } from './chart.ts';
import { holdCpusAwake } from './cpu-latency.ts';
import { prepareBenchDatabase, type BenchFixture } from './fixture.ts';
import { generateLoad, LOAD_GENERATOR, type LoadRequest } from './load.ts';
import { buildServer, startCommand } from '../server/test/start-command.ts';
import { checkTargets } from './targets.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DURATION = Number(process.env.BENCH_DURATION ?? 8);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 2);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SLICE = Number(process.env.BENCH_SLICE ?? 2);
const CYCLES = Number(process.env.BENCH_CYCLES ?? 20);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const JWT_SECRET = 'bench-secret-that-is-long-enough-for-hs256-0123456789';
const HAS_TASKSET = spawnSync('taskset', ['-c', '0', 'true']).status === 0;
const CLOCK_TICKS = 100;

interface ServerSpec {
  name: string;
  script: string;
  env: Record<string, string>;
  /**
   * Another server whose scenarios this one is also driven through, unmeasured, in every round
   * (each for the warm-up's length), so that both have served the same routes when they are
   * compared. A server that has served other routes runs any one of them slower (its
   * optimised code has seen more shapes): measured at 8% on `system.ping` with logging off.
   */
  shadows?: string;
}

interface Scenario {
  name: string;
  server: string;
  /** What it is compared with. */
  baseline?: string;
  request: (fixture: BenchFixture) => LoadRequest;
  /** Calls per HTTP request (a batch). */
  callsPerRequest?: number;
}

const tokenHeader = (fixture: BenchFixture) => ({ authorization: `Bearer ${fixture.accessToken}` });
const input = (value: unknown) => encodeURIComponent(JSON.stringify(value));

const FLOOR_PRODUCTS = 'floor: pg select + log line (products.get)';
const FLOOR_ORDERS = 'floor: + JWT verify (orders.get)';
const productsGet = (f: BenchFixture) => ({ path: `/trpc/v1.products.get?input=${input({ productId: f.productId })}` });
const productsGetRest = (f: BenchFixture) => ({ path: `/api/v1/products/${f.productId}` });
const ping = () => ({ path: '/trpc/v1.system.ping' });

const SCENARIOS: Scenario[] = [
  { name: 'bare node http', server: 'bare', request: () => ({ path: '/' }) },
  {
    name: FLOOR_PRODUCTS,
    server: 'floor',
    baseline: 'bare node http',
    request: (f) => ({ path: `/products/${f.productId}` }),
  },
  {
    name: FLOOR_ORDERS,
    server: 'floor',
    baseline: 'bare node http',
    request: (f) => ({ path: `/orders/${f.orderId}`, headers: tokenHeader(f) }),
  },
  {
    name: 'official tRPC adapter, trivial query',
    server: 'trpc',
    baseline: 'bare node http',
    request: () => ({ path: `/ping?input=${input({ name: 'x' })}` }),
  },
  { name: 'service: tRPC system.ping', server: 'service', baseline: 'bare node http', request: ping },
  {
    name: 'service: REST system.ping',
    server: 'service',
    baseline: 'bare node http',
    request: () => ({ path: '/api/v1/system/ping' }),
  },
  {
    name: 'service, logging off: tRPC system.ping',
    server: 'service-quiet',
    baseline: 'bare node http',
    request: ping,
  },
  { name: 'service: tRPC products.get', server: 'service', baseline: FLOOR_PRODUCTS, request: productsGet },
  { name: 'service: REST products.get', server: 'service', baseline: FLOOR_PRODUCTS, request: productsGetRest },
  {
    name: 'service: tRPC orders.get (auth)',
    server: 'service',
    baseline: FLOOR_ORDERS,
    request: (f) => ({ path: `/trpc/v1.orders.get?input=${input({ orderId: f.orderId })}`, headers: tokenHeader(f) }),
  },
  {
    name: 'service: REST orders.get (auth)',
    server: 'service',
    baseline: FLOOR_ORDERS,
    request: (f) => ({ path: `/api/v1/orders/${f.orderId}`, headers: tokenHeader(f) }),
  },
  {
    name: 'service: tRPC batch of 10 products.get',
    server: 'service',
    baseline: FLOOR_PRODUCTS,
    callsPerRequest: 10,
    request: (f) => ({
      path: `/trpc/${Array(10).fill('v1.products.get').join(',')}?batch=1&input=${input(Object.fromEntries(Array.from({ length: 10 }, (_, i) => [String(i), { productId: f.productId }])))}`,
    }),
  },
  {
    name: 'service: REST orders.create with payment',
    server: 'service',
    request: (f) => ({
      path: '/api/v1/orders/create',
      method: 'POST',
      headers: { ...tokenHeader(f), 'content-type': 'application/json' },
      body: JSON.stringify({ items: [{ productId: f.productId, quantity: 1 }], paymentMethod: 'pm_card_visa' }),
    }),
  },
  // The same service on the official adapters (HTTP_ADAPTER=official): what the native paths buy.
  {
    name: 'official adapters: tRPC system.ping',
    server: 'service-official',
    baseline: 'bare node http',
    request: ping,
  },
  {
    name: 'official adapters: tRPC products.get',
    server: 'service-official',
    baseline: FLOOR_PRODUCTS,
    request: productsGet,
  },
  {
    name: 'official adapters: REST products.get',
    server: 'service-official',
    baseline: FLOOR_PRODUCTS,
    request: productsGetRest,
  },
];

/** The service `pnpm start` runs: the output of `pnpm build`, built at the start of each run. */
const SERVICE = 'server/dist/main.js';

function buildService(): void {
  const build = buildServer(ROOT);
  if (build.status !== 0) throw new Error(`pnpm build failed:\n${build.stderr}`);
}

function servers(databaseUrl: string): ServerSpec[] {
  const database = { DATABASE_URL: databaseUrl, JWT_SECRET };
  // Production mode, every line at info and up, written (with stdout) to bench/tmp/<name>.log.
  const service = {
    ...database,
    NODE_ENV: 'production',
    MIGRATE_ON_START: 'false',
    LOG_LEVEL: 'info',
    PANEL_ENABLED: 'false',
    RATE_LIMIT_PER_IP: '1000000',
  };
  return [
    { name: 'bare', script: 'bench/servers/bare-http.ts', env: {} },
    { name: 'floor', script: 'bench/servers/floor.ts', env: database },
    { name: 'trpc', script: 'bench/servers/official-trpc.ts', env: {} },
    { name: 'service', script: SERVICE, env: service },
    { name: 'service-official', script: SERVICE, env: { ...service, HTTP_ADAPTER: 'official' } },
    // Only errors are logged: the difference to `service` is what the info lines cost.
    { name: 'service-quiet', script: SERVICE, env: { ...service, LOG_LEVEL: 'error' }, shadows: 'service' },
  ];
}

interface Running {
  spec: ServerSpec;
  process: ChildProcess;
  url: string;
}

async function waitUntilAnswering(url: string): Promise<void> {
  for (let tries = 0; tries < 200; tries++) {
    try {
      await fetch(url, { signal: AbortSignal.timeout(500) });
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  throw new Error(`${url} did not answer`);
}

async function startServer(spec: ServerSpec, port: number): Promise<Running> {
  mkdirSync(`${ROOT}bench/tmp`, { recursive: true });
  const log = openSync(`${ROOT}bench/tmp/${spec.name}.log`, 'w');
  // The service runs compiled, exactly as `pnpm start` runs it (V8 flags included); the
  // baselines are single files run through tsx.
  const command =
    spec.script === SERVICE
      ? [process.execPath, ...startCommand(ROOT)]
      : [process.execPath, '--import', 'tsx', spec.script];
  const child = spawn(
    HAS_TASKSET ? 'taskset' : (command[0] ?? 'node'),
    HAS_TASKSET ? ['-c', '0', ...command] : command.slice(1),
    {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', PORT: String(port), ...spec.env },
      stdio: ['ignore', log, log],
    },
  );
  const url = `http://127.0.0.1:${port}`;
  await waitUntilAnswering(url);
  return { spec, process: child, url };
}

function cpuTicks(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return Number(fields[11]) + Number(fields[12]);
}

function rssMb(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
}

interface Measurement {
  requestsPerSecond: number;
  callsPerSecond: number;
  p50: number;
  p99: number;
  cpuMicrosPerCall: number;
  rssMb: number;
  errors: number;
  non2xx: number;
}

function load(target: Running, request: LoadRequest, seconds: number) {
  return generateLoad({
    url: target.url,
    request,
    seconds,
    connections: CONNECTIONS,
    pin: HAS_TASKSET ? ['taskset', '-c', '1'] : [],
    scratchDir: `${ROOT}bench/tmp`,
  });
}

interface Load {
  target: Running;
  scenario: Scenario;
}

async function measure(target: Running, scenario: Scenario, fixture: BenchFixture): Promise<Measurement> {
  const pid = target.process.pid ?? 0;
  const request = scenario.request(fixture);
  await load(target, request, WARMUP);
  const before = cpuTicks(pid);
  const result = await load(target, request, DURATION);
  const cpuSeconds = (cpuTicks(pid) - before) / CLOCK_TICKS;
  const calls = result.totalRequests * (scenario.callsPerRequest ?? 1);
  return {
    requestsPerSecond: result.requestsPerSecond,
    callsPerSecond: result.requestsPerSecond * (scenario.callsPerRequest ?? 1),
    p50: result.p50,
    p99: result.p99,
    cpuMicrosPerCall: calls > 0 ? (cpuSeconds * 1e6) / calls : Number.NaN,
    rssMb: rssMb(pid).peak,
    errors: result.errors,
    non2xx: result.non2xx,
  };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;

/**
 * The ratios the targets read, each measured as a pair: the scenario and its baseline take
 * turns in short slices (BENCH_SLICE seconds each, BENCH_CYCLES turns), and each turn gives a
 * ratio of their throughputs; the pair's ratio is the median turn. This machine's speed drifts
 * (up to 2x within a minute on a shared virtual machine): a scenario measured a minute after
 * its baseline carries that drift, one measured seconds after it hardly does. (Running both at
 * once would see the same machine too, but not the same server: two servers sharing a core
 * each take requests in bigger batches, which favours the one whose cost is system calls.)
 */
const PAIRS: { scenario: string; baseline: string }[] = [
  { scenario: 'service: tRPC system.ping', baseline: 'bare node http' },
  { scenario: 'service: tRPC products.get', baseline: FLOOR_PRODUCTS },
  { scenario: 'service: REST products.get', baseline: FLOOR_PRODUCTS },
  { scenario: 'service: tRPC orders.get (auth)', baseline: FLOOR_ORDERS },
  { scenario: 'service: REST orders.get (auth)', baseline: FLOOR_ORDERS },
  { scenario: 'service: tRPC system.ping', baseline: 'service, logging off: tRPC system.ping' },
];

interface PairResult {
  scenario: string;
  baseline: string;
  /** Each turn's throughput ratio, scenario over baseline. */
  ratios: number[];
  ratio: number;
  errors: number;
}

/** One slice of load on a warm server: calls per second and failed requests. */
async function slice(
  { target, scenario }: Load,
  fixture: BenchFixture,
): Promise<{ callsPerSecond: number; errors: number }> {
  const result = await load(target, scenario.request(fixture), SLICE);
  return {
    callsPerSecond: result.requestsPerSecond * (scenario.callsPerRequest ?? 1),
    errors: result.errors + result.non2xx,
  };
}

async function measurePairs(
  running: Map<string, Running>,
  scenarios: Scenario[],
  fixture: BenchFixture,
): Promise<PairResult[]> {
  const loadOf = (name: string): Load | undefined => {
    const scenario = scenarios.find((candidate) => candidate.name === name);
    const target = scenario && running.get(scenario.server);
    return scenario && target ? { target, scenario } : undefined;
  };
  const results: PairResult[] = [];
  for (const { scenario, baseline } of PAIRS) {
    const measured = loadOf(scenario);
    const base = loadOf(baseline);
    if (!measured || !base) continue;
    const ratios: number[] = [];
    let errors = 0;
    for (let turn = 0; turn < CYCLES; turn++) {
      // Each goes first in every other turn: the second slice of a turn runs on a machine that
      // has just been busy, which measured a few percent either way.
      const baseFirst = turn % 2 === 0;
      const first = await slice(baseFirst ? base : measured, fixture);
      const second = await slice(baseFirst ? measured : base, fixture);
      const [baseSlice, measuredSlice] = baseFirst ? [first, second] : [second, first];
      ratios.push(measuredSlice.callsPerSecond / baseSlice.callsPerSecond);
      errors += baseSlice.errors + measuredSlice.errors;
    }
    const ratio = Math.round(median(ratios) * 1000) / 1000;
    results.push({ scenario, baseline, ratios: ratios.map((value) => Math.round(value * 1000) / 1000), ratio, errors });
    process.stdout.write(`paired  ${scenario} | ${baseline}: ${ratio}\n`);
  }
  return results;
}

async function main(): Promise<void> {
  const databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) {
    process.stderr.write(
      'pnpm bench needs DATABASE_URL (a PostgreSQL server; it creates the database orders_bench there)\n',
    );
    process.exit(2);
  }
  const only = process.env.BENCH_ONLY?.split(',').map((name) => name.trim());
  const scenarios = SCENARIOS.filter((scenario) => !only || only.some((name) => scenario.name.includes(name)));
  buildService();
  const { url: benchUrl, fixture } = await prepareBenchDatabase(databaseUrl, JWT_SECRET);
  const specs = servers(benchUrl).filter((spec) => scenarios.some((scenario) => scenario.server === spec.name));
  const cpuLatency = holdCpusAwake();
  process.stdout.write(
    cpuLatency.polling
      ? `idle CPUs poll for the run (cpu_dma_latency 0, cpuidle driver ${cpuLatency.idleDriver})\n`
      : `idle CPUs may sleep (cpuidle driver ${cpuLatency.idleDriver}; cpu_dma_latency not held)\n`,
  );
  const running = new Map<string, Running>();
  let port = 4100;
  for (const spec of specs) running.set(spec.name, await startServer(spec, port++));

  const samples = new Map<string, Measurement[]>();
  let pairs: PairResult[];
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      for (const scenario of scenarios) {
        const target = running.get(scenario.server);
        if (!target) continue;
        const measurement = await measure(target, scenario, fixture);
        samples.set(scenario.name, [...(samples.get(scenario.name) ?? []), measurement]);
        process.stdout.write(
          `round ${round}/${ROUNDS}  ${scenario.name}: ${Math.round(measurement.callsPerSecond)} calls/s\n`,
        );
        for (const shadow of running.values()) {
          if (shadow.spec.shadows !== scenario.server) continue;
          const shadowed = await load(shadow, scenario.request(fixture), WARMUP);
          // A shadow that failed its requests has not served the route: the pair would not be even.
          const failed = shadowed.errors + shadowed.non2xx;
          if (failed > 0) process.stdout.write(`shadow  ${shadow.spec.name}: ${failed} failed requests\n`);
        }
      }
    }
    pairs = await measurePairs(running, scenarios, fixture);
  } finally {
    for (const target of running.values()) target.process.kill('SIGTERM');
    cpuLatency.release();
  }

  const rows = scenarios.map((scenario) => {
    const measured = samples.get(scenario.name) ?? [];
    const pick = (key: keyof Measurement) => median(measured.map((m) => m[key]));
    return {
      scenario: scenario.name,
      baseline: scenario.baseline ?? null,
      callsPerSecond: Math.round(pick('callsPerSecond')),
      requestsPerSecond: Math.round(pick('requestsPerSecond')),
      p50Ms: pick('p50'),
      p99Ms: pick('p99'),
      cpuMicrosPerCall: Math.round(pick('cpuMicrosPerCall') * 10) / 10,
      peakRssMb: Math.round(pick('rssMb')),
      errors: measured.reduce((sum, m) => sum + m.errors + m.non2xx, 0),
    };
  });
  const bare = rows.find((row) => row.scenario === 'bare node http')?.callsPerSecond ?? Number.NaN;
  const table = rows.map((row) => {
    const baseline = rows.find((other) => other.scenario === row.baseline)?.callsPerSecond;
    return {
      ...row,
      ratioToBare: Math.round((row.callsPerSecond / bare) * 1000) / 1000,
      ratioToBaseline: baseline ? Math.round((row.callsPerSecond / baseline) * 1000) / 1000 : null,
    };
  });

  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const result = {
    date: new Date().toISOString(),
    machine: {
      node: process.version,
      cpus: (await import('node:os')).cpus().length,
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
  await new pg.Pool({ connectionString: databaseUrl }).end();
}

function formatTable(
  table: {
    scenario: string;
    callsPerSecond: number;
    p50Ms: number;
    p99Ms: number;
    cpuMicrosPerCall: number;
    peakRssMb: number;
    ratioToBare: number;
    ratioToBaseline: number | null;
    errors: number;
  }[],
): string {
  const header = [
    'scenario',
    'calls/s',
    'p50 ms',
    'p99 ms',
    'CPU µs/call',
    'peak RSS MB',
    '× bare',
    '× baseline',
    'errors',
  ];
  const lines = table.map((row) =>
    [
      row.scenario,
      row.callsPerSecond,
      row.p50Ms,
      row.p99Ms,
      row.cpuMicrosPerCall,
      row.peakRssMb,
      row.ratioToBare,
      row.ratioToBaseline ?? '',
      row.errors,
    ].map(String),
  );
  const widths = header.map((title, column) =>
    Math.max(title.length, ...lines.map((line) => (line[column] ?? '').length)),
  );
  const format = (cells: string[]) => cells.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  ');
  return [format(header), ...lines.map(format)].join('\n');
}

await main();
