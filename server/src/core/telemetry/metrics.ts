import cluster from 'node:cluster';
import type { Registry } from 'prom-client';
import type { LogFields } from '../logging/logger.ts';

/**
 * The service's Prometheus series, in a registry of their own. Label values are bounded: route
 * templates, procedure names, error codes and the code's own reason texts, each label capped at
 * MAX_VALUES_PER_LABEL values (anything past it counts as `other`).
 *
 * Most series are counted from the log lines the code writes anyway (`procedure_call`,
 * `db_transaction`, `order_created`, `auth_failure`), whatever the log level: a line is the
 * one place each of those facts is stated (see `countLine`).
 */
export interface Metrics {
  registry: Registry;
  /** One answered (or abandoned) HTTP request. */
  observeRequest(labels: { method: string; route: string; status: number }, seconds: number): void;
  /** One SQL statement. */
  observeQuery(operation: string, seconds: number): void;
  /** One payment gateway call: `outcome` is succeeded, declined or failed. */
  observeGateway(labels: { gateway: string; operation: string; outcome: string }, seconds: number): void;
  /** Reads the database pool's counts at each scrape. */
  watchPool(stats: () => PoolStats): void;
  /** For `Logger.tap`: counts what the lines say. */
  countLine: (event: string, fields: LogFields | undefined) => void;
}

export interface PoolStats {
  total: number;
  idle: number;
  waiting: number;
}

const MAX_VALUES_PER_LABEL = 200;

/** Keeps a label's values within MAX_VALUES_PER_LABEL: a series per value lives as long as the process. */
function boundedLabel(): (value: unknown) => string {
  const seen = new Set<string>();
  return (value) => {
    const text = typeof value === 'string' && value.length <= 100 ? value : 'other';
    if (seen.has(text)) return text;
    if (seen.size >= MAX_VALUES_PER_LABEL) return 'other';
    seen.add(text);
    return text;
  };
}

