import { createApp } from '../src/app.ts';
import { loadConfig } from '../src/core/config.ts';
import { createDatabase, type DatabaseHandle } from '../src/core/db.ts';
import { startHttpServer } from '../src/core/http-server.ts';
import { createLogger } from '../src/core/logging.ts';
import { migrateToLatest } from '../src/core/migrations.ts';
import { createReadinessCheck } from '../src/core/readiness.ts';
import type { PaymentGateway } from '../src/services/payment-gateway/index.ts';
import { recordRestResponses } from './contract.ts';
import { LogCapture } from './log-capture.ts';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.ts';
import { TEST_JWT_SECRET, type TestApp } from './test-app.ts';
import { createTestDatabase } from './test-database.ts';

export interface ProxiedTestApp extends TestApp {
  /** Between the app's pool and PostgreSQL: `cut()`, `stall()` and `restore()` it. */
  proxy: TcpProxy;
  /** The app's own pool, which reaches PostgreSQL only through `proxy`. */
  appDatabase: DatabaseHandle;
}

/**
 * Like `startTestApp`, but the app's database pool goes through a TCP proxy the test can cut
 * or stall, while `database` stays a direct connection: the test's own reads and checks keep
 * working whatever the proxy does. Real PostgreSQL only (PGlite has no connection to cut).
 *
 * The pool gives up connecting after `connectTimeoutMs` and a statement after
 * `statementTimeoutMs`, so a request during a fault is answered within about their sum.
 */
export async function startProxiedTestApp(
  env: Record<string, string> = {},
  {
    gateway,
    poolMax = 5,
    connectTimeoutMs = 1_000,
    statementTimeoutMs = 5_000,
  }: { gateway?: PaymentGateway; poolMax?: number; connectTimeoutMs?: number; statementTimeoutMs?: number } = {},
): Promise<ProxiedTestApp> {
  const config = loadConfig({ NODE_ENV: 'test', JWT_SECRET: TEST_JWT_SECRET, LOG_LEVEL: 'debug', PORT: '0', ...env });
  const logs = new LogCapture();
  const logger = createLogger({ level: config.log.level, destination: logs });
  const testDatabase = await createTestDatabase();
  if (testDatabase.url === undefined) throw new Error('startProxiedTestApp needs real PostgreSQL (DATABASE_URL)');
  const database = await testDatabase.open(logger);
  await migrateToLatest(database.db, logger);
  const proxy = await startTcpProxy(testDatabase.url);
  const appDatabase = await createDatabase(
    { url: proxy.url, pgliteDir: '', poolMax, statementTimeoutMs, connectTimeoutMs, logQueries: false },
    logger,
  );
  const app = createApp({
    db: appDatabase.db,
    logger,
    config,
    version: '0.0.0-test',
    checkReadiness: createReadinessCheck({ db: appDatabase.db, ping: appDatabase.ping }),
    ...(gateway ? { gateway } : {}),
  });
  const rest = recordRestResponses(app);
  const server = await startHttpServer(rest.handler, { host: '127.0.0.1', port: 0, shutdownTimeoutMs: 2_000 });
  return {
    url: server.url,
    config,
    logs,
    logger,
    database,
    testDatabase,
    server,
    rest,
    proxy,
    appDatabase,
    close: async () => {
      await server.stop();
      await appDatabase.close();
      await proxy.close();
      await database.close();
      await testDatabase.drop();
      rest.verify();
    },
  };
}
