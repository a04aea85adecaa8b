import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { callApi } from '../test/api-client.ts';
import { LogCapture, type LogLine } from '../test/log-capture.ts';
import { insertProducts } from '../test/seed-products.ts';
import {
  STARTUP_TIMEOUT_MS,
  cleanUpServers,
  databaseEnv,
  newTestDatabase,
  readLogFile,
  spawnServer,
  startServer,
  temporaryFolder,
  waitForExit,
} from '../test/server-process.ts';
import { startTcpProxy } from '../test/tcp-proxy.ts';
import { migrate, onRealPostgres } from '../test/test-database.ts';
import { writeReliabilitySection } from '../test/test-results.ts';
import { recordSecret } from '../test/log-audit/records.ts';
import { createLogger } from './core/logging/logger.ts';
import { DEMO_CUSTOMER } from './services/seed.ts';

/**
 * The server as production runs it (`server/test/server-process.ts`): in its own process,
 * observed through its stdout, its log file, its exit code and the network.
 */

afterEach(cleanUpServers);

interface Response {
  status: number;
  body: string;
}

/** One request on a connection of its own (no keep-alive pool to hide a refused connection). */
function get(url: string, timeoutMs = 10_000): Promise<Response> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer from ${url} within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

/** Resolves with the error code of a TCP connection attempt (ECONNREFUSED), or 'connected'. */
function tryConnect(port: number, timeoutMs = 5_000): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, timeout: timeoutMs });
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve('timeout');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

/**
 * A POST whose body arrives in two parts: the headers and the first part now, the rest when
 * `finish()` is called. The server reads the whole body before it answers.
 */
