import type { ErrorEnvelope } from '@orders/shared';
import { sql } from 'kysely';
import { beforeAll, describe, expect, it } from 'vitest';
import { useTestApp } from '../../test/fixture.ts';
import { accessLine, trpcBatchUrl, trpcUrl, waitForLines, type TrpcErrorBody } from '../../test/http-client.ts';
import type { LogLine } from '../../test/log-capture.ts';
import { insertProducts } from '../../test/seed-products.ts';
import { startTestApp, type TestApp } from '../../test/test-app.ts';

const { app } = useTestApp();
let mugId: string;

beforeAll(async () => {
  const ids = await insertProducts(app.database.db, [{ name: 'Blue mug', sku: 'MUG-BLUE' }]);
  mugId = ids[0] ?? '';
});

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** What the contract says every access line carries, for an anonymous caller on this machine. */
function expectAccessLine(
  line: LogLine,
  expected: { method: string; path: string; status: number; requestId: string | null },
) {
  expect(line).toMatchObject({
    level: 'INFO',
    event: 'http_request',
    method: expected.method,
    path: expected.path,
    status: expected.status,
    ip: '127.0.0.1',
    request_id: expected.requestId,
    user_id: null,
  });
  expect(line.timestamp).toMatch(ISO_UTC);
  expect(line.latency_ms).toEqual(expect.any(Number));
  expect(line.latency_ms as number).toBeGreaterThanOrEqual(0);
}

