import type { BenchFixture } from './fixture.ts';
import { generateLoad, type LoadRequest, type LoadResult } from './load.ts';
import type { Scenario } from './scenarios.ts';
import { CLOCK_TICKS, cpuTicks, emptyLog, rssMb, type Running } from './server-process.ts';
import { CONNECTIONS, DURATION, HAS_TASKSET, ROUNDS, SCRATCH_DIR, WARMUP } from './settings.ts';

export interface Measurement {
  requestsPerSecond: number;
  callsPerSecond: number;
  p50: number;
  p99: number;
  cpuMicrosPerCall: number;
  rssMb: number;
  errors: number;
  non2xx: number;
}

/** `seconds` of `request` against a running server, from core 1 where it can be pinned. */
export function load(target: Running, request: LoadRequest, seconds: number): Promise<LoadResult> {
  emptyLog(target);
  return generateLoad({
    url: target.url,
    request,
    seconds,
    connections: CONNECTIONS,
    pin: HAS_TASKSET ? ['taskset', '-c', '1'] : [],
    scratchDir: SCRATCH_DIR,
  });
}

export const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;

/** One scenario after its warm-up: throughput, latency, and the server's CPU and memory meanwhile. */
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

/** Drives a scenario through every server that shadows its server (see ServerSpec.shadows). */
async function driveShadows(running: Map<string, Running>, scenario: Scenario, fixture: BenchFixture): Promise<void> {
  for (const shadow of running.values()) {
    if (shadow.spec.shadows !== scenario.server) continue;
    const shadowed = await load(shadow, scenario.request(fixture), WARMUP);
    // A shadow that failed its requests has not served the route: the pair would not be even.
    const failed = shadowed.errors + shadowed.non2xx;
    if (failed > 0) process.stdout.write(`shadow  ${shadow.spec.name}: ${failed} failed requests\n`);
  }
}

/** Every scenario, measured alone, in BENCH_ROUNDS interleaved rounds: each scenario's measurements. */
export async function measureRounds(
  running: Map<string, Running>,
  scenarios: Scenario[],
  fixture: BenchFixture,
): Promise<Map<string, Measurement[]>> {
  const samples = new Map<string, Measurement[]>();
  for (let round = 1; round <= ROUNDS; round++) {
    for (const scenario of scenarios) {
      const target = running.get(scenario.server);
      if (!target || scenario.pairedOnly) continue;
      const measurement = await measure(target, scenario, fixture);
      samples.set(scenario.name, [...(samples.get(scenario.name) ?? []), measurement]);
      process.stdout.write(
        `round ${round}/${ROUNDS}  ${scenario.name}: ${Math.round(measurement.callsPerSecond)} calls/s\n`,
      );
      await driveShadows(running, scenario, fixture);
    }
  }
  return samples;
}
