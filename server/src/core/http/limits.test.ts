import type { ErrorEnvelope } from '@orders/shared';
import { beforeAll, describe, expect, it } from 'vitest';
import { useTestApp } from '../../../test/fixture.ts';
import { accessLine, rawRequest, trpcBatchUrl, trpcUrl, type TrpcErrorBody } from '../../../test/http-client.ts';
import { insertProducts } from '../../../test/seed-products.ts';

const { app } = useTestApp();
let mugId: string;

beforeAll(async () => {
  const ids = await insertProducts(app.database.db, [{ name: 'Blue mug', sku: 'MUG-BLUE' }]);
  mugId = ids[0] ?? '';
});

const MIB = 1024 * 1024;
/** Valid JSON of about 2 MiB: only its size is wrong. */
const twoMibJson = JSON.stringify({ q: 'x'.repeat(2 * MIB) });
const jsonHeaders = { 'content-type': 'application/json' };

const postJson = (path: string, body: string, headers: Record<string, string> = jsonHeaders) =>
  fetch(`${app.url}${path}`, { method: 'POST', headers, body });

async function restError(res: Response): Promise<ErrorEnvelope> {
  return (await res.json()) as ErrorEnvelope;
}

async function trpcError(res: Response): Promise<TrpcErrorBody['error']['data']> {
  return ((await res.json()) as TrpcErrorBody).error.data;
}

async function trpcBatchErrors(res: Response): Promise<TrpcErrorBody['error']['data'][]> {
  return ((await res.json()) as TrpcErrorBody[]).map((call) => call.error.data);
}

/** Every line any request wrote, by its id: to show that a refused request ran nothing. */
function eventsOf(requestId: string | null): string[] {
  return app.logs.forRequest(requestId ?? '').map((line) => line.event);
}

