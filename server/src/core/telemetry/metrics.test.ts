import { spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { callApi } from '../../../test/api-client.ts';
import {
  STARTUP_TIMEOUT_MS,
  cleanUpServers,
  databaseEnv,
  newTestDatabase,
  spawnServer,
} from '../../../test/server-process.ts';
import { onRealPostgres } from '../../../test/test-database.ts';
import { LogCapture } from '../../../test/log-capture.ts';
import { insertProducts } from '../../../test/seed-products.ts';
import { createLogger } from '../logging/logger.ts';

afterEach(cleanUpServers);

/** A port free a moment ago (METRICS_PORT=0 turns metrics off, so a test names a real one). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** `name{labels} value` lines of one series family, as numbers summed per label set. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (!Object.entries(labels).every(([key, value]) => line.includes(`${key}="${value}"`))) continue;
    total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

describe('Prometheus metrics', () => {
  it.skipIf(!onRealPostgres)(
    'are served on METRICS_PORT, accepted by promtool, summed over two workers, and move with traffic (needs real PostgreSQL for two workers)',
    { timeout: 120_000 },
    async () => {
      const port = await freePort();
      const testDatabase = await newTestDatabase();
      const server = spawnServer({
        ...databaseEnv(testDatabase),
        WEB_CONCURRENCY: '2',
        METRICS_PORT: String(port),
        // A second failed login of one email from one address is refused (429).
        RATE_LIMIT_PER_EMAIL: '1',
      });
      const first = await server.waitForLine({ event: 'server_started' }, { timeoutMs: STARTUP_TIMEOUT_MS });
      await server.waitForLine({ event: 'server_started' }, { skip: 1, timeoutMs: STARTUP_TIMEOUT_MS });
      const metricsLine = await server.waitForLine({ event: 'metrics_started' });
      expect(metricsLine.url).toBe(`http://127.0.0.1:${port}/metrics`);
      const url = String(first.url);
      const scrape = async () => {
        const res = await fetch(`http://127.0.0.1:${port}/metrics`);
        expect(res.status).toBe(200);
        expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
        return res.text();
      };
      const before = await scrape();

      const requests = 12;
      for (let index = 0; index < requests / 2; index++) {
        expect((await callApi(url, 'products.list', { protocol: 'rest' })).status).toBe(200);
        expect((await callApi(url, 'system.ping', { protocol: 'trpc' })).status).toBe(200);
      }
      const login = () =>
        callApi(url, 'auth.login', { protocol: 'rest', input: { email: 'nobody@example.com', password: 'not it' } });
      expect((await login()).status).toBe(401);
      expect((await login()).status).toBe(429);
      const database = await testDatabase.open(createLogger({ level: 'fatal', destination: new LogCapture() }));
      const [productId] = await insertProducts(database.db, [{ stock: 5 }]);
      await database.close();
      const registered = await callApi<{ accessToken: string }>(url, 'auth.register', {
        protocol: 'trpc',
        input: { email: 'metered@example.com', password: 'correct horse battery staple', name: 'Metered' },
      });
      const created = await callApi(url, 'orders.create', {
        protocol: 'rest',
        token: registered.data.accessToken,
        input: { items: [{ productId, quantity: 1 }], paymentMethod: 'pm_card_visa' },
      });
      expect(created.status).toBe(200);
      const after = await scrape();

      const checked = spawnSync('promtool', ['check', 'metrics'], { input: after, encoding: 'utf8' });
      expect(checked.error, 'promtool is installed by .ci/run (Debian prometheus)').toBeUndefined();
      expect(`${checked.stdout}${checked.stderr}`.trim()).toBe('');
      expect(checked.status).toBe(0);

      // Both workers' requests, in one sum: the API's port never answers /metrics.
      const answered = (text: string) => sample(text, 'http_server_request_duration_seconds_count');
      expect(answered(after) - answered(before)).toBe(requests + 4);
      expect(
        sample(after, 'http_server_request_duration_seconds_count', { route: '/api/v1/products', status: '200' }),
      ).toBe(requests / 2);
      expect(
        sample(after, 'orders_procedure_call_duration_seconds_count', { procedure: 'v1.system.ping', code: 'OK' }),
      ).toBe(requests / 2);
      expect(sample(after, 'orders_auth_failures_total', { reason: 'Unknown Email' })).toBe(1);
      expect(sample(after, 'orders_rate_limit_refusals_total', { procedure: 'v1.auth.login' })).toBe(1);
      expect(sample(after, 'orders_created_total')).toBe(1);
      expect(sample(after, 'orders_payments_total', { gateway: 'simulated', outcome: 'succeeded' })).toBe(1);
      expect(sample(after, 'orders_payment_gateway_duration_seconds_count', { operation: 'charge' })).toBe(1);
      expect(sample(after, 'orders_db_transactions_total', { outcome: 'commit' })).toBeGreaterThan(0);
      expect(
        sample(after, 'http_server_request_duration_seconds_count', { route: '/api/v1/orders/create', status: '200' }),
      ).toBe(1);
      expect(sample(after, 'orders_db_query_duration_seconds_count')).toBeGreaterThan(
        sample(before, 'orders_db_query_duration_seconds_count'),
      );
      expect(after).toMatch(/^orders_db_pool_connections\{state="idle"\} \d+$/m);
      expect(after).toMatch(/^nodejs_eventloop_lag_seconds /m);
      expect(after).toMatch(/^process_cpu_user_seconds_total /m);
      // No raw path or id becomes a label value.
      expect(after).not.toMatch(/route="[^"]*(prd_|ord_|usr_)/);
      expect((await fetch(`${url}/metrics`)).status).toBe(404);
    },
  );
});
