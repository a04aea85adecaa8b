import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { committedContract, recordRestResponses, type RecordedResponse } from './contract.ts';

const REQUEST_ID = 'req-1';
const JSON_TYPE = 'application/json; charset=utf-8';

function response(
  fields: Partial<RecordedResponse> & Pick<RecordedResponse, 'method' | 'path' | 'status'>,
): RecordedResponse {
  return {
    preflight: false,
    contentType: JSON_TYPE,
    headerNames: ['x-request-id', 'content-type'],
    body: '',
    ...fields,
  };
}

const error = (code: string) => JSON.stringify({ code, message: 'refused', request_id: REQUEST_ID });
const emptyPage = JSON.stringify({ items: [], total: 0, limit: 20, offset: 0 });

describe('the OpenAPI contract check', () => {
  const contract = committedContract();

  it('accepts what the document promises', () => {
    expect(contract.check(response({ method: 'GET', path: '/api/v1/products', status: 200, body: emptyPage }))).toEqual(
      [],
    );
    expect(
      contract.check(response({ method: 'GET', path: '/api/v2/products/', status: 200, body: emptyPage })),
    ).toEqual([]);
    expect(
      contract.check(
        response({
          method: 'POST',
          path: '/api/v1/orders/create',
          status: 402,
          body: JSON.stringify({ ...(JSON.parse(error('PAYMENT_DECLINED')) as object), order_id: 'ord_1' }),
        }),
      ),
    ).toEqual([]);
    // A decline names the order it kept: the document requires `order_id` on a 402.
    expect(
      contract.check(
        response({ method: 'POST', path: '/api/v1/orders/create', status: 402, body: error('PAYMENT_DECLINED') }),
      ),
    ).toEqual([expect.stringContaining("must have required property 'order_id'")]);
    expect(
      contract.check(
        response({
          method: 'GET',
          path: '/api/v1/auth/me',
          status: 401,
          headerNames: ['x-request-id', 'www-authenticate'],
          body: JSON.stringify({
            code: 'UNAUTHORIZED',
            message: 'Authentication failed: Missing Header',
            request_id: REQUEST_ID,
            reason: 'Missing Header',
          }),
        }),
      ),
    ).toEqual([]);
  });

  it('checks a HEAD against its GET, without a body', () => {
    expect(contract.check(response({ method: 'HEAD', path: '/api/v1/products', status: 200 }))).toEqual([]);
    expect(contract.check(response({ method: 'HEAD', path: '/api/v1/products', status: 204 }))).toEqual([
      expect.stringContaining('HEAD /v1/products -> 204: status 204 is not documented'),
    ]);
  });

  it('refuses a body that breaks the schema of its status', () => {
    const [extra] = contract.check(
      response({
        method: 'GET',
        path: '/api/v1/products',
        status: 200,
        body: JSON.stringify({ items: [], total: 0, limit: 20, offset: 0, page: 1 }),
      }),
    );
    expect(extra).toMatch(/^GET \/v1\/products -> 200: .*must NOT have additional properties/);
    const [wrongCode] = contract.check(
      response({ method: 'POST', path: '/api/v1/orders/create', status: 409, body: error('PAYMENT_DECLINED') }),
    );
    expect(wrongCode).toMatch(/^POST \/v1\/orders\/create -> 409: .*must be equal to one of the allowed values/);
    const [notJson] = contract.check(
      response({ method: 'GET', path: '/api/v1/products', status: 200, body: '<html>' }),
    );
    expect(notJson).toContain('the body is not JSON');
  });

  it('refuses a status the operation does not document, a wrong content type, and a missing required header', () => {
    expect(
      contract.check(
        response({ method: 'GET', path: '/api/v1/products', status: 402, body: error('PAYMENT_DECLINED') }),
      ),
    ).toEqual([expect.stringContaining('GET /v1/products -> 402: status 402 is not documented')]);
    expect(
      contract.check(
        response({ method: 'GET', path: '/api/v1/products', status: 200, contentType: 'text/html', body: emptyPage }),
      ),
    ).toEqual([expect.stringContaining('Content-Type text/html is not one of application/json')]);
    expect(
      contract.check(response({ method: 'GET', path: '/api/v1/auth/me', status: 401, body: error('UNAUTHORIZED') })),
    ).toEqual(['GET /v1/auth/me -> 401: required header WWW-Authenticate is missing']);
    expect(
      contract.check(
        response({
          method: 'GET',
          path: '/api/v1/products',
          status: 200,
          headerNames: ['content-type'],
          body: emptyPage,
        }),
      ),
    ).toEqual(['GET /v1/products -> 200: required header X-Request-Id is missing']);
  });

  it('matches literal path segments before parameters, as the router does', () => {
    expect(
      contract.check(
        response({ method: 'POST', path: '/api/v1/orders/create', status: 422, body: error('CURRENCY_MISMATCH') }),
      ),
    ).toEqual([]);
    expect(
      contract.check(
        response({ method: 'GET', path: '/api/v1/orders/ord_1', status: 404, body: error('ORDER_NOT_FOUND') }),
      ),
    ).toEqual([]);
    expect(
      contract.check(
        response({ method: 'GET', path: '/api/v1/orders/ord_1', status: 422, body: error('CURRENCY_MISMATCH') }),
      ),
    ).toEqual([expect.stringContaining('GET /v1/orders/{orderId} -> 422: status 422 is not documented')]);
  });

  it('lets only a 404 or 405 in the Error envelope answer a route the document does not have, and a preflight only a bare 204', () => {
    expect(
      contract.check(response({ method: 'GET', path: '/api/v1/nowhere', status: 404, body: error('NOT_FOUND') })),
    ).toEqual([]);
    expect(
      contract.check(response({ method: 'DELETE', path: '/api/v1/products', status: 404, body: error('NOT_FOUND') })),
    ).toEqual([]);
    expect(contract.check(response({ method: 'GET', path: '/api/v1/nowhere', status: 200, body: '{}' }))).toEqual([
      expect.stringContaining('only 404 or 405 may answer'),
    ]);
    expect(
      contract.check(response({ method: 'GET', path: '/api/v1/nowhere', status: 404, body: '{"error":"nope"}' }))[0],
    ).toContain('(no operation) -> 404');
    expect(
      contract.check(response({ method: 'OPTIONS', path: '/api/v1/products', status: 204, preflight: true })),
    ).toEqual([]);
    expect(
      contract.check(
        response({ method: 'OPTIONS', path: '/api/v1/products', status: 200, preflight: true, body: '{}' }),
      ),
    ).toHaveLength(1);
  });

  it('records what a handler really sends and fails verify() on a violation', async () => {
    const recorder = recordRestResponses((req, res) => {
      res.setHeader('X-Request-Id', REQUEST_ID);
      res.setHeader('Content-Type', JSON_TYPE);
      if (req.url?.startsWith('/api/v1/products')) {
        res.write(Buffer.from('{"items":[],"total":0,'));
        res.end('"limit":20,"offset":0}', 'utf8');
      } else {
        res.statusCode = 418;
        res.end('{"teapot":true}');
      }
    });
    const server = createServer(recorder.handler);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      const ok = await fetch(`http://127.0.0.1:${port}/api/v1/products?limit=20`);
      expect(await ok.json()).toEqual({ items: [], total: 0, limit: 20, offset: 0 });
      await (await fetch(`http://127.0.0.1:${port}/healthz`)).text();
      expect(recorder.responses).toEqual([
        expect.objectContaining({
          method: 'GET',
          path: '/api/v1/products',
          status: 200,
          body: '{"items":[],"total":0,"limit":20,"offset":0}',
        }),
      ]);
      expect(() => recorder.verify()).not.toThrow();
      await (await fetch(`http://127.0.0.1:${port}/api/v1/auth/me`)).text();
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    expect(() => recorder.verify()).toThrow(
      /1 of 2 REST responses break openapi\.json[^\n]*:\n- GET \/v1\/auth\/me -> 418: status 418 is not documented/,
    );
  });
});
