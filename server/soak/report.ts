import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { format, resolveConfig } from 'prettier';
import type { ConsistencyReport } from '../test/order-consistency.ts';
import type { Traffic } from './drive.ts';
import type { readLogFile } from './log-file.ts';
import { CUSTOMERS, GATEWAY_LATENCY_MS, log, RATE, SECONDS, SEED } from './settings.ts';
import { latencySummary, round } from './stats.ts';
import { rssSummary, summarize } from './summary.ts';
import { EXPECTED } from './timed-call.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** What the soak found: the traffic, the checks of the database after it, and how the server ended. */
export interface Findings {
  traffic: Traffic;
  consistency: ConsistencyReport;
  /** What customers were answered that the database does not bear out. */
  clientView: string[];
  exitCode: number | null;
  serverLog: ReturnType<typeof readLogFile>;
}

/** The report kept in docs/reliability/soak-latest.json, which the reliability report reads. */
export function soakReport({ traffic, consistency, clientView, exitCode, serverLog }: Findings) {
  const { byKind, statuses, unexpected, deliberate } = summarize(traffic);
  const total = traffic.outcomes.length;
  return {
    measured_at: new Date().toISOString(),
    config: {
      seconds: SECONDS,
      rate_per_second: RATE,
      customers: CUSTOMERS,
      gateway_latency_ms: GATEWAY_LATENCY_MS,
      seed: SEED,
      node: process.version,
      server: 'NODE_ENV=production, one process, PostgreSQL, LOG_LEVEL=info with LOG_FILE',
    },
    operations: { launched: traffic.launched, skipped_all_customers_busy: traffic.skippedBusy },
    requests: {
      total,
      per_second: round(total / traffic.seconds),
      by_kind: byKind,
      statuses,
      expected_statuses: EXPECTED,
      expected_refusals: deliberate,
      expected_refusals_note:
        'The traffic provokes these on purpose: declined cards (402), orders for products with little stock (409 once sold out), wrong passwords and forged tokens (401). They are the answers the contract promises, not errors.',
      unexpected: unexpected.length,
      error_rate: total === 0 ? 0 : round(unexpected.length / total, 6),
      unexpected_examples: unexpected.slice(0, 10),
    },
    latency_ms: latencySummary(traffic.outcomes.map((outcome) => outcome.ms)),
    rss_mib: rssSummary(traffic.rss),
    consistency: {
      products_checked: consistency.productsChecked,
      orders_checked: consistency.ordersChecked,
      payments_checked: consistency.paymentsChecked,
      problems: [...consistency.problems, ...clientView],
      rules:
        'stock + quantities held by pending_payment and paid orders = initial stock, for every product; no negative stock; every paid order has one succeeded payment of its total, refunded ones a refunded payment; every Idempotency-Key names one order and no order has two; every order a customer was answered with exists, and each customer has exactly the orders its answers account for',
    },
    server: { exit_code: exitCode, ...serverLog },
  };
}

type SoakReport = ReturnType<typeof soakReport>;

/** Writes the report to test-results/reliability/soak.json and docs/reliability/soak-latest.json, and says what it holds. */
export async function writeReport(report: SoakReport): Promise<void> {
  mkdirSync(join(ROOT, 'test-results/reliability'), { recursive: true });
  mkdirSync(join(ROOT, 'docs/reliability'), { recursive: true });
  // Formatted as the repository formats JSON: the copy in docs/ is committed.
  const committed = join(ROOT, 'docs/reliability/soak-latest.json');
  const json = await format(JSON.stringify(report), { ...(await resolveConfig(committed)), filepath: committed });
  writeFileSync(join(ROOT, 'test-results/reliability/soak.json'), json);
  writeFileSync(committed, json);
  const { requests, latency_ms: latency, rss_mib: rss, consistency, server } = report;
  log(
    `${requests.total} requests (${requests.per_second}/s), ${requests.unexpected} unexpected (error rate ${requests.error_rate}), ` +
      `p50 ${latency.p50} ms, p99 ${latency.p99} ms; RSS ${rss.start} -> ${rss.end} MiB ` +
      `(peak ${rss.peak}, ${rss.growth_after_warmup} after warm-up); ` +
      `${consistency.orders_checked} orders checked, ${consistency.problems.length} problems; server exit ${server.exit_code}`,
  );
  log('written to test-results/reliability/soak.json and docs/reliability/soak-latest.json');
}

/** Whether the soak failed: an unexpected answer, a consistency problem, or a server that did not exit cleanly. */
export function soakFailed(report: SoakReport): boolean {
  return report.requests.unexpected > 0 || report.consistency.problems.length > 0 || report.server.exit_code !== 0;
}
