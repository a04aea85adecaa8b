import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { startAccountedLoad } from '../test/accounted-load.ts';
import { LogCapture, type LogLine } from '../test/log-capture.ts';
import { insertProducts } from '../test/seed-products.ts';
import {
  STARTUP_TIMEOUT_MS,
  cleanUpServers,
  databaseEnv,
  newTestDatabase,
  readLogFile,
  startServer,
  temporaryFolder,
  waitForExit,
} from '../test/server-process.ts';
import { migrate } from '../test/test-database.ts';
import { writeReliabilityResult } from '../test/test-results.ts';
import { createLogger } from './core/logging/logger.ts';

/**
 * SIGTERM in the middle of steady load on the real server process (production mode, with
 * LOG_FILE): every request the server took is answered, the process exits 0, and its last
 * lines are on disk. The counts go to test-results/reliability/shutdown.json.
 */

const CONNECTIONS = 8;
/** Load before the signal, so the server is busy and requests are in flight when it comes. */
const STEADY_LOAD_MS = 2_500;
const ID_PREFIX = 'load-';
/** Cheap requests over both protocols and a plain route. */
const REQUESTS = [
  { method: 'GET', path: '/api/v1/products?limit=5' },
  { method: 'GET', path: `/trpc/v1.products.list?input=${encodeURIComponent(JSON.stringify({ limit: 5 }))}` },
  { method: 'GET', path: '/healthz' },
] as const;

afterEach(cleanUpServers);

async function seededDatabaseEnv(): Promise<Record<string, string>> {
  const testDatabase = await newTestDatabase();
  const logger = createLogger({ level: 'error', destination: new LogCapture() });
  const handle = await testDatabase.open(logger);
  await migrate(handle, logger);
  await insertProducts(handle.db, [{ sku: 'LOAD-1' }, { sku: 'LOAD-2' }, { sku: 'LOAD-3' }]);
  await handle.close();
  return databaseEnv(testDatabase);
}

const eventsOf = (lines: LogLine[]) => lines.map((line) => line.event);

describe('SIGTERM during steady load', () => {
  it(
    'answers every request the server took, refuses new connections, exits 0 and leaves its last lines on disk',
    { timeout: STARTUP_TIMEOUT_MS + 60_000 },
    async () => {
      const logFile = join(temporaryFolder(), 'logs', 'server.log');
      const server = await startServer({
        ...(await seededDatabaseEnv()),
        NODE_ENV: 'production',
        LOG_FILE: logFile,
        SHUTDOWN_TIMEOUT_MS: '10000',
      });

      const load = startAccountedLoad({
        url: server.url,
        connections: CONNECTIONS,
        requests: REQUESTS.map((request) => ({ ...request })),
        idPrefix: ID_PREFIX,
      });
      await sleep(STEADY_LOAD_MS);
      const atSignal = { completed: load.account.completed, in_flight: load.outstanding() };
      const signalledAt = performance.now();
      server.child.kill('SIGTERM');
      const exit = await waitForExit(server);
      const shutdownMs = Math.round(performance.now() - signalledAt);
      // The server is gone: let the client see its last sockets close, then stop the load.
      await sleep(200);
      load.stop();
      const summary = await load.finished;
      const { account } = load;

      const logged = readLogFile(logFile);
      const served = logged.filter(
        (line) => line.event === 'http_request' && String(line.request_id).startsWith(ID_PREFIX),
      );
      const servedIds = new Set(served.map((line) => String(line.request_id)));
      // Requests the server took whose answer never arrived whole (499: the socket closed first).
      const unanswered = served.filter(
        (line) => line.status === 499 || !account.answeredIds.has(String(line.request_id)),
      );
      const stopping = logged.find((line) => line.event === 'server_stopping');
      const stopped = logged.find((line) => line.event === 'server_stopped');
      const result = {
        connections: CONNECTIONS,
        load_ms_before_sigterm: STEADY_LOAD_MS,
        requests_sent: account.sent,
        completed: account.completed,
        non_2xx: account.non2xx,
        failed_in_flight: account.failedInFlight,
        failure_reasons: account.failureReasons,
        refused_after_close: account.refused,
        sent_after_connection_close: account.sentAfterConnectionClose,
        completed_before_sigterm: atSignal.completed,
        in_flight_at_sigterm: atSignal.in_flight,
        completed_after_sigterm: account.completed - atSignal.completed,
        answered_with_connection_close: account.answeredWithConnectionClose,
        server_logged_requests: served.length,
        server_logged_unanswered: unanswered.length,
        exit_code: exit.code,
        shutdown_duration_ms: shutdownMs,
        server_stop_duration_ms:
          stopping && stopped ? Date.parse(stopped.timestamp) - Date.parse(stopping.timestamp) : null,
        forced_connections_closed: stopped?.forced_connections_closed ?? null,
        last_log_events: eventsOf(logged.slice(-3)),
        autocannon: { requests_sent: summary.requests.sent, errors: summary.errors, timeouts: summary.timeouts },
      };
      writeReliabilityResult('shutdown', result);

      expect(exit).toEqual({ code: 0, signal: null });
      // Every request written is accounted for, once.
      expect(account.completed + account.failedInFlight + account.refused + account.sentAfterConnectionClose).toBe(
        account.sent,
      );
      expect(atSignal.completed).toBeGreaterThan(CONNECTIONS * 2);
      expect(result, JSON.stringify(result)).toMatchObject({ failed_in_flight: 0, non_2xx: 0 });
      // What the client got whole is exactly what the server logged as answered.
      expect(unanswered).toEqual([]);
      expect(servedIds).toEqual(account.answeredIds);
      // Answers after the signal told their clients the connection closes.
      expect(account.answeredWithConnectionClose).toBeGreaterThan(0);
      expect(account.refused).toBeGreaterThan(0);
      // The last lines, flushed to disk before the exit.
      expect(eventsOf(logged)).toContain('server_stopping');
      expect(logged.at(-1)).toMatchObject({
        event: 'server_stopped',
        signal: 'SIGTERM',
        forced_connections_closed: false,
      });
    },
  );
});
