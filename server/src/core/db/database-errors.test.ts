import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LogCapture } from '../../../test/log-capture.ts';
import { startTcpProxy, type TcpProxy } from '../../../test/tcp-proxy.ts';
import { TEST_JWT_SECRET } from '../../../test/test-app.ts';
import { createTestDatabase, migrate, onRealPostgres, type TestDatabase } from '../../../test/test-database.ts';
import { createApp } from '../../app.ts';
import { loadConfig } from '../config.ts';
import { isDatabaseUnavailable, isUnstorableText, markDatabaseError } from './database-errors.ts';
import { createDatabase, type DatabaseHandle } from './database.ts';
import { startHttpServer, type RunningServer } from '../http/server.ts';
import { createLogger } from '../logging/logger.ts';
import { createReadinessCheck } from './readiness.ts';

describe('isDatabaseUnavailable', () => {
  const withCode = (code: string, message = 'failed') => Object.assign(new Error(message), { code });
  /** An error as the database driver rejects with it (every driver failure is marked so). */
  const fromDriver = (error: Error) => markDatabaseError(error) as Error;

  it.each([
    ['a refused connection', withCode('ECONNREFUSED')],
    ['a reset connection', withCode('ECONNRESET')],
    ['a connection exception (SQLSTATE 08006)', withCode('08006')],
    ['an administrator shutdown (57P01)', withCode('57P01')],
    ['a statement timeout (57014)', withCode('57014')],
    ['a dropped connection', new Error('Connection terminated unexpectedly')],
    ['a pool that cannot connect in time', new Error('timeout exceeded when trying to connect')],
    ['a refusal in its cause', new Error('query failed', { cause: withCode('ECONNREFUSED') })],
  ])('is true for %s from the database driver', (_name, error) => {
    expect(isDatabaseUnavailable(fromDriver(error))).toBe(true);
    expect(isDatabaseUnavailable(new Error('order not placed', { cause: fromDriver(error) }))).toBe(true);
  });

  it.each([
    ['a syntax error (42601)', withCode('42601', 'syntax error at or near')],
    ['a unique violation (23505)', withCode('23505')],
  ])('is false for %s from the database driver', (_name, error) => {
    expect(isDatabaseUnavailable(fromDriver(error))).toBe(false);
  });

  it.each([
    ['a request body whose client hung up', withCode('ECONNRESET', 'aborted')],
    ['a premature close of the request stream', withCode('ERR_STREAM_PREMATURE_CLOSE', 'Premature close')],
    ['a reset from another service', new Error('fetch failed', { cause: withCode('ECONNRESET') })],
    ['a message that only looks like the driver', new Error('Connection terminated unexpectedly')],
    ['a plain bug', new TypeError('undefined is not a function')],
    ['a string', 'ECONNREFUSED'],
  ])('is false for %s: only what the database layer threw counts', (_name, error) => {
    expect(isDatabaseUnavailable(error)).toBe(false);
  });

  it('is true for what a real connection to a closed port fails with, through the app database handle', async () => {
    const logger = createLogger({ level: 'error', destination: new LogCapture() });
    const unreachable = await createDatabase(
      {
        url: 'postgres://postgres@127.0.0.1:1/nowhere',
        pgliteDir: '',
        poolMax: 1,
        statementTimeoutMs: 1_000,
        connectTimeoutMs: 1_000,
        logQueries: false,
      },
      logger,
    );
    try {
      await expect(unreachable.ping()).rejects.toSatisfy(isDatabaseUnavailable);
    } finally {
      await unreachable.close();
    }
  });
});

describe('isUnstorableText', () => {
  const withCode = (code: string) => Object.assign(new Error('failed'), { code });

  it.each([
    ['NUL in text (22021)', withCode('22021')],
    ['\\u0000 in JSON (22P05)', withCode('22P05')],
    ['a wrapped cause', new Error('query failed', { cause: withCode('22021') })],
  ])('is true for %s', (_name, error) => {
    expect(isUnstorableText(error)).toBe(true);
  });

  it.each([
    ['text that is not a number or JSON (22P02)', withCode('22P02')],
    ['a lost connection', withCode('ECONNRESET')],
    ['a string', '22021'],
  ])('is false for %s', (_name, error) => {
    expect(isUnstorableText(error)).toBe(false);
  });
});

describe.skipIf(!onRealPostgres)(
  'a procedure while the database is cut off (needs real PostgreSQL: the connection goes through a TCP proxy)',
  () => {
    let testDatabase: TestDatabase;
    let proxy: TcpProxy;
    let database: DatabaseHandle;
    let server: RunningServer;
    const logs = new LogCapture();

    beforeAll(async () => {
      const logger = createLogger({ level: 'debug', destination: logs });
      testDatabase = await createTestDatabase();
      const direct = await testDatabase.open(logger);
      await migrate(direct, logger);
      await direct.close();
      proxy = await startTcpProxy(testDatabase.url ?? '');
      database = await createDatabase(
        {
          url: proxy.url,
          pgliteDir: '',
          poolMax: 4,
          statementTimeoutMs: 5_000,
          connectTimeoutMs: 1_000,
          logQueries: false,
        },
        logger,
      );
      const config = loadConfig({ NODE_ENV: 'production', JWT_SECRET: TEST_JWT_SECRET, PORT: '0' });
      const app = createApp({
        db: database.db,
        logger,
        config,
        version: 'test',
        checkReadiness: createReadinessCheck({ db: database.db, ping: database.ping }),
      });
      server = await startHttpServer(app, { host: '127.0.0.1', port: 0, shutdownTimeoutMs: 2_000, logger });
    });
    afterAll(async () => {
      await server.stop();
      await database.close();
      await proxy.close();
      await testDatabase.drop();
    });

    it('answers 503 DATABASE_UNAVAILABLE with Retry-After on both protocols within bounded time, and recovers without a restart', async () => {
      expect((await fetch(`${server.url}/api/v1/products`)).status).toBe(200);
      proxy.cut();

      for (const url of [`${server.url}/api/v1/products`, `${server.url}/trpc/v1.products.list`]) {
        const started = performance.now();
        const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
        expect(performance.now() - started).toBeLessThan(5_000);
        expect(res.status).toBe(503);
        expect(res.headers.get('retry-after')).toBe('5');
        const text = await res.text();
        expect(text).toContain('DATABASE_UNAVAILABLE');
        expect(text).not.toMatch(/ECONN|terminated|stack/i);
      }
      expect(logs.events('procedure_call', { code: 'DATABASE_UNAVAILABLE' }).length).toBeGreaterThanOrEqual(2);
      expect(logs.events('unhandled_exception')).toHaveLength(0);

      proxy.restore();
      const res = await fetch(`${server.url}/api/v1/products`);
      expect(res.status).toBe(200);
    });
  },
);
