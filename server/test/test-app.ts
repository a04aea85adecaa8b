import { createApp } from '../src/app.ts';
import { loadConfig, type Config } from '../src/core/config.ts';
import type { DatabaseHandle } from '../src/core/db/database.ts';
import { startHttpServer, type RunningServer } from '../src/core/http/server.ts';
import { createLogger, type Logger } from '../src/core/logging/logger.ts';
import { migrateToLatest } from '../src/core/db/migrations.ts';
import { createReadinessCheck } from '../src/core/db/readiness.ts';
import type { PaymentGateway } from '../src/services/payment-gateway/index.ts';
import { recordRestResponses, type RestRecorder } from './contract.ts';
import { recordSecret } from './log-audit/records.ts';
import { LogCapture } from './log-capture.ts';
import { createTestDatabase, type TestDatabase } from './test-database.ts';

export const TEST_JWT_SECRET = 'test-secret-that-is-long-enough-for-hs256-0123456789';

export interface TestApp {
  url: string;
  config: Config;
  logs: LogCapture;
  logger: Logger;
  database: DatabaseHandle;
  testDatabase: TestDatabase;
  server: RunningServer;
  /** Every `/api` response so far; `close()` checks them all against openapi.json. */
  rest: RestRecorder;
  close(): Promise<void>;
}

/**
 * The password hashes and refresh token digests the app stored: the log audit looks for them
 * too. A database a test has broken on purpose is not read: closing must still work.
 */
export async function recordStoredSecrets(database: DatabaseHandle): Promise<void> {
  try {
    const users = await database.db.selectFrom('users').select('password_hash').execute();
    for (const user of users) recordSecret('password_hash', user.password_hash);
    const tokens = await database.db.selectFrom('refresh_tokens').select('token_hash').execute();
    for (const token of tokens) recordSecret('refresh_token_digest', token.token_hash);
    const accountTokens = await database.db.selectFrom('account_tokens').select('token_hash').execute();
    for (const token of accountTokens) recordSecret('account_token_digest', token.token_hash);
  } catch {
    // the audit's generic argon2 detector still covers password hashes
  }
}

/** The test configuration: `env` overrides variables as a .env file would. Its signing secret joins the log audit. */
export function testConfig(env: Record<string, string> = {}): Config {
  const config = loadConfig({ NODE_ENV: 'test', JWT_SECRET: TEST_JWT_SECRET, LOG_LEVEL: 'debug', PORT: '0', ...env });
  recordSecret('signing_secret', config.jwt.secret);
  if (config.paymentGateway.kind === 'stripe')
    recordSecret('stripe_secret_key', config.paymentGateway.stripe.secretKey);
  recordSecret('stripe_webhook_secret', config.stripeWebhookSecret);
  return config;
}

/** A logger writing every line into a capture the test reads. */
export function capturedLogger(config: Config): { logs: LogCapture; logger: Logger } {
  const logs = new LogCapture();
  return { logs, logger: createLogger({ level: config.log.level, destination: logs }) };
}

/** The app over `database`, listening on a free port, its /api answers recorded for the contract check. */
export async function serveApp(
  database: Pick<DatabaseHandle, 'db' | 'ping'>,
  {
    config,
    logger,
    gateway,
    requestTimeoutMs,
    mailRetryDelaysMs,
  }: {
    config: Config;
    logger: Logger;
    gateway?: PaymentGateway | undefined;
    requestTimeoutMs?: number | undefined;
    mailRetryDelaysMs?: readonly number[] | undefined;
  },
): Promise<{ server: RunningServer; rest: RestRecorder }> {
  const app = createApp({
    db: database.db,
    logger,
    config,
    version: '0.0.0-test',
    checkReadiness: createReadinessCheck({ db: database.db, ping: database.ping }),
    ...(gateway ? { gateway } : {}),
    ...(mailRetryDelaysMs ? { mailRetryDelaysMs } : {}),
  });
  const rest = recordRestResponses(app);
  const server = await startHttpServer(rest.handler, {
    host: '127.0.0.1',
    port: 0,
    shutdownTimeoutMs: 2_000,
    logger,
    ...(requestTimeoutMs === undefined ? {} : { requestTimeoutMs }),
  });
  return { server, rest };
}

/**
 * The real app on a real, migrated database of its own, listening on a free port, with
 * every log line captured. `env` overrides configuration variables as a .env file would;
 * `gateway` replaces the payment gateway PAYMENT_GATEWAY names (to count or stall charges);
 * `requestTimeoutMs` shortens the server's request timeout (30 s).
 */
export async function startTestApp(
  env: Record<string, string> = {},
  {
    logQueries = true,
    gateway,
    requestTimeoutMs,
    mailRetryDelaysMs,
  }: {
    logQueries?: boolean;
    gateway?: PaymentGateway;
    requestTimeoutMs?: number;
    /** Shorter waits between mail retries (a failing SMTP server). */
    mailRetryDelaysMs?: readonly number[];
  } = {},
): Promise<TestApp> {
  const config = testConfig(env);
  const { logs, logger } = capturedLogger(config);
  const testDatabase = await createTestDatabase();
  const database = await testDatabase.open(logger, { logQueries });
  await migrateToLatest(database.db, logger);
  const { server, rest } = await serveApp(database, { config, logger, gateway, requestTimeoutMs, mailRetryDelaysMs });
  return {
    url: server.url,
    config,
    logs,
    logger,
    database,
    testDatabase,
    server,
    rest,
    close: async () => {
      await server.stop();
      await recordStoredSecrets(database);
      await database.close();
      await testDatabase.drop();
      rest.verify();
    },
  };
}
