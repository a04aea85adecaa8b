import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LogCapture } from '../../../test/log-capture.ts';
import { startTcpProxy, type TcpProxy } from '../../../test/tcp-proxy.ts';
import { TEST_JWT_SECRET } from '../../../test/test-app.ts';
import { createTestDatabase, migrate, onRealPostgres, type TestDatabase } from '../../../test/test-database.ts';
import { createApp } from '../../app.ts';
import { loadConfig } from '../config.ts';
import { createDatabase, type DatabaseHandle } from './database.ts';
import { startHttpServer, type RunningServer } from '../http/server.ts';
import { createLogger, type Logger } from '../logging/logger.ts';
import { createReadinessCheck } from './readiness.ts';

/** The readiness check's own bound on each check (its default, as main.ts uses it). */
const CHECK_TIMEOUT_MS = 2_000;

interface ReadyzBody {
  status: 'ready' | 'not_ready';
  ready: boolean;
  checks: { database: string; migrations: string };
  pending_migrations?: string[];
}

/** What a test starts, stopped in reverse order after it. */
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const newLogger = (): Logger => createLogger({ level: 'debug', destination: new LogCapture() });

async function newTestDatabase(): Promise<TestDatabase> {
  const testDatabase = await createTestDatabase();
  cleanups.push(() => testDatabase.drop());
  return testDatabase;
}

/** The real app, over HTTP, with the readiness check as main.ts wires it (2 s per check). */
async function startApp(database: DatabaseHandle, logger: Logger): Promise<RunningServer> {
  const config = loadConfig({ NODE_ENV: 'test', JWT_SECRET: TEST_JWT_SECRET, PORT: '0' });
  const app = createApp({
    db: database.db,
    logger,
    config,
    version: '0.0.0-test',
    checkReadiness: createReadinessCheck({ db: database.db, ping: database.ping }),
  });
  return startHttpServer(app, { host: '127.0.0.1', port: 0, shutdownTimeoutMs: 2_000, logger });
}

async function readyz(server: RunningServer): Promise<{ status: number; body: ReadyzBody; elapsedMs: number }> {
  const started = performance.now();
  const res = await fetch(`${server.url}/readyz`, { signal: AbortSignal.timeout(10_000) });
  const body = (await res.json()) as ReadyzBody;
  return { status: res.status, body, elapsedMs: performance.now() - started };
}

/** A migrated test database, and the app on a pool that reaches it only through a TCP proxy. */
async function serveThroughProxy(): Promise<{ proxy: TcpProxy; server: RunningServer }> {
  const logger = newLogger();
  const testDatabase = await newTestDatabase();
  const direct = await testDatabase.open(logger);
  await migrate(direct, logger);
  await direct.close();

  const proxy = await startTcpProxy(testDatabase.url ?? '');
  cleanups.push(() => proxy.close());
  const database = await createDatabase(
    {
      url: proxy.url,
      pgliteDir: '',
      poolMax: 5,
      statementTimeoutMs: 10_000,
      connectTimeoutMs: 3_000,
      logQueries: false,
    },
    logger,
  );
  cleanups.push(() => database.close());
  const server = await startApp(database, logger);
  cleanups.push(() => server.stop());
  return { proxy, server };
}

describe('GET /readyz', () => {
  describe('on a database that is reachable but not migrated', () => {
    let database: DatabaseHandle;
    let server: RunningServer;
    let logger: Logger;
    // Opening a fresh PGlite database can take tens of seconds: it happens here, under the hook timeout.
    beforeAll(async () => {
      logger = newLogger();
      const testDatabase = await createTestDatabase();
      database = await testDatabase.open(logger);
      server = await startApp(database, logger);
      return async () => {
        await server.stop();
        await database.close();
        await testDatabase.drop();
      };
    });

    it('is 503 with migrations pending, and 200 once they are applied', async () => {
      const pending = await readyz(server);
      expect(pending.status).toBe(503);
      expect(pending.body).toMatchObject({
        status: 'not_ready',
        ready: false,
        checks: { database: 'ok', migrations: 'pending' },
      });
      expect(pending.body.pending_migrations?.length).toBeGreaterThan(0);

      await migrate(database, logger);
      const ready = await readyz(server);
      expect(ready.status).toBe(200);
      expect(ready.body).toEqual({ status: 'ready', ready: true, checks: { database: 'ok', migrations: 'ok' } });
    });
  });

  it.skipIf(!onRealPostgres)(
    'is 503 database unreachable at once while the connection is cut, and 200 again once it is back, without a restart (needs real PostgreSQL: PGlite has no connection to cut)',
    async () => {
      const { proxy, server } = await serveThroughProxy();
      expect((await readyz(server)).status).toBe(200);

      proxy.cut();
      const down = await readyz(server);
      expect(down.status).toBe(503);
      expect(down.body).toEqual({
        status: 'not_ready',
        ready: false,
        checks: { database: 'unreachable', migrations: 'unknown' },
      });
      expect(down.elapsedMs).toBeLessThan(CHECK_TIMEOUT_MS);
      expect((await readyz(server)).status).toBe(503);

      proxy.restore();
      const back = await readyz(server);
      expect(back.status).toBe(200);
      expect(back.body.checks).toEqual({ database: 'ok', migrations: 'ok' });
    },
  );

  it.skipIf(!onRealPostgres)(
    'is 503 database unreachable within the check timeout while the database hangs, and 200 once it answers again (needs real PostgreSQL: PGlite runs in process and cannot hang)',
    async () => {
      const { proxy, server } = await serveThroughProxy();
      expect((await readyz(server)).status).toBe(200);

      proxy.stall();
      const hung = await readyz(server);
      expect(hung.status).toBe(503);
      expect(hung.body.checks).toEqual({ database: 'unreachable', migrations: 'unknown' });
      expect(hung.elapsedMs).toBeGreaterThanOrEqual(CHECK_TIMEOUT_MS - 50);
      expect(hung.elapsedMs).toBeLessThan(CHECK_TIMEOUT_MS + 1_000);
      expect(proxy.heldBytes).toBeGreaterThan(0);

      proxy.restore();
      const back = await readyz(server);
      expect(back.status).toBe(200);
      expect(back.body.checks).toEqual({ database: 'ok', migrations: 'ok' });
    },
  );
});
