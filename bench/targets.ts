/** One row of the bench table, as far as the targets read it. */
interface Row {
  scenario: string;
  baseline: string | null;
  callsPerSecond: number;
  ratioToBaseline: number | null;
  peakRssMb: number;
}

export interface TargetCheck {
  name: string;
  value: number;
  target: string;
  met: boolean;
}

/** A ratio measured with scenario and baseline taking turns (throughput, scenario over baseline). */
interface Pair {
  scenario: string;
  baseline: string;
  ratio: number;
}

const round = (value: number) => Math.round(value * 1000) / 1000;

/**
 * The performance issue's targets, read off one run's table: a trivial public procedure with
 * its access and procedure lines at 0.35x bare node http or better; products.get and the
 * authenticated orders.get at 0.5x their hand-written floors or better, over both protocols;
 * logging costing at most 15% of the trivial procedure's throughput; at most 200 MB RSS;
 * orders.create (a hot product and spread products, both protocols, with an Idempotency-Key
 * and without) at 0.6x its floor or better. The moonshot (0.5x bare for the trivial procedure,
 * at most 150 MB RSS) is reported beside them, met or not.
 * A ratio is read from the pair measured together where there is one, else from the table.
 */
export function checkTargets(table: Row[], pairs: Pair[]): TargetCheck[] {
  const row = (scenario: string) => table.find((candidate) => candidate.scenario === scenario);
  const pair = (scenario: string, baseline: string) =>
    pairs.find((candidate) => candidate.scenario === scenario && candidate.baseline === baseline)?.ratio;
  const ratioOf = (scenario: string) => {
    const measured = row(scenario);
    if (!measured) return pairs.find((candidate) => candidate.scenario === scenario)?.ratio;
    return measured.baseline ? (pair(scenario, measured.baseline) ?? measured.ratioToBaseline) : undefined;
  };
  const checks: TargetCheck[] = [];
  const atLeast = (name: string, value: number | null | undefined, target: number) => {
    if (value === null || value === undefined || Number.isNaN(value)) return;
    checks.push({ name, value: round(value), target: `>= ${target}`, met: value >= target });
  };

  atLeast('tRPC system.ping x bare node http', ratioOf('service: tRPC system.ping'), 0.35);
  for (const scenario of [
    'service: tRPC products.get',
    'service: REST products.get',
    'service: tRPC orders.get (auth)',
    'service: REST orders.get (auth)',
  ]) {
    atLeast(`${scenario.replace('service: ', '')} x its floor`, ratioOf(scenario), 0.5);
  }

  // Keyed orders.create is measured in its pairs only, so the pairs name them too.
  const creates = new Set(
    [...table, ...pairs]
      .map((candidate) => candidate.scenario)
      .filter((scenario) => scenario.startsWith('service: ') && scenario.includes(' orders.create, ')),
  );
  for (const scenario of creates) atLeast(`${scenario.replace('service: ', '')} x its floor`, ratioOf(scenario), 0.6);
  atLeast('moonshot: tRPC system.ping x bare node http', ratioOf('service: tRPC system.ping'), 0.5);

  const logged = row('service: tRPC system.ping')?.callsPerSecond;
  const quiet = row('service, logging off: tRPC system.ping')?.callsPerSecond;
  const loggedOverQuiet =
    pair('service: tRPC system.ping', 'service, logging off: tRPC system.ping') ??
    (logged !== undefined && quiet !== undefined && quiet > 0 ? logged / quiet : undefined);
  if (loggedOverQuiet !== undefined) {
    const cost = 1 - loggedOverQuiet;
    checks.push({
      name: 'logging cost (share of system.ping throughput)',
      value: round(cost),
      target: '<= 0.15',
      met: cost <= 0.15,
    });
  }

  const services = table.filter((candidate) => candidate.scenario.startsWith('service'));
  if (services.length > 0) {
    const peak = Math.max(...services.map((candidate) => candidate.peakRssMb));
    checks.push({ name: 'peak RSS of a service worker (MB)', value: peak, target: '<= 200', met: peak <= 200 });
    checks.push({
      name: 'moonshot: peak RSS of a service worker (MB)',
      value: peak,
      target: '<= 150',
      met: peak <= 150,
    });
  }
  return checks;
}
