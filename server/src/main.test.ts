import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { LogCapture, type LogLine } from '../test/log-capture.ts';
import { insertProducts } from '../test/seed-products.ts';
import { startTcpProxy } from '../test/tcp-proxy.ts';
import { TEST_JWT_SECRET } from '../test/test-app.ts';
import { createTestDatabase, migrate, onRealPostgres, type TestDatabase } from '../test/test-database.ts';
import { createLogger } from './core/logging.ts';

/**
 * The server as production runs it: `node --import tsx server/src/main.ts` in its own
 * process, configured by environment variables, observed through its stdout, its log
 * file, its exit code and the network.
 */

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** A fresh PGlite database can take tens of seconds to create on a busy machine. */
const STARTUP_TIMEOUT_MS = 90_000;
const SHUTDOWN_TIMEOUT_MS = 15_000;

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

interface ServerProcess {
  child: ChildProcess;
  pid: number;
  /** Every JSON line written to stdout so far. */
  lines: LogLine[];
  stderr(): string;
  exited: Promise<Exit>;
  /** The first line (after the `skip` first matching ones) that matches, waiting for it if need be. */
  waitForLine(what: Partial<LogLine>, options?: { skip?: number; timeoutMs?: number }): Promise<LogLine>;
}

const running = new Set<ServerProcess>();
const temporaryFolders: string[] = [];
const testDatabases: TestDatabase[] = [];

afterEach(async () => {
  for (const server of running) {
    // Workers (node:cluster) leave with their primary, but are not left to chance.
    const pids = [
      server.pid,
      ...server.lines.filter((line) => line.event === 'worker_started').map((line) => line.worker_pid),
    ];
    for (const pid of pids) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await server.exited;
  }
  running.clear();
  for (const testDatabase of testDatabases.splice(0)) await testDatabase.drop();
  for (const folder of temporaryFolders.splice(0)) rmSync(folder, { recursive: true, force: true });
});

function temporaryFolder(): string {
  const folder = mkdtempSync(join(tmpdir(), 'orders-main-test-'));
  temporaryFolders.push(folder);
  return folder;
}

async function newTestDatabase(): Promise<TestDatabase> {
  const testDatabase = await createTestDatabase();
  testDatabases.push(testDatabase);
  return testDatabase;
}

/** The variables that point the server at a test database and have it migrated at start. */
function databaseEnv(testDatabase: TestDatabase): Record<string, string> {
  return testDatabase.url === undefined
    ? { PGLITE_DIR: testDatabase.pgliteDir ?? '', MIGRATE_ON_START: 'true' }
    : { DATABASE_URL: testDatabase.url, MIGRATE_ON_START: 'true' };
}

function matches(line: LogLine, what: Partial<LogLine>): boolean {
  return Object.entries(what).every(([key, value]) => line[key] === value);
}

/**
 * Starts the server with only the given environment (no `.env` value can leak in: every
 * variable that matters is set, empty meaning unset).
 */
function spawnServer(env: Record<string, string>): ServerProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/src/main.ts'], {
    cwd: REPO_ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      NODE_ENV: 'test',
      HOST: '127.0.0.1',
      PORT: '0',
      JWT_SECRET: TEST_JWT_SECRET,
      LOG_LEVEL: 'info',
      DATABASE_URL: '',
      WEB_CONCURRENCY: '',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: LogLine[] = [];
  const newLine = new EventEmitter();
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  createInterface({ input: child.stdout }).on('line', (text) => {
    try {
      const line = JSON.parse(text) as LogLine;
      lines.push(line);
      newLine.emit('line');
    } catch {
      stderr += `[stdout] ${text}\n`;
    }
  });
  const exited = new Promise<Exit>((resolve) => {
    child.once('exit', (code, signal) => {
      newLine.emit('exit');
      resolve({ code, signal });
    });
  });

  const server: ServerProcess = {
    child,
    pid: child.pid ?? -1,
    lines,
    stderr: () => stderr,
    exited,
    waitForLine: (what, { skip = 0, timeoutMs = 10_000 } = {}) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const found = lines.filter((line) => matches(line, what))[skip];
          if (found) {
            done();
            resolve(found);
          } else if (child.exitCode !== null || child.signalCode !== null) {
            done();
            reject(new Error(`server exited without logging ${JSON.stringify(what)}:\n${stderr}`));
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`no ${JSON.stringify(what)} line within ${timeoutMs} ms:\n${stderr}`));
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          newLine.off('line', check).off('exit', check);
        };
        newLine.on('line', check).on('exit', check);
        check();
      }),
  };
  running.add(server);
  return server;
}

