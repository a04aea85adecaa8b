import type { BenchFixture } from './fixture.ts';
import { load, median } from './measure.ts';
import { floorCreate, ORDER_CREATE_PAIRS, serviceCreate } from './order-scenarios.ts';
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
import { CYCLES, SLICE, WARMUP } from './settings.ts';

/**
 * The ratios the targets read, each measured as a pair: the scenario and its baseline take
 * turns in short slices (BENCH_SLICE seconds each, BENCH_CYCLES turns), and each turn gives a
 * ratio of their throughputs; the pair's ratio is the median turn. This machine's speed drifts
 * (up to 2x within a minute on a shared virtual machine): a scenario measured a minute after
 * its baseline carries that drift, one measured seconds after it hardly does. (Running both at
 * once would see the same machine too, but not the same server: two servers sharing a core
 * each take requests in bigger batches, which favours the one whose cost is system calls.)
 */
export interface Pair {
  scenario: string;
  baseline: string;
  /** Turns, when fewer than BENCH_CYCLES. */
  cycles?: number;
}

/** orders.create's pairs take half the turns: eight of them, at a few hundred calls a slice. */
const ORDER_CREATE_CYCLES = Math.max(2, Math.round(CYCLES / 2));

export const PAIRS: Pair[] = [
  { scenario: 'service: tRPC system.ping', baseline: BARE },
  { scenario: 'service: tRPC products.get', baseline: FLOOR_PRODUCTS },
  { scenario: 'service: REST products.get', baseline: FLOOR_PRODUCTS },
  { scenario: 'service: tRPC orders.get (auth)', baseline: FLOOR_ORDERS },
  { scenario: 'service: REST orders.get (auth)', baseline: FLOOR_ORDERS },
  { scenario: 'service: tRPC system.ping', baseline: 'service, logging off: tRPC system.ping' },
  ...ORDER_CREATE_PAIRS.map((pair) => ({ ...pair, cycles: ORDER_CREATE_CYCLES })),
  // What tracing (sampling 1.0, exported) and metrics cost: the service with them over the service without.
  { scenario: TRACED_PING, baseline: 'service: tRPC system.ping' },
  { scenario: TRACED_PRODUCTS, baseline: 'service: tRPC products.get' },
  { scenario: METRICS_PING, baseline: 'service: tRPC system.ping' },
  { scenario: METRICS_PRODUCTS, baseline: 'service: tRPC products.get' },
];

/**
 * The main pairs, measured again on the Node reported beside (BENCH_BESIDE_NODE) with 30% of
 * the turns (6 of 20), to be read as a comparison rather than a target: the trivial procedure, a read, an authenticated read, and orders.create on both
 * loads, over tRPC. The whole table on two Nodes would double the run.
 */
export const BESIDE_PAIRS: Pair[] = [
  { scenario: 'service: tRPC system.ping', baseline: BARE },
  { scenario: 'service: tRPC products.get', baseline: FLOOR_PRODUCTS },
  { scenario: 'service: tRPC orders.get (auth)', baseline: FLOOR_ORDERS },
  { scenario: serviceCreate('tRPC', 'hot', false), baseline: floorCreate('hot', false) },
  { scenario: serviceCreate('tRPC', 'spread', false), baseline: floorCreate('spread', false) },
].map((pair) => ({ ...pair, cycles: Math.max(2, Math.round(CYCLES * 0.3)) }));

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

/** Every pair of `pairs` whose two scenarios both run (BENCH_ONLY may leave one out). */
export async function measurePairs(
  running: Map<string, Running>,
  pairs: Pair[],
  { scenarios, fixture, warmUp = false }: { scenarios: Scenario[]; fixture: BenchFixture; warmUp?: boolean },
): Promise<PairResult[]> {
  const loadOf = (name: string): Load | undefined => {
    const scenario = scenarios.find((candidate) => candidate.name === name);
    const target = scenario && running.get(scenario.server);
    return scenario && target ? { target, scenario } : undefined;
  };
  const results: PairResult[] = [];
  for (const { scenario, baseline, cycles = CYCLES } of pairs) {
    const measured = loadOf(scenario);
    const base = loadOf(baseline);
    if (!measured || !base) continue;
    // Servers fresh from their start (the Node beside) first run each side for the warm-up's length.
    // So does a scenario the rounds left out (pairedOnly).
    if (warmUp || measured.scenario.pairedOnly || base.scenario.pairedOnly)
      for (const side of [base, measured]) await load(side.target, side.scenario.request(fixture), WARMUP);
    const ratios: number[] = [];
    let errors = 0;
    for (let turn = 0; turn < cycles; turn++) {
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