describe('http_request: one access line per request, on every route', () => {
  it('logs a tRPC request', async () => {
    const res = await fetch(trpcUrl(app.url, 'v1.products.list', { limit: 5 }));
    expect(res.status).toBe(200);
    const requestId = res.headers.get('x-request-id');
    expectAccessLine(await accessLine(app.logs, requestId), {
      method: 'GET',
      path: '/trpc/v1.products.list',
      status: 200,
      requestId,
    });
  });

  it('logs a REST request, without its query string', async () => {
    const res = await fetch(`${app.url}/api/v1/products?limit=5&q=mug`);
    expect(res.status).toBe(200);
    const requestId = res.headers.get('x-request-id');
    expectAccessLine(await accessLine(app.logs, requestId), {
      method: 'GET',
      path: '/api/v1/products',
      status: 200,
      requestId,
    });
  });

  it('logs a request for an unknown route', async () => {
    const res = await fetch(`${app.url}/no/such/route`);
    expect(res.status).toBe(404);
    const requestId = res.headers.get('x-request-id');
    expectAccessLine(await accessLine(app.logs, requestId), {
      method: 'GET',
      path: '/no/such/route',
      status: 404,
      requestId,
    });
  });

  it('logs a request refused with 413 on both protocols', async () => {
    const body = JSON.stringify({ q: 'x'.repeat(2 * 1024 * 1024) });
    for (const path of ['/api/v1/products', '/trpc/v1.products.list']) {
      const res = await fetch(`${app.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
      expect(res.status).toBe(413);
      const requestId = res.headers.get('x-request-id');
      expectAccessLine(await accessLine(app.logs, requestId), { method: 'POST', path, status: 413, requestId });
    }
  });

  it('writes exactly one access line per request', async () => {
    const res = await fetch(`${app.url}/healthz`);
    const requestId = res.headers.get('x-request-id');
    await accessLine(app.logs, requestId);
    await app.logger.flush();
    expect(app.logs.events('http_request', { request_id: requestId })).toHaveLength(1);
  });
});

describe('procedure_call: one line per procedure call', () => {
  it('logs a REST call with procedure, type, ok, code and duration', async () => {
    const res = await fetch(`${app.url}/api/v1/products/${mugId}`);
    expect(res.status).toBe(200);
    const requestId = res.headers.get('x-request-id');
    const [call] = await waitForLines(app.logs, { event: 'procedure_call', filter: { request_id: requestId } });
    expect(call).toMatchObject({
      level: 'INFO',
      procedure: 'v1.products.get',
      type: 'query',
      ok: true,
      code: null,
      path: `/api/v1/products/${mugId}`,
    });
    expect(call?.duration_ms).toEqual(expect.any(Number));
  });

  it('logs each member of a tRPC batch, failed ones with their code, all under the batch request id', async () => {
    const res = await fetch(
      trpcBatchUrl(app.url, [
        ['v1.products.list', { limit: 1 }],
        ['v1.products.get', { productId: mugId }],
        ['v1.products.get', { productId: 'prd_DOESNOTEXIST' }],
      ]),
    );
    expect(res.status).toBe(207);
    const requestId = res.headers.get('x-request-id');
    const calls = await waitForLines(app.logs, {
      event: 'procedure_call',
      filter: { request_id: requestId },
      count: 3,
    });
    expect(calls).toHaveLength(3);
    const byOutcome = calls
      .map((call) => ({ procedure: call.procedure, type: call.type, ok: call.ok, code: call.code, level: call.level }))
      .sort((a, b) => `${String(a.procedure)}${String(a.ok)}`.localeCompare(`${String(b.procedure)}${String(b.ok)}`));
    expect(byOutcome).toEqual([
      { procedure: 'v1.products.get', type: 'query', ok: false, code: 'PRODUCT_NOT_FOUND', level: 'WARN' },
      { procedure: 'v1.products.get', type: 'query', ok: true, code: null, level: 'INFO' },
      { procedure: 'v1.products.list', type: 'query', ok: true, code: null, level: 'INFO' },
    ]);
    for (const call of calls) {
      expect(call.duration_ms).toEqual(expect.any(Number));
      expect(call.path).toBe('/trpc/v1.products.list,v1.products.get,v1.products.get');
    }
  });
});

describe('the log example of the Backend Standard, from a real request', () => {
  it('GET /api/v1/products/prd_DOESNOTEXIST writes the failed call with reason and context, and its SQL, under one request id', async () => {
    const res = await fetch(`${app.url}/api/v1/products/prd_DOESNOTEXIST`);
    expect(res.status).toBe(404);
    const requestId = res.headers.get('x-request-id');
    expect(requestId).toBeTruthy();
    expect(((await res.json()) as ErrorEnvelope).request_id).toBe(requestId);

    const [failure] = await waitForLines(app.logs, {
      event: 'procedure_call',
      filter: { request_id: requestId, ok: false },
    });
    // The shape of the Standard's example: level, timestamp, path, user_id, event, reason, context.
    expect(failure).toMatchObject({
      level: 'WARN',
      path: '/api/v1/products/prd_DOESNOTEXIST',
      user_id: null,
      event: 'procedure_call',
      reason: 'No product with id prd_DOESNOTEXIST',
      context: { product_id: 'prd_DOESNOTEXIST' },
      request_id: requestId,
      procedure: 'v1.products.get',
      code: 'PRODUCT_NOT_FOUND',
    });
    expect(failure?.timestamp).toMatch(ISO_UTC);

    const queries = app.logs.events('db_query', { request_id: requestId });
    expect(queries.length).toBeGreaterThanOrEqual(1);
    expect(queries[0]).toMatchObject({
      path: '/api/v1/products/prd_DOESNOTEXIST',
      procedure: 'v1.products.get',
      params: expect.arrayContaining(['prd_DOESNOTEXIST']) as unknown,
    });
    expect(queries[0]?.sql).toMatch(/from "products"/);
  });
});

describe('unhandled_exception: a failure that is not an AppError', () => {
  const PRODUCTION_SECRET = 'production-secret-of-at-least-32-bytes-0123456789';
  const { app: broken } = useTestApp({ env: { NODE_ENV: 'production', JWT_SECRET: PRODUCTION_SECRET } });

  beforeAll(async () => {
    // A real failure from deep inside a procedure: its table is gone.
    await sql`drop table products cascade`.execute(broken.database.db);
  });

  /** No stack frame, no SQL, no database wording reaches a client in production. */
  function expectNothingInternal(text: string) {
    for (const leak of ['relation', 'does not exist', 'select', 'stack', '    at ', 'node_modules']) {
      expect(text.toLowerCase()).not.toContain(leak);
    }
  }

  function expectUnhandledLine(
    line: LogLine | undefined,
    { requestId, input }: { requestId: string | null; input: unknown },
  ) {
    expect(line).toMatchObject({
      level: 'ERROR',
      procedure: 'v1.products.list',
      type: 'query',
      request_id: requestId,
      input,
    });
    const error = line?.error as { name: string; message: string; stack: string };
    expect(error.message).toMatch(/relation "products" does not exist/);
    expect(error.name).toEqual(expect.any(String));
    expect(error.stack).toContain(error.message);
    expect(error.stack).toMatch(/\n\s+at /);
  }

  it('answers 500 INTERNAL over REST with a generic message, and logs the stack and the input', async () => {
    const res = await fetch(`${broken.url}/api/v1/products?limit=5&q=mug`);
    expect(res.status).toBe(500);
    const requestId = res.headers.get('x-request-id');
    const text = await res.text();
    expect(JSON.parse(text)).toEqual({ code: 'INTERNAL', message: 'Internal server error', request_id: requestId });
    expectNothingInternal(text);

    const [line] = await waitForLines(broken.logs, { event: 'unhandled_exception', filter: { request_id: requestId } });
    // REST hands the query string over as text; the procedure's schema has not coerced it yet.
    expectUnhandledLine(line, { requestId, input: expect.objectContaining({ q: 'mug' }) });
    const [call] = broken.logs.events('procedure_call', { request_id: requestId });
    expect(call).toMatchObject({ level: 'ERROR', ok: false, code: 'INTERNAL', status: 500 });
    expect((await accessLine(broken.logs, requestId)).status).toBe(500);
  });

  it('answers 500 INTERNAL over tRPC with a generic message, and logs the stack and the input', async () => {
    const res = await fetch(trpcUrl(broken.url, 'v1.products.list', { limit: 5, q: 'mug' }));
    expect(res.status).toBe(500);
    const requestId = res.headers.get('x-request-id');
    const text = await res.text();
    const body = JSON.parse(text) as TrpcErrorBody;
    expect(body.error.message).toBe('Internal server error');
    expect(body.error.data).toEqual({
      code: 'INTERNAL',
      message: 'Internal server error',
      request_id: requestId,
      httpStatus: 500,
      path: 'v1.products.list',
    });
    expectNothingInternal(text);

    const [line] = await waitForLines(broken.logs, { event: 'unhandled_exception', filter: { request_id: requestId } });
    expectUnhandledLine(line, { requestId, input: { limit: 5, q: 'mug' } });
  });
});

describe('internal error text in development', () => {
  /** A development app with a table gone, so that listing products fails deep inside. */
  async function brokenDevelopmentApp(host: string): Promise<TestApp> {
    const broken = await startTestApp({ NODE_ENV: 'development', HOST: host });
    await sql`drop table products cascade`.execute(broken.database.db);
    return broken;
  }

  it('is shown to a caller of a service on a loopback HOST, which only this machine reaches', async () => {
    const broken = await brokenDevelopmentApp('127.0.0.1');
    try {
      const res = await fetch(`${broken.url}/api/v1/products`);
      expect(res.status).toBe(500);
      expect(((await res.json()) as ErrorEnvelope).message).toMatch(/^Internal error: .*relation "products"/);
    } finally {
      await broken.close();
    }
  });

  it('is never shown by a service on a non-loopback HOST, whatever NODE_ENV says', async () => {
    const broken = await brokenDevelopmentApp('0.0.0.0');
    try {
      const res = await fetch(`${broken.url}/api/v1/products`);
      expect(res.status).toBe(500);
      expect(((await res.json()) as ErrorEnvelope).message).toBe('Internal server error');
    } finally {
      await broken.close();
    }
  });
});
