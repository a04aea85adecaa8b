import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { callApi } from '../../../test/api-client.ts';
import { LogCapture } from '../../../test/log-capture.ts';
import { insertProducts } from '../../../test/seed-products.ts';
import {
  cleanUpServers,
  databaseEnv,
  newTestDatabase,
  startServer,
  waitForExit,
} from '../../../test/server-process.ts';
import { createLogger } from '../logging/logger.ts';

/**
 * The server in its own process, exporting OTLP/HTTP (JSON) to a receiver in this process:
 * a REST request and a tRPC batch, each sent with a `traceparent`, give spans of that trace
 * linked HTTP -> procedure -> SQL (and the gateway), and their log lines carry its trace id.
 */

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: { key: string; value: Record<string, unknown> }[];
  status?: { code?: number };
}

let receiver: Server | undefined;

afterEach(async () => {
  await cleanUpServers();
  await new Promise((resolve) => (receiver ? receiver.close(resolve) : resolve(undefined)));
  receiver = undefined;
});

/** An OTLP/HTTP JSON receiver: every span posted to /v1/traces. */
async function startReceiver(): Promise<{
  url: string;
  spans: OtlpSpan[];
  resources: unknown[];
  protobufExports: Buffer[];
}> {
  const spans: OtlpSpan[] = [];
  const resources: unknown[] = [];
  const protobufExports: Buffer[] = [];
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      if (req.url === '/v1/traces' && req.headers['content-type'] === 'application/x-protobuf') {
        protobufExports.push(body);
      } else if (req.url === '/v1/traces') {
        const payload = JSON.parse(body.toString('utf8')) as {
          resourceSpans: { resource: unknown; scopeSpans: { spans: OtlpSpan[] }[] }[];
        };
        for (const resourceSpans of payload.resourceSpans) {
          resources.push(resourceSpans.resource);
          for (const scope of resourceSpans.scopeSpans) spans.push(...scope.spans);
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => receiver?.listen(0, '127.0.0.1', resolve));
  const { port } = receiver.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, spans, resources, protobufExports };
}

const attribute = (span: OtlpSpan, key: string) => {
  const value = span.attributes.find((item) => item.key === key)?.value;
  return value === undefined ? undefined : Object.values(value)[0];
};

const hex = (length: number) => Array.from({ length }, () => Math.floor(Math.random() * 16).toString(16)).join('');

async function spansOf(spans: OtlpSpan[], traceId: string, atLeast: number): Promise<OtlpSpan[]> {
  for (let waited = 0; waited < 100; waited++) {
    const found = spans.filter((span) => span.traceId === traceId);
    if (found.length >= atLeast && found.some((span) => span.kind === 2)) return found;
    await sleep(100);
  }
  return spans.filter((span) => span.traceId === traceId);
}

/** The span's ancestors' names, nearest first, up to the trace's root in this service. */
function ancestry(span: OtlpSpan, all: OtlpSpan[]): string[] {
  const names: string[] = [];
  let parent = all.find((candidate) => candidate.spanId === span.parentSpanId);
  while (parent) {
    names.push(parent.name);
    const current = parent;
    parent = all.find((candidate) => candidate.spanId === current.parentSpanId);
  }
  return names;
}

