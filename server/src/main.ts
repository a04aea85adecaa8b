import cluster, { type Worker } from 'node:cluster';
import { config as loadDotenv } from 'dotenv';
import packageJson from '../package.json' with { type: 'json' };
import { createApp } from './app.ts';
import { ConfigError, describeConfig, loadConfig, type Config } from './core/config.ts';
import { createDatabase, type Db } from './core/db/database.ts';
import { startHttpServer } from './core/http/server.ts';
import { createLogger, type Logger } from './core/logging/logger.ts';
import { migrateToLatest } from './core/db/migrations.ts';
import { startPeriodicTask, type PeriodicTask } from './core/periodic-task.ts';
import { createReadinessCheck } from './core/db/readiness.ts';
import { DEMO_ADMIN_PASSWORD, DEMO_CUSTOMER, seedDatabase } from './services/seed.ts';
import { sweepExpiredRows } from './services/sweep.ts';
import { clusterRegistry, createMetrics, shareWithPrimary, type Metrics } from './core/telemetry/metrics.ts';
import { startMetricsServer, type MetricsServer } from './core/telemetry/metrics-server.ts';
import { createQueryObserver } from './core/telemetry/query-observer.ts';
import { startTracing, withSpan, type Tracing } from './core/telemetry/tracing.ts';
import { reconcilePayments } from './services/orders/index.ts';
import { createPaymentGateway } from './services/payment-gateway/index.ts';
import { observedGateway } from './services/payment-gateway/observed-gateway.ts';

/**
 * In local development, tells a new user where to click and how to sign in. Written to stderr
 * as text, not to the JSON log: the demo passwords are public by design, but logs never carry one.
 */
function printWelcome(config: Config, url: string): void {
  if (!config.localDevelopment) return;
  const adminPassword = config.admin.password
    ? '(ADMIN_PASSWORD)'
    : config.seed.demoAdmin
      ? DEMO_ADMIN_PASSWORD
      : '(set ADMIN_PASSWORD)';
  process.stderr.write(
    [
      '',
      `  orders-service is up at ${url}`,
      `  Swagger UI   ${url}/docs      (Authorize with the accessToken from POST /api/v1/auth/login)`,
      ...(config.panelEnabled
        ? [`  tRPC panel   ${url}/panel     (Headers: Authorization: Bearer <accessToken>)`]
        : []),
      ...(config.seed.demoData ? [`  Customer     ${DEMO_CUSTOMER.email} / ${DEMO_CUSTOMER.password}`] : []),
      `  Admin        ${config.admin.email} / ${adminPassword}   (seeded on the embedded database; else pnpm db:seed)`,
      '',
    ].join('\n') + '\n',
  );
}

function readConfig(): Config {
  loadDotenv({ quiet: true });
  try {
    return loadConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(
      `orders-service cannot start.\n${error.message}\nSee .env.example for every variable and its default.\n`,
    );
    process.exit(1);
  }
}

/** The first sweep waits this long at most, so a server restarted more often than its interval still sweeps. */
const FIRST_SWEEP_AFTER_MS = 60_000;

/**
 * Deletes expired rows every SWEEP_INTERVAL_SECONDS (none when 0). Every worker and instance
 * runs one; they take turns through a database lock.
 */
function startSweeper(config: Config, { db, logger }: { db: Db; logger: Logger }): PeriodicTask | undefined {
  if (config.sweep.intervalSeconds === 0) return undefined;
  const intervalMs = config.sweep.intervalSeconds * 1000;
  return startPeriodicTask({
    name: 'sweep',
    intervalMs,
    firstRunAfterMs: Math.min(intervalMs, FIRST_SWEEP_AFTER_MS),
    logger,
    // One trace per sweep when tracing: its statements and transactions under one root span.
    run: (signal) =>
      withSpan('sweep', { attributes: { 'orders.sweep.batch_size': config.sweep.batchSize } }, () =>
        sweepExpiredRows({ db, logger }, { batchSize: config.sweep.batchSize, signal }),
      ),
  });
}