describe('body size (MAX_BODY_BYTES, 1 MiB by default)', () => {
  it('answers 413 PAYLOAD_TOO_LARGE to a 2 MiB REST body, before routing or authentication', async () => {
    // Creating a product needs an admin token and none is sent: the body is refused first.
    const res = await postJson('/api/v1/products', twoMibJson);
    expect(res.status).toBe(413);
    expect(res.headers.get('connection')).toBe('close');
    const requestId = res.headers.get('x-request-id');
    expect(await restError(res)).toEqual({
      code: 'PAYLOAD_TOO_LARGE',
      message: `Request body is larger than the limit of ${MIB} bytes`,
      request_id: requestId,
    });
    expect((await accessLine(app.logs, requestId)).status).toBe(413);
  });

  it('counts a chunked REST body without Content-Length while reading it', async () => {
    const res = await rawRequest(app.url, {
      method: 'POST',
      path: '/api/v1/products',
      headers: jsonHeaders,
      body: twoMibJson,
      chunked: true,
    });
    expect(res.status).toBe(413);
    expect((JSON.parse(res.body) as ErrorEnvelope).code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('reads a REST body of exactly the limit', async () => {
    const atLimit = JSON.stringify({ q: '' }).length;
    const body = JSON.stringify({ q: 'x'.repeat(MIB - atLimit) });
    expect(Buffer.byteLength(body)).toBe(MIB);
    const res = await postJson('/api/v1/products', body);
    expect(res.status).not.toBe(413);
    expect((await restError(res)).code).not.toBe('MALFORMED_JSON');
  });

  it('answers 413 PAYLOAD_TOO_LARGE to a 2 MiB tRPC body, in the tRPC error shape, running nothing', async () => {
    const res = await postJson('/trpc/v1.products.list', twoMibJson);
    expect(res.status).toBe(413);
    expect(res.headers.get('connection')).toBe('close');
    const requestId = res.headers.get('x-request-id');
    expect(await trpcError(res)).toMatchObject({
      code: 'PAYLOAD_TOO_LARGE',
      message: `Request body is larger than the limit of ${MIB} bytes`,
      request_id: requestId,
      httpStatus: 413,
    });
    await accessLine(app.logs, requestId);
    expect(eventsOf(requestId)).toEqual(['http_request']);
  });

  it('answers 413 on every call of a 2 MiB tRPC batch', async () => {
    const res = await postJson('/trpc/v1.products.list,v1.products.get?batch=1', twoMibJson);
    expect(res.status).toBe(413);
    const requestId = res.headers.get('x-request-id');
    const calls = await trpcBatchErrors(res);
    expect(calls).toHaveLength(2);
    for (const call of calls) expect(call).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', request_id: requestId });
    await accessLine(app.logs, requestId);
    expect(eventsOf(requestId)).toEqual(['http_request']);
  });

  it('leaves a small POST to a tRPC query to tRPC: 405 METHOD_NOT_ALLOWED', async () => {
    const res = await postJson('/trpc/v1.products.list', '{}');
    expect(res.status).toBe(405);
    expect((await trpcError(res)).code).toBe('METHOD_NOT_ALLOWED');
  });

  it('answers 413 to a 2 MiB body sent to a tRPC mutation, declared or chunked', async () => {
    const body = JSON.stringify({ email: 'big@example.com', password: 'x'.repeat(2 * MIB), name: 'Big' });
    for (const chunked of [false, true]) {
      const res = await rawRequest(app.url, {
        method: 'POST',
        path: '/trpc/v1.auth.register',
        headers: jsonHeaders,
        body,
        chunked,
      });
      expect(res.status, `chunked: ${chunked}`).toBe(413);
      const data = (JSON.parse(res.body) as TrpcErrorBody).error.data;
      expect(data).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', request_id: res.headers['x-request-id'] });
    }
    const created = await app.database.db
      .selectFrom('users')
      .select('id')
      .where('email', '=', 'big@example.com')
      .execute();
    expect(created).toEqual([]);
  });
});

describe('batch size (MAX_BATCH_SIZE, 20 by default)', () => {
  const calls = (count: number) =>
    Array.from({ length: count }, (_, index) =>
      index % 2 === 0
        ? (['v1.products.list', { limit: 1 }] as const)
        : (['v1.products.get', { productId: mugId }] as const),
    );

  it('answers 400 to a batch of 21 calls and runs none of them: no procedure_call, no SQL', async () => {
    const res = await fetch(trpcBatchUrl(app.url, calls(21)));
    expect(res.status).toBe(400);
    const requestId = res.headers.get('x-request-id');
    const body = (await res.json()) as TrpcErrorBody;
    expect(body.error.data).toMatchObject({ code: 'BAD_REQUEST', request_id: requestId, httpStatus: 400 });
    expect(body.error.message).toMatch(/batch/i);
    await accessLine(app.logs, requestId);
    expect(eventsOf(requestId)).toEqual(['http_request']);
    expect(app.logs.events('db_query', { request_id: requestId })).toHaveLength(0);
  });

  it('runs a batch of exactly 20 calls', async () => {
    const res = await fetch(trpcBatchUrl(app.url, calls(20)));
    expect(res.status).toBe(200);
    const results = (await res.json()) as unknown[];
    expect(results).toHaveLength(20);
    const requestId = res.headers.get('x-request-id');
    await accessLine(app.logs, requestId);
    expect(app.logs.events('procedure_call', { request_id: requestId, ok: true })).toHaveLength(20);
  });
});

describe('malformed JSON', () => {
  it('answers 400 MALFORMED_JSON to a REST body that does not parse', async () => {
    const res = await postJson('/api/v1/products', '{bad');
    expect(res.status).toBe(400);
    const body = await restError(res);
    expect(body.code).toBe('MALFORMED_JSON');
    expect(body.message).toMatch(/^Request body is not valid JSON/);
    expect(body.request_id).toBe(res.headers.get('x-request-id'));
  });

  it('answers 400 MALFORMED_JSON to a tRPC `input` that does not parse', async () => {
    const res = await fetch(`${app.url}/trpc/v1.products.list?input=${encodeURIComponent('{bad')}`);
    expect(res.status).toBe(400);
    const requestId = res.headers.get('x-request-id');
    expect(await trpcError(res)).toMatchObject({ code: 'MALFORMED_JSON', request_id: requestId, httpStatus: 400 });
    const [call] = app.logs.events('procedure_call', { request_id: requestId });
    expect(call).toMatchObject({ level: 'WARN', ok: false, code: 'MALFORMED_JSON' });
  });

  it('answers 400 MALFORMED_JSON to a tRPC mutation body that does not parse', async () => {
    const res = await postJson('/trpc/v1.auth.register', '{bad');
    expect(res.status).toBe(400);
    expect(await trpcError(res)).toMatchObject({ code: 'MALFORMED_JSON', request_id: res.headers.get('x-request-id') });
  });

  it('answers 400 MALFORMED_JSON to every call of a batch whose `input` does not parse', async () => {
    const res = await fetch(
      `${app.url}/trpc/v1.products.list,v1.products.get?batch=1&input=${encodeURIComponent('{"0":')}`,
    );
    expect(res.status).toBe(400);
    const calls = await trpcBatchErrors(res);
    expect(calls.map((call) => call.code)).toEqual(['MALFORMED_JSON', 'MALFORMED_JSON']);
  });
});

describe('page limit (at most 100)', () => {
  it('answers 400 VALIDATION_FAILED naming `limit` over REST', async () => {
    const res = await fetch(`${app.url}/api/v1/products?limit=101`);
    expect(res.status).toBe(400);
    const body = await restError(res);
    expect(body.code).toBe('VALIDATION_FAILED');
    expect(body.request_id).toBe(res.headers.get('x-request-id'));
    expect(body.issues).toEqual([expect.objectContaining({ path: 'limit', code: 'too_big' })]);
  });

  it('answers 400 VALIDATION_FAILED naming `limit` over tRPC', async () => {
    const res = await fetch(trpcUrl(app.url, 'v1.products.list', { limit: 101 }));
    expect(res.status).toBe(400);
    const data = await trpcError(res);
    expect(data.code).toBe('VALIDATION_FAILED');
    expect(data.issues).toEqual([expect.objectContaining({ path: 'limit', code: 'too_big' })]);
  });

  it('accepts limit=100 on both protocols', async () => {
    expect((await fetch(`${app.url}/api/v1/products?limit=100`)).status).toBe(200);
    expect((await fetch(trpcUrl(app.url, 'v1.products.list', { limit: 100 }))).status).toBe(200);
  });
});

describe('content type', () => {
  it('answers 415 UNSUPPORTED_MEDIA_TYPE to a REST body that is not JSON', async () => {
    const res = await postJson('/api/v1/products', '{}', { 'content-type': 'text/plain' });
    expect(res.status).toBe(415);
    const body = await restError(res);
    expect(body.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    expect(body.message).toContain('text/plain');
    expect(body.request_id).toBe(res.headers.get('x-request-id'));
  });

  it('accepts JSON with a charset', async () => {
    const res = await postJson('/api/v1/products', '{}', { 'content-type': 'application/json; charset=utf-8' });
    const body = await restError(res);
    expect(['UNSUPPORTED_MEDIA_TYPE', 'MALFORMED_JSON', 'PAYLOAD_TOO_LARGE']).not.toContain(body.code);
  });
});