/** Spawns the server and waits for it to listen; `url` is the one it logged. */
async function startServer(env: Record<string, string>): Promise<ServerProcess & { url: string; port: number }> {
  const server = spawnServer(env);
  const started = await server.waitForLine({ event: 'server_started' }, { timeoutMs: STARTUP_TIMEOUT_MS });
  const url = String(started.url);
  return { ...server, url, port: Number(new URL(url).port) };
}

function waitForExit(server: ServerProcess, timeoutMs = SHUTDOWN_TIMEOUT_MS): Promise<Exit> {
  return Promise.race([
    server.exited,
    sleep(timeoutMs, undefined, { ref: false }).then(() => {
      throw new Error(`server still running ${timeoutMs} ms after it was told to stop:\n${server.stderr()}`);
    }),
  ]);
}

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

function readLogFile(path: string): LogLine[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as LogLine);
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
      const logFile = join(temporaryFolder(), 'server.log');
      const server = spawnServer({ ...databaseEnv(await newTestDatabase()), WEB_CONCURRENCY: '2', LOG_FILE: logFile });
      const first = await server.waitForLine({ event: 'server_started' }, { timeoutMs: STARTUP_TIMEOUT_MS });
      await server.waitForLine({ event: 'server_started' }, { skip: 1, timeoutMs: STARTUP_TIMEOUT_MS });
      const workers = server.lines
        .filter((line) => line.event === 'worker_started')
        .map((line) => Number(line.worker_pid));
      expect(workers).toHaveLength(2);
      const url = String(first.url);
      const healthz = `${url}/healthz`;
      const products = `${url}/api/v1/products`;
      expect((await get(products)).status).toBe(200);

      const [victim] = workers;
      process.kill(victim!, 'SIGKILL');
      const exited = await server.waitForLine({ event: 'worker_exited', worker_pid: victim });
      expect(exited).toMatchObject({ level: 'ERROR', signal: 'SIGKILL' });
      // While the replacement starts, the surviving worker serves.
      const during = await Promise.all(Array.from({ length: 10 }, (_, index) => get(index % 2 ? healthz : products)));
      expect(during.map((res) => res.status)).toEqual(Array(10).fill(200));

      const replacement = await server.waitForLine({ event: 'worker_started' }, { skip: 2 });
      expect(replacement.worker_pid).not.toBe(victim);
      await server.waitForLine(
        { event: 'server_started', pid: replacement.worker_pid },
        { timeoutMs: STARTUP_TIMEOUT_MS },
      );
      const after = await Promise.all(Array.from({ length: 10 }, () => get(products)));
      expect(after.map((res) => res.status)).toEqual(Array(10).fill(200));

      server.child.kill('SIGTERM');
      expect(await waitForExit(server)).toEqual({ code: 0, signal: null });
      const logged = readLogFile(logFile);
      const stopped = logged.filter((line) => line.event === 'server_stopped');
      // Each live worker, then the primary.
      expect(stopped).toHaveLength(3);
      expect(stopped.at(-1)).toMatchObject({ workers: 2 });
      expect([workers[1], replacement.worker_pid].map((pid) => isRunning(Number(pid)))).toEqual([false, false]);
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