function slowPost(
  url: string,
  { body, requestId }: { body: string; requestId: string },
): { finish(): void; response: Promise<Response> } {
  const req = httpRequest(url, {
    method: 'POST',
    agent: false,
    headers: {
      'Content-Type': 'application/json',
      'Content-Length': Buffer.byteLength(body),
      'X-Request-Id': requestId,
    },
  });
  const response = new Promise<Response>((resolve, reject) => {
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
  // A test that fails before it awaits the answer must not leave an unhandled rejection.
  response.catch(() => undefined);
  const half = Math.floor(body.length / 2);
  req.write(body.slice(0, half));
  return { finish: () => req.end(body.slice(half)), response };
}

/**
 * The server logs `server_stopping` just before it closes its listener: allow it a moment,
 * then every new connection must be refused.
 */
async function expectRefusesConnections(port: number): Promise<void> {
  await expect.poll(() => tryConnect(port), { timeout: 2_000, interval: 20 }).toBe('ECONNREFUSED');
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const eventsOf = (lines: LogLine[]) => lines.map((line) => line.event);

describe('graceful shutdown on SIGTERM', () => {
  it(
    'answers a request whose body is still arriving, refuses new connections, exits 0 and flushes the log file',
    { timeout: STARTUP_TIMEOUT_MS + 30_000 },
    async () => {
      const logFile = join(temporaryFolder(), 'logs', 'server.log');
      const server = await startServer({ ...databaseEnv(await newTestDatabase()), LOG_FILE: logFile });
      const productsUrl = `${server.url}/api/v1/products`;
      const body = JSON.stringify({
        sku: 'SLOW-1',
        name: 'Slow product',
        price: { amount: 100, currency: 'EUR' },
        stock: 1,
      });

      // What the server answers to this request when nothing is going on.
      const quick = slowPost(productsUrl, { body, requestId: 'quick-post' });
      quick.finish();
      const expected = await quick.response;
      expect(expected.status).toBeLessThan(500);

      const slow = slowPost(productsUrl, { body, requestId: 'slow-post' });
      // Let the server read the headers and the first half, so the request is in flight.
      await sleep(300);
      server.child.kill('SIGTERM');
      await server.waitForLine({ event: 'server_stopping', signal: 'SIGTERM' });
      await expectRefusesConnections(server.port);

      await sleep(1_000);
      slow.finish();
      const answer = await slow.response;
      expect(answer.status).toBe(expected.status);
      expect(answer.body).toBe(expected.body.replaceAll('quick-post', 'slow-post'));

      expect(await waitForExit(server)).toEqual({ code: 0, signal: null });
      const logged = readLogFile(logFile);
      const events = eventsOf(logged);
      const stopping = events.indexOf('server_stopping');
      expect(stopping).toBeGreaterThan(-1);
      expect(logged.at(-1)).toMatchObject({
        event: 'server_stopped',
        signal: 'SIGTERM',
        forced_connections_closed: false,
      });
      // The slow request was answered, and logged, while the server was stopping.
      const slowAccess = logged.findIndex((line) => line.event === 'http_request' && line.request_id === 'slow-post');
      expect(logged[slowAccess]).toMatchObject({ method: 'POST', path: '/api/v1/products', status: expected.status });
      expect(slowAccess).toBeGreaterThan(stopping);
    },
  );

  it.skipIf(!onRealPostgres)(
    'lets a query held up by the database finish before it stops (needs real PostgreSQL: the held-up query goes through a TCP proxy)',
    { timeout: 60_000 },
    async () => {
      const testDatabase = await newTestDatabase();
      const logger = createLogger({ level: 'error', destination: new LogCapture() });
      const direct = await testDatabase.open(logger);
      await migrate(direct, logger);
      await insertProducts(direct.db, [{ sku: 'HELD-1' }, { sku: 'HELD-2' }]);
      await direct.close();
      const proxy = await startTcpProxy(testDatabase.url ?? '');
      try {
        const logFile = join(temporaryFolder(), 'server.log');
        const server = await startServer({ DATABASE_URL: proxy.url, MIGRATE_ON_START: 'false', LOG_FILE: logFile });
        const productsUrl = `${server.url}/api/v1/products`;
        expect((await get(productsUrl)).status).toBe(200);

        proxy.stall();
        const stalledAt = performance.now();
        const inFlight = get(productsUrl, 20_000);
        inFlight.catch(() => undefined);
        await expect.poll(() => proxy.heldBytes, { timeout: 5_000 }).toBeGreaterThan(0);
        server.child.kill('SIGTERM');
        await server.waitForLine({ event: 'server_stopping', signal: 'SIGTERM' });
        await expectRefusesConnections(server.port);

        await sleep(Math.max(0, 1_000 - (performance.now() - stalledAt)));
        proxy.restore();
        const answer = await inFlight;
        expect(answer.status).toBe(200);
        const page = JSON.parse(answer.body) as { items: { sku: string }[]; total: number };
        expect(page.total).toBe(2);
        expect(page.items.map((item) => item.sku).sort()).toEqual(['HELD-1', 'HELD-2']);

        expect(await waitForExit(server)).toEqual({ code: 0, signal: null });
        const events = eventsOf(readLogFile(logFile));
        expect(events).toContain('server_stopping');
        expect(events.at(-1)).toBe('server_stopped');
      } finally {
        await proxy.close();
      }
    },
  );
});

describe('WEB_CONCURRENCY=2', () => {
  it.skipIf(!onRealPostgres)(
    'runs two workers, replaces one that dies while the other keeps serving, and stops them all on SIGTERM (needs real PostgreSQL: the embedded database serves one process)',
    { timeout: 90_000 },
    async () => {
      // What was seen, for test-results/reliability/process.json, whether or not it all held.
      const outcome: Record<string, unknown> = { passed: false };
      try {
        await runWorkerRestart(outcome);
        outcome.passed = true;
      } catch (error) {
        outcome.failure = error instanceof Error ? error.message.split('\n')[0] : String(error);
        throw error;
      } finally {
        writeReliabilitySection('process', 'worker_restart', outcome);
      }
    },
  );
});

/** Kills one of two workers and watches the primary replace it, filling `outcome` as it goes. */
async function runWorkerRestart(outcome: Record<string, unknown>): Promise<void> {
  const logFile = join(temporaryFolder(), 'server.log');
  const server = spawnServer({ ...databaseEnv(await newTestDatabase()), WEB_CONCURRENCY: '2', LOG_FILE: logFile });
  const first = await server.waitForLine({ event: 'server_started' }, { timeoutMs: STARTUP_TIMEOUT_MS });
  await server.waitForLine({ event: 'server_started' }, { skip: 1, timeoutMs: STARTUP_TIMEOUT_MS });
  const workers = server.lines.filter((line) => line.event === 'worker_started').map((line) => Number(line.worker_pid));
  expect(workers).toHaveLength(2);
  const url = String(first.url);
  const healthz = `${url}/healthz`;
  const products = `${url}/api/v1/products`;
  expect((await get(products)).status).toBe(200);

  const [victim] = workers;
  process.kill(victim!, 'SIGKILL');
  const killedAt = performance.now();
  const exited = await server.waitForLine({ event: 'worker_exited', worker_pid: victim });
  expect(exited).toMatchObject({ level: 'ERROR', signal: 'SIGKILL' });
  // While the replacement starts, the surviving worker serves.
  const during = await Promise.all(Array.from({ length: 10 }, (_, index) => get(index % 2 ? healthz : products)));
  outcome.requests_while_replacing = { sent: during.length, ok: during.filter((res) => res.status === 200).length };
  expect(during.map((res) => res.status)).toEqual(Array(10).fill(200));

  const replacement = await server.waitForLine({ event: 'worker_started' }, { skip: 2 });
  expect(replacement.worker_pid).not.toBe(victim);
  await server.waitForLine({ event: 'server_started', pid: replacement.worker_pid }, { timeoutMs: STARTUP_TIMEOUT_MS });
  outcome.worker_killed = 'SIGKILL';
  outcome.replacement_serving_after_ms = Math.round(performance.now() - killedAt);
  const after = await Promise.all(Array.from({ length: 10 }, () => get(products)));
  outcome.requests_after_replacement = { sent: after.length, ok: after.filter((res) => res.status === 200).length };
  expect(after.map((res) => res.status)).toEqual(Array(10).fill(200));

  server.child.kill('SIGTERM');
  const exit = await waitForExit(server);
  outcome.exit_code = exit.code;
  expect(exit).toEqual({ code: 0, signal: null });
  const logged = readLogFile(logFile);
  const stopped = logged.filter((line) => line.event === 'server_stopped');
  // Each live worker, then the primary.
  expect(stopped).toHaveLength(3);
  expect(stopped.at(-1)).toMatchObject({ workers: 2 });
  expect([workers[1], replacement.worker_pid].map((pid) => isRunning(Number(pid)))).toEqual([false, false]);
}

describe('periodic sweep', () => {
  it(
    'sweeps every SWEEP_INTERVAL_SECONDS, and SIGTERM ends a running sweep after its batch, before the database closes',
    { timeout: STARTUP_TIMEOUT_MS + 30_000 },
    async () => {
      const testDatabase = await newTestDatabase();
      const logger = createLogger({ level: 'error', destination: new LogCapture() });
      const direct = await testDatabase.open(logger);
      await migrate(direct, logger);
      await sql`insert into rate_limits (key, count, window_ends_at)
        select 'ip:ended-' || n, 1, now() - interval '1 day' from generate_series(1, 5000) as n`.execute(direct.db);
      await direct.close();
      const logFile = join(temporaryFolder(), 'server.log');
      const server = await startServer({
        ...databaseEnv(testDatabase),
        LOG_FILE: logFile,
        SWEEP_INTERVAL_SECONDS: '1',
        SWEEP_BATCH_SIZE: '1',
      });
      await server.waitForLine({ event: 'db_transaction', name: 'sweep_rate_limits' }, { timeoutMs: 10_000 });
      server.child.kill('SIGTERM');

      expect(await waitForExit(server)).toEqual({ code: 0, signal: null });
      const logged = readLogFile(logFile);
      const events = eventsOf(logged);
      expect(events).not.toContain('sweep_failed');
      const swept = logged.filter((line) => line.event === 'sweep_completed');
      expect(swept).toEqual([expect.objectContaining({ level: 'INFO', outcome: 'stopped' })]);
      const deleted = (swept[0]?.deleted as { rate_limits: number }).rate_limits;
      expect(deleted).toBeGreaterThan(0);
      expect(deleted).toBeLessThan(5000);
      expect(events.indexOf('server_stopping')).toBeLessThan(events.indexOf('sweep_completed'));
      expect(events.at(-1)).toBe('server_stopped');
    },
  );
});

describe('startup', () => {
  it('exits 1 quickly, with a clear message, when the configuration is invalid', { timeout: 30_000 }, async () => {
    const server = spawnServer({ PORT: 'abc', PGLITE_DIR: join(temporaryFolder(), 'pglite') });
    expect(await waitForExit(server, 20_000)).toEqual({ code: 1, signal: null });
    expect(server.stderr()).toContain('orders-service cannot start.');
    expect(server.stderr()).toMatch(/^ {2}- PORT: .+ \(got "abc"\)$/m);
    expect(server.lines.map((line) => line.event)).not.toContain('server_started');
  });
});

/** The status of a login on a server, e.g. 401 for an account that does not exist. */
async function loginStatus(url: string, { email, password }: { email: string; password: string }): Promise<number> {
  return (await callApi(url, 'auth.login', { protocol: 'rest', input: { email, password } })).status;
}

describe('a first start on a new embedded database', () => {
  it(
    'in development on a non-loopback HOST: no panel, no demo admin and no demo data',
    { timeout: STARTUP_TIMEOUT_MS + 30_000 },
    async () => {
      const server = await startServer({
        NODE_ENV: 'development',
        HOST: '0.0.0.0',
        PGLITE_DIR: join(temporaryFolder(), 'pglite'),
      });
      const url = `http://127.0.0.1:${server.port}`;
      expect((await get(`${url}/panel`)).status).toBe(404);
      // The password a local development database gives its admin when ADMIN_PASSWORD is unset.
      expect(await loginStatus(url, { email: 'admin@example.com', password: 'admin-password-dev' })).toBe(401);
      expect(await loginStatus(url, DEMO_CUSTOMER)).toBe(401);
      expect(JSON.parse((await get(`${url}/api/v1/products`)).body)).toMatchObject({ total: 0 });
      expect(server.lines.find((line) => line.event === 'db_seeded')).toMatchObject({
        demo_data: false,
        admin_created: false,
        customer_created: false,
        products: 0,
      });
      expect(server.stderr()).not.toContain(DEMO_CUSTOMER.password);
    },
  );

  it(
    'in production seeds the admin from ADMIN_PASSWORD and no demo customer, products or orders',
    { timeout: STARTUP_TIMEOUT_MS + 30_000 },
    async () => {
      const adminPassword = 'production-admin-password-7f3a';
      recordSecret('password', adminPassword);
      const server = await startServer({
        NODE_ENV: 'production',
        PGLITE_DIR: join(temporaryFolder(), 'pglite'),
        ADMIN_EMAIL: 'ops@example.com',
        ADMIN_PASSWORD: adminPassword,
      });
      expect(await loginStatus(server.url, { email: 'ops@example.com', password: adminPassword })).toBe(200);
      expect(await loginStatus(server.url, DEMO_CUSTOMER)).toBe(401);
      expect(JSON.parse((await get(`${server.url}/api/v1/products`)).body)).toMatchObject({ total: 0 });
      expect(server.lines.find((line) => line.event === 'db_seeded')).toMatchObject({
        demo_data: false,
        admin_created: true,
        customer_created: false,
        products: 0,
        orders: 0,
      });
    },
  );
});
