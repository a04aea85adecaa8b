import { Kysely, PostgresDialect, type CompiledQuery } from 'kysely';
import pg from 'pg';
import { createApp } from '../../server/src/app.ts';
import { loadConfig } from '../../server/src/core/config.ts';
import { createDatabase } from '../../server/src/core/db/database.ts';
import { createReadinessCheck } from '../../server/src/core/db/readiness.ts';
import { startHttpServer } from '../../server/src/core/http/server.ts';
import { createLogger } from '../../server/src/core/logging/logger.ts';
import { createTokenService } from '../../server/src/core/security.ts';
import type { Database } from '../../server/src/models/index.ts';
import { ADMIN, HEAVY_CUSTOMER } from './fill.ts';

const JWT_SECRET = 'scale-bench-signing-secret-0123456789abcdef';

/**
 * The app on one scale's database, twice: `url` as production runs it (the service's own
 * database layer), and `captureUrl` on a Kysely that records every query it runs, for EXPLAIN.
 */
export interface ScaleApp {
  url: string;
  captureUrl: string;
  tokens: { customer: string; admin: string };
  /** The queries `run` made the capturing app send. */
  capture(run: () => Promise<void>): Promise<CompiledQuery[]>;
  close(): Promise<void>;
}

export async function startScaleApp(databaseUrl: string, sessions: Record<string, string>): Promise<ScaleApp> {
  const logger = createLogger({ level: 'error' });
  const config = loadConfig({
    NODE_ENV: 'production',
    JWT_SECRET,
    DATABASE_URL: databaseUrl,
    ACCESS_TOKEN_TTL: '1d',
    RATE_LIMIT_PER_IP: '1000000',
  });
  const database = await createDatabase(
    {
      url: databaseUrl,
      pgliteDir: '',
      poolMax: 10,
      statementTimeoutMs: 60_000,
      connectTimeoutMs: 5_000,
      logQueries: false,
    },
    logger,
  );
  let captured: CompiledQuery[] | undefined;
  const captureDb = new Kysely<Database>({
    dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: databaseUrl, max: 4 }) }),
    log: (event) => {
      captured?.push(event.query);
    },
  });
  const appFor = (db: Kysely<Database>) =>
    createApp({
      db,
      logger,
      config,
      version: 'scale',
      checkReadiness: createReadinessCheck({ db, ping: async () => {} }),
    });
  const options = { host: '127.0.0.1', port: 0, shutdownTimeoutMs: 1_000, logger };
  const server = await startHttpServer(appFor(database.db), options);
  const captureServer = await startHttpServer(appFor(captureDb), options);
  const signer = createTokenService(config.jwt);
  return {
    url: server.url,
    captureUrl: captureServer.url,
    tokens: {
      customer: signer.signAccessToken({
        user: { id: HEAVY_CUSTOMER, role: 'customer' },
        sessionId: sessions[HEAVY_CUSTOMER] ?? '',
      }),
      admin: signer.signAccessToken({ user: { id: ADMIN, role: 'admin' }, sessionId: sessions[ADMIN] ?? '' }),
    },
    capture: async (run) => {
      captured = [];
      await run();
      const queries = captured;
      captured = undefined;
      return queries;
    },
    close: async () => {
      await server.stop();
      await captureServer.stop();
      await database.close();
      await captureDb.destroy();
    },
  };
}
