import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { INPUT_FILES, readInputs, type InputName } from './inputs.ts';
import { renderReport } from './render.ts';

function repositoryWith(files: Partial<Record<InputName, unknown>>): string {
  const root = mkdtempSync(join(tmpdir(), 'reliability-report-'));
  for (const [name, content] of Object.entries(files)) {
    const path = join(root, INPUT_FILES[name as InputName]);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  }
  return root;
}

const render = (root: string) => renderReport(readInputs(root), { generatedAt: '2026-01-01T00:00:00.000Z' });

describe('the reliability report', () => {
  it('renders every part as not measured when no figures exist', () => {
    const report = render(repositoryWith({}));
    expect(report.match(/_Not measured in this run_/g)).toHaveLength(9);
    expect(report.match(/\| not measured in this run \|/g)).toHaveLength(9);
    expect(report).toContain('## How to reproduce');
  });

  it('quotes the figures of each file in the shapes the tests write', () => {
    const report = render(
      repositoryWith({
        fuzz: { rest: 994, trpc: 1044, operations: 36, failures: 0 },
        security: { categories: { BOLA: 20, BFLA: 40 }, total: 60, failed: 0 },
        faults: {
          measured: true,
          faults: { cut: 5 },
          faults_survived: 5,
          requests_during_faults: 78,
          statuses_during_faults: { '503 DATABASE_UNAVAILABLE': 73, '200': 5 },
          max_latency_ms_during_faults: 645,
          orders_checked: 90,
          inconsistencies: 0,
          orders_without_client_id: [{ order_id: 'ord_1', status: 'paid', explained_by: 'a 503' }],
          scenarios: [{ name: 'burst', requests: 157, orders: 37, statuses: { '200': 33 } }],
        },
        logAudit: { lines_audited: 1961, secrets_tracked: { password: 3, total: 44 }, secrets_found: 0 },
        shutdown: { requests_sent: 306, in_flight_at_sigterm: 8, failed_in_flight: 0, non_2xx: 0, exit_code: 0 },
        paymentCrash: {
          simulated: { crashes_injected: 20, orders_checked: 60, lost: 0, doubled: 0, stuck: 0 },
          stripe: { crashes_injected: 20, orders_checked: 60, lost: 0, doubled: 0, stuck: 0 },
        },
        process: {
          worker_restart: { passed: true, replacement_serving_after_ms: 900, exit_code: 0 },
          fatal_exception: { event: 'uncaught_exception', fatal_line_written: true, exit_code: 1 },
        },
        soak: {
          config: { seconds: 300, rate_per_second: 20 },
          requests: { total: 6000, unexpected: 0, error_rate: 0, by_kind: { 'products.list': { count: 10 } } },
          latency_ms: { p50: 20, p99: 300 },
          rss_mib: { start: 200, end: 210 },
          consistency: { problems: [] },
          server: { exit_code: 0 },
        },
        cluster: {
          rolling_restart: {
            instances: 3,
            requests: 1162,
            answers: { '200': 1162 },
            failed: 0,
            explained: 0,
            passed: true,
          },
        },
      }),
    );
    for (const figure of [
      '2,038 inputs',
      '60 cases',
      '5 faults',
      '645 ms',
      '1,961 log lines',
      '306 requests',
      '40 crashes, 120 orders checked (simulated, stripe)',
      'held (0 lost, 0 doubled, 0 stuck)',
      '5 min',
    ]) {
      expect(report).toContain(figure);
    }
    expect(report).not.toContain('_Not measured in this run_');
    expect(report).not.toContain('did not hold');
  });

  it('quotes the fuzzing inputs per protocol and kind, and the longest event-loop hold', () => {
    const report = render(
      repositoryWith({
        fuzz: {
          rest: 10_852,
          trpc: 10_932,
          operations: 38,
          failures: 0,
          kinds: {
            rest: { unknown_key: 5_000, long_key: 1_000, hostile_text: 4_000, long_path: 852 },
            trpc: { unknown_key: 5_500, long_key: 1_100, hostile_text: 4_332, long_path: 0 },
          },
          event_loop: {
            budget_ms: 50,
            longest_hold_ms: 38.7,
            longest_hold_while: 'rest v1.auth.logout as customer',
            concurrency: 12,
          },
        },
      }),
    );
    expect(report).toContain('21,784 inputs (10,852 REST, 10,932 tRPC)');
    expect(report).toContain('held (0 failures, longest event-loop hold 38.7 ms)');
    expect(report).toContain('| a valid input with NUL or an unpaired surrogate in one text field | 4,000 | 4,332 |');
    expect(report).toContain(
      'Longest event-loop hold: 38.7 ms (budget 50 ms), while answering rest v1.auth.logout as customer, 12 requests at a time.',
    );
  });

  it('says a hold over the budget did not hold', () => {
    const report = render(
      repositoryWith({
        fuzz: { rest: 1, trpc: 1, operations: 1, failures: 0, event_loop: { budget_ms: 50, longest_hold_ms: 400 } },
      }),
    );
    expect(report).toContain('**did not hold** (0 failures, longest event-loop hold 400 ms)');
  });

  it('reports each cluster scenario with its instances, requests, failed and explained requests', () => {
    const report = render(
      repositoryWith({
        cluster: {
          stock_race: {
            instances: 3,
            requests: 200,
            answers: { '200': 50, '409 OUT_OF_STOCK': 150 },
            paid_orders: 50,
            stock_left: 0,
            failed: 0,
            passed: true,
          },
          instance_killed: {
            instances: 3,
            requests: 554,
            answers: { '200': 551, UND_ERR_SOCKET: 3 },
            failed: 3,
            explained: 3,
            explanation: 'in flight on app2 as it died',
            database_agrees: true,
            passed: true,
          },
        },
      }),
    );
    expect(report).toContain(
      '| Cluster | 2 scenarios, 754 requests through PgBouncer (transaction mode) and HAProxy | held (3 failed, 3 explained) |',
    );
    expect(report).toContain(
      '| 200 concurrent orders for a product with stock 50, through HAProxy | 3 | 200 | 0 | 0 | 200: 50, 409 OUT_OF_STOCK: 150; paid 50, stock left 0 | yes |',
    );
    expect(report).toContain('failed requests: in flight on app2 as it died; database agrees with clients: yes');
  });

  it('says a cluster scenario that did not hold', () => {
    const report = render(
      repositoryWith({ cluster: { rolling_restart: { instances: 3, requests: 10, failed: 2, passed: false } } }),
    );
    expect(report).toContain('**did not hold** (2 failed, 0 explained)');
  });

  it('says a crash drill that lost a charge did not hold', () => {
    const report = render(
      repositoryWith({
        paymentCrash: { stripe: { crashes_injected: 20, orders_checked: 60, lost: 1, doubled: 0, stuck: 0 } },
      }),
    );
    expect(report).toContain('**did not hold** (1 lost, 0 doubled, 0 stuck)');
  });

  it('says what did not hold', () => {
    const report = render(repositoryWith({ logAudit: { lines_audited: 10, secrets_found: 1 } }));
    expect(report).toContain('**did not hold** (1 secrets found');
  });

  it('tolerates files of another shape, and files that are not JSON', () => {
    const report = render(
      repositoryWith({
        fuzz: [1, 2, 3],
        faults: { measured: false, skipped_reason: 'needs real PostgreSQL' },
        process: { something_new: { passed: false, tries: 3 }, broken: 'text' },
        security: 'not json {',
        soak: { requests: 'many', rss_mib: null },
      }),
    );
    expect(report).toContain('the fault tests were skipped (needs real PostgreSQL)');
    expect(report).toContain('is not valid JSON');
    expect(report).toContain('tries: 3');
    expect(report).toContain('n/a');
  });
});