/** Seconds, after the OpenTelemetry HTTP semantic conventions' advice. */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];
const QUERY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** prom-client is loaded only when metrics are on (METRICS_PORT not 0). */
export async function createMetrics(): Promise<Metrics> {
  const { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } = await import('prom-client');
  const registry = new Registry();
  const registers = [registry];
  collectDefaultMetrics({ register: registry });
  // Gauges named like counters, which Prometheus's own lint (`promtool check metrics`) refuses;
  // each is the sum of a gauge kept by type (`nodejs_active_handles{type}` …), so nothing is lost.
  for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) {
    registry.removeSingleMetric(name);
  }
  const requestDuration = new Histogram({
    name: 'http_server_request_duration_seconds',
    help: 'Duration of HTTP requests, by method, route template and status (499: the client hung up)',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: DURATION_BUCKETS,
    registers,
  });
  const procedureDuration = new Histogram({
    name: 'orders_procedure_call_duration_seconds',
    help: 'Duration of procedure calls (each call of a tRPC batch, each REST call), by procedure and result code (OK on success)',
    labelNames: ['procedure', 'code'] as const,
    buckets: DURATION_BUCKETS,
    registers,
  });
  const queryDuration = new Histogram({
    name: 'orders_db_query_duration_seconds',
    help: 'Duration of SQL statements, by operation',
    labelNames: ['operation'] as const,
    buckets: QUERY_BUCKETS,
    registers,
  });
  const transactions = new Counter({
    name: 'orders_db_transactions_total',
    help: 'Database transactions, by name and outcome (commit or rollback)',
    labelNames: ['name', 'outcome'] as const,
    registers,
  });
  const ordersCreated = new Counter({ name: 'orders_created_total', help: 'Orders created', registers });
  const payments = new Counter({
    name: 'orders_payments_total',
    help: 'Charges sent to the payment gateway, by gateway and outcome (succeeded, declined, failed)',
    labelNames: ['gateway', 'outcome'] as const,
    registers,
  });
  const gatewayDuration = new Histogram({
    name: 'orders_payment_gateway_duration_seconds',
    help: 'Latency of payment gateway calls, by gateway, operation (charge, refund) and outcome',
    labelNames: ['gateway', 'operation', 'outcome'] as const,
    buckets: DURATION_BUCKETS,
    registers,
  });
  const authFailures = new Counter({
    name: 'orders_auth_failures_total',
    help: 'Refused authentications, by exact reason',
    labelNames: ['reason'] as const,
    registers,
  });
  const rateLimited = new Counter({
    name: 'orders_rate_limit_refusals_total',
    help: 'Calls refused by a rate limit (429 RATE_LIMITED), by procedure',
    labelNames: ['procedure'] as const,
    registers,
  });
  let poolStats: (() => PoolStats) | undefined;
  new Gauge({
    name: 'orders_db_pool_connections',
    help: 'Database pool connections, by state (in_use, idle, waiting: requests waiting for one)',
    labelNames: ['state'] as const,
    registers,
    collect() {
      if (!poolStats) return;
      const { total, idle, waiting } = poolStats();
      this.set({ state: 'in_use' }, total - idle);
      this.set({ state: 'idle' }, idle);
      this.set({ state: 'waiting' }, waiting);
    },
  });

  const route = boundedLabel();
  const procedure = boundedLabel();
  const code = boundedLabel();
  const transactionName = boundedLabel();
  const reason = boundedLabel();
  const operation = boundedLabel();

  return {
    registry,
    observeRequest: (labels, seconds) =>
      requestDuration.observe(
        { method: labels.method, route: route(labels.route), status: String(labels.status) },
        seconds,
      ),
    observeQuery: (name, seconds) => queryDuration.observe({ operation: operation(name) }, seconds),
    observeGateway: (labels, seconds) => {
      const gateway = boundedGateway(labels.gateway);
      if (labels.operation === 'charge') payments.inc({ gateway, outcome: labels.outcome });
      gatewayDuration.observe({ gateway, operation: labels.operation, outcome: labels.outcome }, seconds);
    },
    watchPool: (stats) => {
      poolStats = stats;
    },
    countLine: (event, fields) => {
      switch (event) {
        case 'procedure_call': {
          const callCode = fields?.ok === true ? 'OK' : code(fields?.code);
          const seconds = typeof fields?.duration_ms === 'number' ? fields.duration_ms / 1000 : 0;
          procedureDuration.observe({ procedure: procedure(fields?.procedure), code: callCode }, seconds);
          if (callCode === 'RATE_LIMITED') rateLimited.inc({ procedure: procedure(fields?.procedure) });
          return;
        }
        case 'db_transaction':
          transactions.inc({
            name: transactionName(fields?.name),
            outcome: fields?.outcome === 'commit' ? 'commit' : 'rollback',
          });
          return;
        case 'order_created':
          ordersCreated.inc();
          return;
        case 'auth_failure':
          authFailures.inc({ reason: reason(fields?.reason) });
          return;
      }
    },
  };
}

const gateways = boundedLabel();
const boundedGateway = (name: string) => gateways(name);

/**
 * With WEB_CONCURRENCY workers, each keeps its own series and the primary's listener sums them
 * (prom-client's AggregatorRegistry over the cluster's messages): a worker answers the primary's
 * requests for its registry.
 */
export async function shareWithPrimary(metrics: Metrics): Promise<void> {
  if (!cluster.isWorker) return;
  const { AggregatorRegistry } = await import('prom-client');
  new AggregatorRegistry();
  AggregatorRegistry.setRegistries([metrics.registry]);
}

/** The primary's view: every worker's series, summed (gauges of the process by their own rule). */
export async function clusterRegistry(): Promise<{ contentType: string; metrics: () => Promise<string> }> {
  const { AggregatorRegistry } = await import('prom-client');
  const aggregator = new AggregatorRegistry();
  return { contentType: aggregator.contentType, metrics: () => aggregator.clusterMetrics() };
}