describe('OpenTelemetry traces', () => {
  it(
    'continue the caller trace through HTTP, each procedure call, SQL and the gateway, and name it in every log line',
    { timeout: 120_000 },
    async () => {
      const otlp = await startReceiver();
      const testDatabase = await newTestDatabase();
      const server = await startServer({
        ...databaseEnv(testDatabase),
        OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        OTEL_SERVICE_NAME: 'orders-under-test',
        OTEL_BSP_SCHEDULE_DELAY: '50',
      });
      const database = await testDatabase.open(createLogger({ level: 'fatal', destination: new LogCapture() }));
      const [productId] = await insertProducts(database.db, [{ stock: 5 }]);
      await database.close();

      const registered = await callApi<{ accessToken: string }>(server.url, 'auth.register', {
        protocol: 'rest',
        input: { email: 'traced@example.com', password: 'correct horse battery staple', name: 'Traced' },
      });
      expect(registered.status).toBe(200);

      // REST: orders.create with its payment (HTTP -> procedure -> transaction -> SQL, gateway).
      const restTrace = hex(32);
      const callerSpan = hex(16);
      const created = await callApi(server.url, 'orders.create', {
        protocol: 'rest',
        token: registered.data.accessToken,
        input: { items: [{ productId, quantity: 1 }], paymentMethod: 'pm_card_visa' },
        headers: { traceparent: `00-${restTrace}-${callerSpan}-01`, tracestate: 'caller=1' },
      });
      expect(created.status).toBe(200);
      expect(created.headers.get('traceresponse')).toMatch(new RegExp(`^00-${restTrace}-[0-9a-f]{16}-01$`));

      // tRPC: a batch of two calls, each its own procedure span under the one HTTP span.
      const batchTrace = hex(32);
      const batchParent = hex(16);
      const input = encodeURIComponent(JSON.stringify({ 0: { productId }, 1: {} }));
      const batch = await fetch(`${server.url}/trpc/v1.products.get,v1.products.list?batch=1&input=${input}`, {
        headers: { traceparent: `00-${batchTrace}-${batchParent}-01` },
      });
      expect(batch.status).toBe(200);
      const batchRequestId = batch.headers.get('x-request-id');

      const rest = await spansOf(otlp.spans, restTrace, 6);
      const restServer = rest.find((span) => span.kind === 2);
      expect(restServer).toMatchObject({ name: 'POST /api/v1/orders/create', parentSpanId: callerSpan });
      expect(attribute(restServer as OtlpSpan, 'http.route')).toBe('/api/v1/orders/create');
      expect(attribute(restServer as OtlpSpan, 'http.response.status_code')).toBe(200);
      const restProcedure = rest.find((span) => span.name === 'v1.orders.create') as OtlpSpan;
      expect(restProcedure.parentSpanId).toBe(restServer?.spanId);
      expect(attribute(restProcedure, 'rpc.system')).toBe('trpc');
      const gateway = rest.find((span) => span.name === 'payment_gateway charge') as OtlpSpan;
      expect(ancestry(gateway, rest)).toContain('v1.orders.create');
      expect(attribute(gateway, 'payment.outcome')).toBe('succeeded');
      // The statement that places the order (stock, order, lines, payment attempt), named by its comment.
      const insert = rest.find((span) => span.name === 'WITH place_order') as OtlpSpan;
      expect(ancestry(insert, rest).slice(-2)).toEqual(['v1.orders.create', 'POST /api/v1/orders/create']);
      expect(attribute(insert, 'db.system')).toBe('postgresql');
      expect(attribute(insert, 'db.query.summary')).toBe('WITH place_order');
      // The statement without its values.
      const text = String(attribute(insert, 'db.query.text'));
      expect(text).toMatch(/insert into orders .*\$\d/s);
      expect(text).not.toContain('pm_card_visa');
      const transaction = rest.find((span) => span.name.startsWith('transaction ')) as OtlpSpan;
      expect(attribute(transaction, 'db.transaction.outcome')).toBe('commit');

      const trpc = await spansOf(otlp.spans, batchTrace, 5);
      const trpcServer = trpc.find((span) => span.kind === 2) as OtlpSpan;
      expect(trpcServer).toMatchObject({ name: 'GET /trpc/{batch}', parentSpanId: batchParent });
      const calls = trpc.filter((span) => span.parentSpanId === trpcServer.spanId);
      expect(calls.map((span) => span.name).sort()).toEqual(['v1.products.get', 'v1.products.list']);
      for (const call of calls) {
        const statements = trpc.filter((span) => span.parentSpanId === call.spanId);
        expect(statements.length, call.name).toBeGreaterThan(0);
        expect(statements.every((span) => span.name.startsWith('SELECT'))).toBe(true);
      }
      expect(JSON.stringify(otlp.resources)).toContain('orders-under-test');

      // Every line of both requests carries their trace id (and a span of it), next to request_id.
      for (const [requestId, traceId, spans] of [
        [created.requestId, restTrace, rest],
        [batchRequestId, batchTrace, trpc],
      ] as const) {
        const lines = server.lines.filter((line) => line.request_id === requestId);
        expect(lines.map((line) => line.event)).toEqual(expect.arrayContaining(['procedure_call', 'http_request']));
        const spanIds = new Set(spans.map((span) => span.spanId));
        for (const line of lines) {
          expect(line.trace_id, String(line.event)).toBe(traceId);
          expect(spanIds.has(String(line.span_id)), String(line.event)).toBe(true);
        }
      }
      // A line names the span it was written in: the order's inside the procedure's, the transaction's in its own.
      const restLine = (event: string) =>
        server.lines.find((line) => line.request_id === created.requestId && line.event === event);
      expect(restLine('order_created')?.span_id).toBe(restProcedure.spanId);
      expect(restLine('db_transaction')?.span_id).toBe(transaction.spanId);
      expect(restLine('http_request')?.span_id).toBe(restServer?.spanId);
    },
  );

  it(
    'export in OTLP protobuf by default, to OTEL_EXPORTER_OTLP_TRACES_ENDPOINT as given',
    { timeout: 120_000 },
    async () => {
      const otlp = await startReceiver();
      const server = await startServer({
        ...databaseEnv(await newTestDatabase()),
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${otlp.url}/v1/traces`,
        OTEL_BSP_SCHEDULE_DELAY: '50',
      });
      const traceId = hex(32);
      const res = await fetch(`${server.url}/api/v1/system/ping`, {
        headers: { traceparent: `00-${traceId}-${hex(16)}-01` },
      });
      expect(res.status).toBe(200);
      // The trace id travels as its 16 bytes in the protobuf encoding (start-up's own spans, the
      // migrations' statements, may come first).
      const traceBytes = Buffer.from(traceId, 'hex');
      const exported = () => Buffer.concat(otlp.protobufExports);
      for (let waited = 0; waited < 100 && !exported().includes(traceBytes); waited++) await sleep(100);
      expect(exported().includes(traceBytes)).toBe(true);
      expect(exported().includes(Buffer.from('GET /api/v1/system/ping'))).toBe(true);
      expect(otlp.spans).toEqual([]);
    },
  );

  it(
    'lose only spans when the collector is down: requests are answered, nothing crashes, SIGTERM still stops it',
    { timeout: 120_000 },
    async () => {
      // A port nothing listens on.
      const closed = createServer();
      await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
      const { port } = closed.address() as AddressInfo;
      await new Promise((resolve) => closed.close(resolve));
      const server = await startServer({
        ...databaseEnv(await newTestDatabase()),
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
        OTEL_BSP_SCHEDULE_DELAY: '50',
        OTEL_EXPORTER_OTLP_TIMEOUT: '500',
      });
      for (let index = 0; index < 5; index++) {
        const res = await fetch(`${server.url}/api/v1/system/ping`);
        expect(res.status).toBe(200);
        await sleep(200);
      }
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
      server.child.kill('SIGTERM');
      expect(await waitForExit(server)).toEqual({ code: 0, signal: null });
      const levels = server.lines.map((line) => line.level);
      expect(levels).not.toContain('FATAL');
      expect(server.lines.map((line) => line.event)).not.toContain('unhandled_rejection');
    },
  );
});
