import type { ErrorEnvelope } from '@orders/shared';
import { describe, expect, it } from 'vitest';
import { useTestApp } from '../test/fixture.ts';
import {
  accessLine,
  rawRequest,
  trpcBatchUrl,
  trpcUrl,
  waitForLines,
  type TrpcErrorBody,
} from '../test/http-client.ts';
import { createApp } from './app.ts';
import { startHttpServer } from './core/http/server.ts';

const SHOP = 'https://shop.example.com';
const PRODUCTION_SECRET = 'production-secret-of-at-least-32-bytes-0123456789';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const { app } = useTestApp({ env: { CORS_ORIGINS: SHOP } });

const get = (path: string, headers: Record<string, string> = {}) => fetch(`${app.url}${path}`, { headers });

/** A CSP as `{ directive: [sources] }`. */
function parseCsp(header: string | null): Record<string, string[]> {
  expect(header).toBeTruthy();
  return Object.fromEntries(
    (header ?? '')
      .split(';')
      .map((directive) => directive.trim().split(/\s+/))
      .filter((parts) => parts[0])
      .map(([name = '', ...sources]) => [name, sources]),
  );
}

/** Every `src` and `href` attribute of an HTML page. */
function linkedUrls(html: string): string[] {
  return [...html.matchAll(/\b(?:src|href)\s*=\s*["']([^"']+)["']/g)].map((match) => match[1] ?? '');
}

describe('routing', () => {
  it('answers /healthz 200', async () => {
    const res = await get('/healthz');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
  });

  it('answers /readyz 200 on a migrated database', async () => {
    const res = await get('/readyz');
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      status: 'ready',
      ready: true,
      checks: { database: 'ok', migrations: 'ok' },
    });
  });

  it('serves the same procedure over tRPC at /trpc and REST at /api', async () => {
    const rest = await get('/api/v1/products?limit=3');
    const rpc = await fetch(trpcUrl(app.url, 'v1.products.list', { limit: 3 }));
    expect(rest.status).toBe(200);
    expect(rpc.status).toBe(200);
    const restPage = await rest.json();
    expect(((await rpc.json()) as { result: { data: unknown } }).result.data).toEqual(restPage);
  });

  it('answers 404 ROUTE_NOT_FOUND for an unknown route, in the error envelope', async () => {
    const res = await get('/no/such/route');
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await res.json()).toEqual({
      code: 'ROUTE_NOT_FOUND',
      message: 'No route for GET /no/such/route',
      request_id: res.headers.get('x-request-id'),
    });
  });

  it('answers 404 for a method a route does not serve', async () => {
    const res = await fetch(`${app.url}/healthz`, { method: 'DELETE' });
    expect(res.status).toBe(404);
    expect(((await res.json()) as ErrorEnvelope).code).toBe('ROUTE_NOT_FOUND');
  });

  it('answers 404 for an unknown REST path and an unknown tRPC procedure', async () => {
    const rest = await get('/api/v1/no-such-thing');
    expect(rest.status).toBe(404);
    expect(((await rest.json()) as ErrorEnvelope).code).toBe('NOT_FOUND');
    const rpc = await fetch(trpcUrl(app.url, 'v1.noSuchThing.list'));
    expect(rpc.status).toBe(404);
    expect(((await rpc.json()) as TrpcErrorBody).error.data.code).toBe('NOT_FOUND');
  });

  it('does not mistake a path that merely starts like a route for it', async () => {
    for (const path of ['/trpcx', '/apis/v1/products', '/docsx', '/panelx', '/healthz/x']) {
      const res = await get(path);
      expect(res.status, path).toBe(404);
      expect(((await res.json()) as ErrorEnvelope).code, path).toBe('ROUTE_NOT_FOUND');
    }
  });
});

describe('/openapi.json', () => {
  it('is an OpenAPI 3.1 document with a relative server and the product paths', async () => {
    const res = await get('/openapi.json');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const document = JSON.parse(await res.text()) as {
      openapi: string;
      servers: { url: string }[];
      paths: Record<string, unknown>;
    };
    expect(document.openapi).toMatch(/^3\.1\.\d+$/);
    expect(document.servers).toEqual([{ url: '/api' }]);
    expect(Object.keys(document.paths)).toEqual(
      expect.arrayContaining(['/v1/products', '/v1/products/{productId}', '/v2/products']),
    );
  });
});