/**
 * Settles payment attempts left pending past PAYMENT_RECONCILE_AFTER_SECONDS, every
 * PAYMENT_RECONCILE_INTERVAL_SECONDS (none when 0); instances take turns through a database lock.
 */
function startReconciler(
  config: Config,
  {
    database,
    logger,
    metrics,
  }: { database: { db: Db; kind: 'postgres' | 'pglite' }; logger: Logger; metrics: Metrics | undefined },
): PeriodicTask | undefined {
  const { intervalSeconds, afterSeconds } = config.paymentReconcile;
  if (intervalSeconds === 0) return undefined;
  const deps = {
    db: database.db,
    logger,
    // Its gateway calls are spanned and counted as the requests' are.
    gateway: observedGateway(createPaymentGateway(config.paymentGateway, database.db), metrics),
    gatewayTimeoutMs: config.paymentGateway.timeoutMs,
  };
  return startPeriodicTask({
    name: 'payment_reconcile',
    intervalMs: intervalSeconds * 1000,
    firstRunAfterMs: intervalSeconds * 1000,
    logger,
    // One trace per run when tracing: its statements, transactions and gateway calls under one root span.
    run: (signal) =>
      withSpan('payment_reconcile', { attributes: { 'orders.reconcile.after_seconds': afterSeconds } }, () =>
        reconcilePayments(deps, { afterSeconds, singleInstance: database.kind === 'pglite', signal }),
      ),
  });
}

/** Every way out of the process writes its reason and flushes the log first. */
function exitOnFatalErrors(logger: Logger): void {
  const die = (event: string) => (error: unknown) => {
    logger.fatal(event, { error });
    void logger.flush().finally(() => process.exit(1));
  };
  process.on('uncaughtException', die('uncaught_exception'));
  process.on('unhandledRejection', die('unhandled_rejection'));
}

/**
 * Traces and metrics, when configured: the OpenTelemetry SDK only with an OTLP endpoint,
 * prom-client only with METRICS_PORT. A worker's series go to the primary's listener.
 */
async function startTelemetry(config: Config, logger: Logger): Promise<{ tracing?: Tracing; metrics?: Metrics }> {
  const tracing = config.tracing ? await startTracing(config.tracing, { version: packageJson.version }) : undefined;
  if (tracing)
    logger.info('tracing_started', { protocol: config.tracing?.protocol, service: config.tracing?.serviceName });
  if (config.metrics.port === 0) return tracing ? { tracing } : {};
  const metrics = await createMetrics();
  logger.tap(metrics.countLine);
  await shareWithPrimary(metrics);
  return tracing ? { tracing, metrics } : { metrics };
}

/** The metrics listener of a process serving alone (workers' series are served by their primary). */
async function serveMetrics(config: Config, logger: Logger, metrics: Metrics | undefined) {
  if (!metrics || cluster.isWorker) return undefined;
  const source = { contentType: metrics.registry.contentType, metrics: () => metrics.registry.metrics() };
  return startMetricsServer(source, { host: config.metrics.host, port: config.metrics.port, logger });
}

