import { median, type Measurement } from './measure.ts';
import { BARE, type Scenario } from './scenarios.ts';

/** One scenario's line of the table: the median of its rounds, and its ratios. */
export interface TableRow {
  scenario: string;
  baseline: string | null;
  callsPerSecond: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  cpuMicrosPerCall: number;
  peakRssMb: number;
  errors: number;
  ratioToBare: number;
  /** Throughput over its baseline's in the table; null without a baseline or its row. */
  ratioToBaseline: number | null;
}

export function tableOf(scenarios: Scenario[], samples: Map<string, Measurement[]>): TableRow[] {
  const rows = scenarios
    .filter((scenario) => !scenario.pairedOnly)
    .map((scenario) => {
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
  const bare = rows.find((row) => row.scenario === BARE)?.callsPerSecond ?? Number.NaN;
  return rows.map((row) => {
    const baseline = rows.find((other) => other.scenario === row.baseline)?.callsPerSecond;
    return {
      ...row,
      ratioToBare: Math.round((row.callsPerSecond / bare) * 1000) / 1000,
      ratioToBaseline: baseline ? Math.round((row.callsPerSecond / baseline) * 1000) / 1000 : null,
    };
  });
}

/** The table as aligned text columns, for the terminal. */
export function formatTable(table: TableRow[]): string {
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