describe('/docs (Swagger UI, served locally)', () => {
  it('serves Swagger UI whose every script and stylesheet is a local file', async () => {
    const res = await get('/docs');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await res.text();
    expect(html).toContain('id="swagger-ui"');
    expect(html).not.toMatch(/https?:\/\//);
    const urls = linkedUrls(html);
    expect(urls).toEqual(expect.arrayContaining(['/docs/swagger-ui-bundle.js', '/docs/swagger-initializer.js']));
    for (const url of urls) expect(url).toMatch(/^\/docs\/[\w.-]+$/);
  });

  it('answers 200 for every file the page loads', async () => {
    const urls = linkedUrls(await (await get('/docs')).text());
    const expectedType = { '.js': /^text\/javascript/, '.css': /^text\/css/, '.png': /^image\/png/ } as const;
    for (const url of urls) {
      const res = await get(url);
      expect(res.status, url).toBe(200);
      const extension = url.slice(url.lastIndexOf('.')) as keyof typeof expectedType;
      expect(res.headers.get('content-type'), url).toMatch(expectedType[extension]);
      expect((await res.arrayBuffer()).byteLength, url).toBeGreaterThan(0);
    }
  });

  it('points the initializer at our own document, with no other host', async () => {
    const script = await (await get('/docs/swagger-initializer.js')).text();
    expect(script).toContain('url: "/openapi.json"');
    expect(script).not.toMatch(/https?:\/\//);
  });

  it('serves the page at /docs/ and /docs/index.html too', async () => {
    for (const path of ['/docs/', '/docs/index.html']) {
      const res = await get(path);
      expect(res.status, path).toBe(200);
      expect(await res.text(), path).toContain('id="swagger-ui"');
    }
  });

  it('serves nothing else from the swagger-ui-dist package', async () => {
    for (const path of ['/docs/package.json', '/docs/README.md', '/docs/swagger-ui.js.map', '/docs/index.js']) {
      expect((await get(path)).status, path).toBe(404);
    }
  });
});

describe('/panel (tRPC panel, Monaco served locally)', () => {
  it('serves the panel with Monaco loaded from /panel/monaco/vs, not from a CDN', async () => {
    const res = await get('/panel');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await res.text();
    expect(html).not.toContain('cdn.jsdelivr.net');
    expect(html).toContain('location.origin+"/panel/monaco/vs"');
    for (const url of linkedUrls(html)) expect(url).not.toMatch(/^(https?:)?\/\//);
  });

  it('serves Monaco: its loader, the editor and the JSON worker', async () => {
    for (const file of [
      'loader.js',
      'editor/editor.main.js',
      'editor/editor.main.css',
      'base/worker/workerMain.js',
      'language/json/jsonWorker.js',
    ]) {
      const res = await get(`/panel/monaco/vs/${file}`);
      expect(res.status, file).toBe(200);
      expect(res.headers.get('content-type'), file).toMatch(file.endsWith('.css') ? /^text\/css/ : /^text\/javascript/);
    }
  });

  it('answers 404 to paths that climb out of the served folders', async () => {
    // Sent byte for byte over node:http: fetch would fold the `..` before sending.
    const control = await rawRequest(app.url, { path: '/panel/monaco/vs/loader.js' });
    expect(control.status).toBe(200);
    for (const path of [
      '/panel/monaco/vs/../../package.json',
      '/panel/monaco/vs/../../../../package.json',
      '/panel/monaco/vs/%2e%2e/%2e%2e/package.json',
      '/panel/monaco/vs/..%2f..%2fpackage.json',
      '/panel/monaco/vs/..\\..\\package.json',
      '/panel/monaco/vs/.hidden.js',
      '/docs/../package.json',
      '/docs/../../../../etc/passwd',
      '/docs/%2e%2e/package.json',
      '/docs/..%2fpackage.json',
    ]) {
      const res = await rawRequest(app.url, { path });
      expect(res.status, path).toBe(404);
      expect(res.body, path).not.toContain('"dependencies"');
    }
  });
});

describe('/panel in production', () => {
  const { app: off } = useTestApp({ env: { NODE_ENV: 'production', JWT_SECRET: PRODUCTION_SECRET } });
  const { app: on } = useTestApp({
    env: { NODE_ENV: 'production', JWT_SECRET: PRODUCTION_SECRET, PANEL_ENABLED: 'true' },
  });

  it('is off unless PANEL_ENABLED is set', async () => {
    expect(off.config.panelEnabled).toBe(false);
    for (const path of ['/panel', '/panel/monaco/vs/loader.js']) {
      const res = await fetch(`${off.url}${path}`);
      expect(res.status, path).toBe(404);
      expect(((await res.json()) as ErrorEnvelope).code).toBe('ROUTE_NOT_FOUND');
    }
  });

  it('answers with PANEL_ENABLED=true', async () => {
    const page = await fetch(`${on.url}/panel`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('/panel/monaco/vs');
    expect((await fetch(`${on.url}/panel/monaco/vs/loader.js`)).status).toBe(200);
  });
});

describe('security headers', () => {
  const requests: [label: string, send: () => Promise<Response>][] = [
    ['health', () => get('/healthz')],
    ['REST 200', () => get('/api/v1/products')],
    ['tRPC 200', () => fetch(trpcUrl(app.url, 'v1.products.list'))],
    ['REST 400', () => get('/api/v1/products?limit=101')],
    ['tRPC 400', () => fetch(trpcUrl(app.url, 'v1.products.list', { limit: 101 }))],
    ['REST 404', () => get('/api/v1/products/prd_DOESNOTEXIST')],
    ['route 404', () => get('/no/such/route')],
    [
      'REST 413',
      () =>
        fetch(`${app.url}/api/v1/products`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: 'x'.repeat(2 * 1024 * 1024),
        }),
    ],
    [
      'REST 415',
      () =>
        fetch(`${app.url}/api/v1/products`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x' }),
    ],
    [
      'tRPC 405',
      () =>
        fetch(`${app.url}/trpc/v1.products.list`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{}',
        }),
    ],
    [
      'preflight',
      () =>
        fetch(`${app.url}/api/v1/products`, {
          method: 'OPTIONS',
          headers: { origin: SHOP, 'access-control-request-method': 'GET' },
        }),
    ],
    ['openapi', () => get('/openapi.json')],
    ['docs', () => get('/docs')],
    ['docs asset', () => get('/docs/swagger-ui.css')],
    ['panel', () => get('/panel')],
    ['panel asset', () => get('/panel/monaco/vs/loader.js')],
  ];

  it.each(requests)('are on every response: %s', async (_label, send) => {
    const res = await send();
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    expect(parseCsp(res.headers.get('content-security-policy'))['frame-ancestors']).toEqual(["'none'"]);
    expect(res.headers.get('x-request-id')).toBeTruthy();
    await res.arrayBuffer();
  });

  it('lets API answers load nothing at all', async () => {
    for (const path of ['/api/v1/products', '/no/such/route', '/openapi.json']) {
      expect(parseCsp((await get(path)).headers.get('content-security-policy'))['default-src'], path).toEqual([
        "'none'",
      ]);
    }
  });

  it("gives /docs a CSP whose scripts come from 'self' only", async () => {
    for (const path of ['/docs', '/docs/swagger-initializer.js']) {
      const csp = parseCsp((await get(path)).headers.get('content-security-policy'));
      expect(csp['script-src'], path).toEqual(["'self'"]);
      expect(csp['default-src'], path).toEqual(["'self'"]);
      expect(csp['connect-src'], path).toEqual(["'self'"]);
    }
  });

  it("gives /panel a CSP whose scripts come from 'self' (inline allowed), no other host", async () => {
    const csp = parseCsp((await get('/panel')).headers.get('content-security-policy'));
    expect(csp['script-src']).toContain("'self'");
    for (const source of csp['script-src'] ?? [])
      expect(["'self'", "'unsafe-inline'", "'unsafe-eval'"]).toContain(source);
    expect(csp['connect-src']).toEqual(["'self'"]);
    // No directive names a host, a scheme-wide source (https:) or a wildcard.
    for (const [directive, sources] of Object.entries(csp)) {
      for (const source of sources) expect(source, directive).toMatch(/^('[a-z-]+'|data:|blob:)$/);
    }
  });
});

describe('X-Request-Id', () => {
  it('keeps a sane incoming id: in the header, the error body and every log line of the request', async () => {
    const requestId = 'edge-01.req:42@lb_7';
    const res = await get('/api/v1/products/prd_DOESNOTEXIST', { 'x-request-id': requestId });
    expect(res.headers.get('x-request-id')).toBe(requestId);
    expect(((await res.json()) as ErrorEnvelope).request_id).toBe(requestId);
    await accessLine(app.logs, requestId);
    const events = app.logs.forRequest(requestId).map((line) => line.event);
    expect(events).toEqual(expect.arrayContaining(['db_query', 'procedure_call', 'http_request']));
  });

  it.each([
    ['spaces', 'has some spaces'],
    ['500 characters', 'a'.repeat(500)],
    ['quotes', 'quote"d\'id'],
    ['a log-line forgery', 'x","level":"FATAL'],
    ['empty', ''],
  ])('replaces an insane incoming id (%s) with a generated one', async (_label, incoming) => {
    const res = await get('/no/such/route', { 'x-request-id': incoming });
    const requestId = res.headers.get('x-request-id');
    expect(requestId).toMatch(UUID);
    expect(((await res.json()) as ErrorEnvelope).request_id).toBe(requestId);
    expect((await accessLine(app.logs, requestId)).request_id).toBe(requestId);
    if (incoming !== '') {
      expect(app.logs.forRequest(incoming)).toHaveLength(0);
      expect(app.logs.text).not.toContain(incoming);
    }
  });

  it('gives each request its own id', async () => {
    const ids = await Promise.all([1, 2, 3].map(async () => (await get('/healthz')).headers.get('x-request-id')));
    expect(new Set(ids).size).toBe(3);
  });

  it('puts the header id in every error body, on both protocols', async () => {
    const json = { 'content-type': 'application/json' };
    const errors: [label: string, send: () => Promise<Response>][] = [
      ['route 404', () => get('/no/such/route')],
      ['REST 404', () => get('/api/v1/products/prd_DOESNOTEXIST')],
      ['REST unknown path', () => get('/api/v1/no-such-thing')],
      ['REST 400', () => get('/api/v1/products?limit=101')],
      ['REST bad JSON', () => fetch(`${app.url}/api/v1/products`, { method: 'POST', headers: json, body: '{bad' })],
      [
        'REST 415',
        () =>
          fetch(`${app.url}/api/v1/products`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x' }),
      ],
      [
        'REST 413',
        () => fetch(`${app.url}/api/v1/products`, { method: 'POST', headers: json, body: 'x'.repeat(2 * 1024 * 1024) }),
      ],
      ['tRPC 404', () => fetch(trpcUrl(app.url, 'v1.products.get', { productId: 'prd_DOESNOTEXIST' }))],
      ['tRPC unknown procedure', () => fetch(trpcUrl(app.url, 'v1.noSuchThing'))],
      ['tRPC 400', () => fetch(trpcUrl(app.url, 'v1.products.list', { limit: 101 }))],
      ['tRPC bad JSON', () => fetch(`${app.url}/trpc/v1.products.list?input=%7Bbad`)],
      ['tRPC 405', () => fetch(`${app.url}/trpc/v1.products.list`, { method: 'POST', headers: json, body: '{}' })],
      [
        'tRPC 413',
        () =>
          fetch(`${app.url}/trpc/v1.products.list`, {
            method: 'POST',
            headers: json,
            body: 'x'.repeat(2 * 1024 * 1024),
          }),
      ],
      [
        'tRPC batch',
        () =>
          fetch(
            trpcBatchUrl(app.url, [
              ['v1.products.list', { limit: 0 }],
              ['v1.products.list', { limit: 101 }],
            ]),
          ),
      ],
      [
        'tRPC batch of 21',
        () =>
          fetch(
            trpcBatchUrl(
              app.url,
              Array.from({ length: 21 }, () => ['v1.products.list', {}] as const),
            ),
          ),
      ],
    ];
    for (const [label, send] of errors) {
      const res = await send();
      expect(res.status, label).toBeGreaterThanOrEqual(400);
      const requestId = res.headers.get('x-request-id');
      expect(requestId, label).toMatch(UUID);
      const body = JSON.parse(await res.text()) as ErrorEnvelope | TrpcErrorBody | TrpcErrorBody[];
      const envelopes = Array.isArray(body)
        ? body.map((call) => call.error.data)
        : 'error' in body
          ? [body.error.data]
          : [body];
      for (const envelope of envelopes) expect(envelope.request_id, label).toBe(requestId);
    }
  });
});

describe('CORS (CORS_ORIGINS=https://shop.example.com)', () => {
  it('echoes an allowed origin, on both protocols and on errors, and varies on Origin', async () => {
    for (const send of [
      () => get('/api/v1/products', { origin: SHOP }),
      () => fetch(trpcUrl(app.url, 'v1.products.list'), { headers: { origin: SHOP } }),
      () => get('/no/such/route', { origin: SHOP }),
      () => fetch(trpcUrl(app.url, 'v1.products.list', { limit: 101 }), { headers: { origin: SHOP } }),
    ]) {
      const res = await send();
      expect(res.headers.get('access-control-allow-origin')).toBe(SHOP);
      expect(res.headers.get('access-control-allow-credentials')).toBe('true');
      expect(res.headers.get('access-control-expose-headers')?.split(/,\s*/)).toEqual(
        expect.arrayContaining(['X-Request-Id', 'traceresponse']),
      );
      expect(res.headers.get('vary')?.split(/,\s*/)).toContain('Origin');
      await res.arrayBuffer();
    }
  });

  it('gives any other origin no CORS headers, and still varies on Origin', async () => {
    for (const origin of [
      'https://evil.example.com',
      'https://shop.example.com.evil.example',
      'http://shop.example.com',
      'null',
    ]) {
      for (const send of [
        () => get('/api/v1/products', { origin }),
        () => fetch(trpcUrl(app.url, 'v1.products.list'), { headers: { origin } }),
      ]) {
        const res = await send();
        expect(res.headers.get('access-control-allow-origin'), origin).toBeNull();
        expect(res.headers.get('access-control-allow-credentials'), origin).toBeNull();
        expect(res.headers.get('vary')?.split(/,\s*/), origin).toContain('Origin');
        await res.arrayBuffer();
      }
    }
  });

  it('answers a preflight from the allowed origin with 204 and the allowed methods and headers', async () => {
    for (const path of ['/trpc/v1.products.list', '/api/v1/products']) {
      const res = await fetch(`${app.url}${path}`, {
        method: 'OPTIONS',
        headers: {
          origin: SHOP,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'authorization, content-type',
        },
      });
      expect(res.status, path).toBe(204);
      expect(res.headers.get('access-control-allow-origin')).toBe(SHOP);
      const methods = res.headers.get('access-control-allow-methods')?.split(/,\s*/);
      expect(methods).toEqual(expect.arrayContaining(['GET', 'POST', 'PATCH']));
      const headers = res.headers.get('access-control-allow-headers')?.toLowerCase().split(/,\s*/);
      expect(headers).toEqual(
        expect.arrayContaining([
          'authorization',
          'content-type',
          'idempotency-key',
          'x-request-id',
          'traceparent',
          'tracestate',
        ]),
      );
      expect(Number(res.headers.get('access-control-max-age'))).toBeGreaterThan(0);
      expect(await res.text()).toBe('');
    }
  });

  it('allows nothing to a preflight from another origin, and runs no procedure', async () => {
    const res = await fetch(`${app.url}/trpc/v1.products.list`, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example.com', 'access-control-request-method': 'POST' },
    });
    expect(res.status).toBeLessThan(500);
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    expect(res.headers.get('access-control-allow-methods')).toBeNull();
    expect(res.headers.get('access-control-allow-headers')).toBeNull();
    const requestId = res.headers.get('x-request-id');
    await accessLine(app.logs, requestId);
    expect(app.logs.forRequest(requestId ?? '').map((line) => line.event)).toEqual(['http_request']);
  });
});

describe('a failure that escapes a route', () => {
  it('answers 500 INTERNAL and logs unhandled_exception in the request context', async () => {
    const broken = createApp({
      db: app.database.db,
      logger: app.logger,
      config: app.config,
      version: '0.0.0-test',
      checkReadiness: () => Promise.reject(new Error('readiness probe broke')),
    });
    const server = await startHttpServer(broken, {
      host: '127.0.0.1',
      port: 0,
      shutdownTimeoutMs: 2_000,
      logger: app.logger,
    });
    try {
      const res = await fetch(`${server.url}/readyz`);
      expect(res.status).toBe(500);
      const requestId = res.headers.get('x-request-id');
      expect(await res.json()).toEqual({ code: 'INTERNAL', message: 'Internal server error', request_id: requestId });
      const [line] = await waitForLines(app.logs, { event: 'unhandled_exception', filter: { request_id: requestId } });
      expect(line).toMatchObject({ level: 'ERROR', method: 'GET', path: '/readyz', where: 'http' });
      expect(line?.error).toMatchObject({ message: 'readiness probe broke' });
    } finally {
      await server.stop();
    }
  });
});
