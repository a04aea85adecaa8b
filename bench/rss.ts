/**
 * `pnpm bench:rss`: the service's memory at start and under load, one server at a time, as
 * `pnpm bench` starts it (built by `pnpm build`, the start script's command and V8 flags,
 * BENCH_NODE's Node, pinned to core 0). For each of `service`, `service-traced` and
 * `service-metrics` (BENCH_RSS_SERVERS names others, comma-separated): VmRSS a second after it
 * answers, then VmRSS and VmHWM (the peak `pnpm bench` reports) after each scenario, driven
 * for BENCH_RSS_SECONDS (4) at the bench's connections. Not a target run: a quick look at what
 * a change does to memory, on a machine others may share.
 */
import { prepareBenchDatabase } from './fixture.ts';
import { generateLoad } from './load.ts';
import { nodeBinary } from './node-binary.ts';
import { startOtlpSink } from './otlp-sink.ts';
import { SCENARIOS } from './scenarios.ts';
import { rssMb, startServers, stopServers } from './server-process.ts';
import { buildService, servers } from './server-specs.ts';
import { CONNECTIONS, HAS_TASKSET, JWT_SECRET, SCRATCH_DIR } from './settings.ts';

const SERVERS = (process.env.BENCH_RSS_SERVERS ?? 'service,service-traced,service-metrics').split(',');
const SECONDS = Number(process.env.BENCH_RSS_SECONDS ?? 4);
const LOADS = [
  'service: tRPC system.ping',
  'service: REST products.get',
  'service: tRPC orders.get (auth)',
  'service: REST orders.get (auth)',
  'service: tRPC orders.create, one hot product',
  'service: REST orders.create, spread products',
];

const databaseUrl = process.env.DATABASE_URL;
if (!databaseUrl) throw new Error('DATABASE_URL is required');
buildService();
const { url, fixture } = await prepareBenchDatabase(databaseUrl, JWT_SECRET);
const sink = await startOtlpSink();
const node = nodeBinary(process.env.BENCH_NODE ?? '24');
const specs = servers(url, { otlpUrl: sink.url }).filter((spec) => SERVERS.includes(spec.name));
const mb = (value: number) => value.toFixed(1).padStart(6);

for (const spec of specs) {
  const running = await startServers([spec], node, 4300);
  const server = running.get(spec.name);
  if (!server?.process.pid) throw new Error(`${spec.name} did not start`);
  const pid = server.process.pid;
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const start = rssMb(pid);
  process.stdout.write(
    `${spec.name} on node ${node.version}\n  start${' '.repeat(42)} rss ${mb(start.rss)}  peak ${mb(start.peak)}\n`,
  );
  for (const name of LOADS) {
    const scenario = SCENARIOS.find((candidate) => candidate.name === name);
    if (!scenario) throw new Error(`no scenario ${name}`);
    const load = await generateLoad({
      url: server.url,
      request: scenario.request(fixture),
      seconds: SECONDS,
      connections: CONNECTIONS,
      pin: HAS_TASKSET ? ['taskset', '-c', '1'] : [],
      scratchDir: SCRATCH_DIR,
    });
    const now = rssMb(pid);
    process.stdout.write(
      `  ${name.replace('service: ', '').padEnd(46)} rss ${mb(now.rss)}  peak ${mb(now.peak)}  (${Math.round(load.requestsPerSecond)} req/s)\n`,
    );
  }
  stopServers(running);
  await new Promise((resolve) => server.process.once('exit', resolve));
}
sink.server.close();
