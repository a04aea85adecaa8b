import type { BenchFixture } from './fixture.ts';
import { load, median } from './measure.ts';
import {
  BARE,
  FLOOR_ORDERS,
  FLOOR_PRODUCTS,
  METRICS_PING,
  METRICS_PRODUCTS,
  TRACED_PING,
  TRACED_PRODUCTS,
  type Scenario,
} from './scenarios.ts';
import type { Running } from './server-process.ts';
import { CYCLES, SLICE } from './settings.ts';

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
  { scenario: 'service: tRPC system.ping', baseline: BARE },
  { scenario: 'service: tRPC products.get', baseline: FLOOR_PRODUCTS },
  { scenario: 'service: REST products.get', baseline: FLOOR_PRODUCTS },
  { scenario: 'service: tRPC orders.get (auth)', baseline: FLOOR_ORDERS },
  { scenario: 'service: REST orders.get (auth)', baseline: FLOOR_ORDERS },
  { scenario: 'service: tRPC system.ping', baseline: 'service, logging off: tRPC system.ping' },
  // What tracing (sampling 1.0, exported) and metrics cost: the service with them over the service without.
  { scenario: TRACED_PING, baseline: 'service: tRPC system.ping' },
  { scenario: TRACED_PRODUCTS, baseline: 'service: tRPC products.get' },
  { scenario: METRICS_PING, baseline: 'service: tRPC system.ping' },
  { scenario: METRICS_PRODUCTS, baseline: 'service: tRPC products.get' },
];

export interface PairResult {
  scenario: string;
  baseline: string;
  /** Each turn's throughput ratio, scenario over baseline. */
  ratios: number[];
  ratio: number;
  errors: number;
}

/** A scenario and the running server it is measured on. */
interface Load {
  target: Running;
  scenario: Scenario;
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

/** Every pair of PAIRS whose two scenarios both run (BENCH_ONLY may leave one out). */
export async function measurePairs(
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