async function runServer(config: Config, logger: Logger, { migrate }: { migrate: boolean }): Promise<void> {
  const { tracing, metrics } = await startTelemetry(config, logger);
  const database = await createDatabase(
    { ...config.database, logQueries: config.log.logQueries, observeQuery: createQueryObserver(metrics) },
    logger,
  );
  if (metrics && database.poolStats) metrics.watchPool(database.poolStats);
  if (migrate) {
    const outcome = await migrateToLatest(database.db, logger);
    if (outcome.wasEmpty && database.kind === 'pglite') {
      const seeded = await seedDatabase({ db: database.db, logger }, { admin: config.admin, ...config.seed });
      logger.info('db_seeded', {
        demo_data: seeded.demoData,
        products: seeded.products,
        admin_created: seeded.admin === 'created',
        customer_created: seeded.customerCreated,
        orders: seeded.orders,
      });
    }
  }
  const app = createApp({
    db: database.db,
    logger,
    config,
    version: packageJson.version,
    checkReadiness: createReadinessCheck({ db: database.db, ping: database.ping }),
    metrics,
  });
  const metricsServer = await serveMetrics(config, logger, metrics);
  const running = await startHttpServer(app, {
    host: config.host,
    port: config.port,
    shutdownTimeoutMs: config.http.shutdownTimeoutMs,
    logger,
  });
  logger.info('server_started', {
    url: running.url,
    pid: process.pid,
    database: database.kind,
    docs: `${running.url}/docs`,
    panel: config.panelEnabled ? `${running.url}/panel` : null,
  });
  printWelcome(config, running.url);
  const sweeper = startSweeper(config, { db: database.db, logger });
  const reconciler = startReconciler(config, { database, logger, metrics });

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info('server_stopping', { signal, timeout_ms: config.http.shutdownTimeoutMs });
    // No sweep starts from now on; one running ends after its current batch, before the database closes.
    const sweepStopped = sweeper?.stop();
    // A reconciliation running ends after the attempt it is settling, before the database closes.
    const reconcileStopped = reconciler?.stop();
    const { forced } = await running.stop();
    const work = await app.drain(config.http.shutdownTimeoutMs);
    if (!work.drained) logger.warn('shutdown_work_abandoned', { active: work.active });
    await sweepStopped;
    await reconcileStopped;
    await database.close();
    await metricsServer?.stop();
    await tracing?.shutdown({ timeoutMs: Math.min(5_000, config.http.shutdownTimeoutMs), logger });
    logger.info('server_stopped', { signal, forced_connections_closed: forced });
    await logger.flush();
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

/**
 * With WEB_CONCURRENCY > 1 the primary migrates once, forks the workers, restarts any that
 * dies, and passes SIGTERM/SIGINT on to them, exiting when they all have.
 */
async function runPrimary(config: Config, logger: Logger): Promise<void> {
  if (config.database.migrateOnStart) {
    const database = await createDatabase({ ...config.database, logQueries: false }, logger);
    await migrateToLatest(database.db, logger);
    await database.close();
  }
  let metricsServer: MetricsServer | undefined;
  if (config.metrics.port !== 0) {
    const source = await clusterRegistry();
    metricsServer = await startMetricsServer(source, { host: config.metrics.host, port: config.metrics.port, logger });
  }
  let stopping = false;
  // Counted here: during a worker's 'exit' event cluster.workers may still list it (Node
  // removes it only after both 'exit' and 'disconnect', in either order).
  const live = new Set<Worker>();
  const fork = () => {
    const worker = cluster.fork({ ORDERS_WORKER: '1' });
    live.add(worker);
    logger.info('worker_started', { worker_pid: worker.process.pid });
  };
  cluster.on('exit', (worker, code, signal) => {
    live.delete(worker);
    logger[stopping ? 'info' : 'error']('worker_exited', { worker_pid: worker.process.pid, code, signal });
    if (!stopping) {
      fork();
    } else if (live.size === 0) {
      logger.info('server_stopped', { workers: config.webConcurrency });
      void Promise.resolve(metricsServer?.stop())
        .then(() => logger.flush())
        .then(() => process.exit(0));
    }
  });
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info('server_stopping', { signal, workers: config.webConcurrency });
    for (const worker of live) worker.process.kill(signal);
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  for (let index = 0; index < config.webConcurrency; index++) fork();
}

async function main(): Promise<void> {
  const config = readConfig();
  const logger = createLogger({ level: config.log.level, file: config.log.file });
  exitOnFatalErrors(logger);
  if (cluster.isPrimary) logger.info('config_loaded', { config: describeConfig(config) });
  try {
    if (config.webConcurrency > 1 && cluster.isPrimary) {
      await runPrimary(config, logger);
    } else {
      await runServer(config, logger, { migrate: config.database.migrateOnStart && cluster.isPrimary });
    }
  } catch (error) {
    logger.fatal('startup_failed', { reason: error instanceof Error ? error.message : String(error), error });
    await logger.flush();
    process.exit(1);
  }
}

await main();
