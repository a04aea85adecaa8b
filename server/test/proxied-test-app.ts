import { createDatabase, type DatabaseHandle } from '../src/core/db/database.ts';
import { migrateToLatest } from '../src/core/db/migrations.ts';
import type { PaymentGateway } from '../src/services/payment-gateway/index.ts';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.ts';
import { capturedLogger, recordStoredSecrets, serveApp, testConfig, type TestApp } from './test-app.ts';
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
  const config = testConfig(env);
  const { logs, logger } = capturedLogger(config);
  const testDatabase = await createTestDatabase();
  if (testDatabase.url === undefined) throw new Error('startProxiedTestApp needs real PostgreSQL (DATABASE_URL)');
  const database = await testDatabase.open(logger);
  await migrateToLatest(database.db, logger);
  const proxy = await startTcpProxy(testDatabase.url);
  const appDatabase = await createDatabase(
    { url: proxy.url, pgliteDir: '', poolMax, statementTimeoutMs, connectTimeoutMs, logQueries: false },
    logger,
  );
  const { server, rest } = await serveApp(appDatabase, { config, logger, gateway });
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
      await recordStoredSecrets(database);
      await database.close();
      await testDatabase.drop();
      rest.verify();
    },
  };
}
