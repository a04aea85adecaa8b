import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ListProductsInputSchema } from '@orders/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { trpcUrl, type TrpcErrorBody } from '../../../test/http-client.ts';
import { startTestApp, type TestApp } from '../../../test/test-app.ts';
import type { RequestDeps } from '../../api/context.ts';
import { t } from '../../api/init.ts';
import { createOfficialRestHandler } from './official-handler.ts';
import type { AppRouter } from '../../api/router.ts';
import { createNativeRestHandler } from './native-handler.ts';

/** Every kind of field a query string can be coerced into, and some it must not be. */
function queryInputSchema() {
  const oneNumber = z.number();
  return z.strictObject({
    id: z.string(),
    count: z.int(),
    n: z.number().optional(),
    i: z.int().min(1).default(3),
    b: z.boolean().optional(),
    d: z.date().optional(),
    big: z.bigint().optional(),
    nums: z.array(z.number()).optional(),
    grid: z.array(z.array(z.number())).optional(),
    tags: z.array(z.string()).optional(),
    e: z.enum(['a', 'b']).optional(),
    s: z.string().optional(),
    piped: z
      .string()
      .transform((value) => value.length)
      .optional(),
    nn: z.number().nullable().optional(),
    // A getter that builds a new schema each call: trpc-to-openapi coerces a copy zod never uses.
    lazy: z.lazy(() => z.number()).optional(),
    lazyOne: z.lazy(() => oneNumber).optional(),
    own: z.coerce.number().optional(),
  });
}

/** A value with its runtime type, so `5` and `"5"` do not look alike in JSON. */
function typed(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(typed);
  if (value instanceof Date) return `date:${Number.isNaN(value.getTime()) ? 'invalid' : value.toISOString()}`;
  return `${typeof value}:${String(value)}`;
}

/** A router of one GET route echoing its input; each call builds its own schemas. */
function echoRouter() {
  return t.router({
    echo: t.procedure
      .meta({ openapi: { method: 'GET', path: '/echo/{id}/{count}' } })
      .input(queryInputSchema())
      .output(z.record(z.string(), z.unknown()))
      .query(({ input }) => Object.fromEntries(Object.entries(input).map(([key, value]) => [key, typed(value)]))),
  });
}

async function listen(handler: (req: IncomingMessage, res: ServerResponse) => Promise<void>): Promise<Server> {
  const server = createServer((req, res) => void handler(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

const urlOf = (server: Server) => `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

describe('query-string coercion, native against trpc-to-openapi', () => {
  let official: Server;
  let native: Server;

  beforeAll(async () => {
    const deps = {
      config: { nodeEnv: 'test', http: { maxBodyBytes: 1024 } },
    } as unknown as RequestDeps;
    // Two routers with schemas of their own: trpc-to-openapi's coercion mutates its router's.
    const officialRouter = echoRouter() as unknown as AppRouter;
    const nativeRouter = echoRouter() as unknown as AppRouter;
    official = await listen(createOfficialRestHandler({ ...deps, appRouter: officialRouter, basePath: '/api' }));
    native = await listen(createNativeRestHandler({ ...deps, appRouter: nativeRouter, basePath: '/api' }));
  });

  afterAll(() => {
    official.close();
    native.close();
  });

  const queries = [
    '',
    'n=5',
    'n=%205%20',
    'n=abc',
    'n=',
    'n=5&n=6',
    'i=',
    'i=0x10',
    'i=1e2',
    'i=-0',
    'b=false',
    'b=0',
    'b=',
    'b=true&b=false',
    'd=2020-01-02',
    'd=1700000000000',
    'd=nope',
    'big=12',
    'big=1.5',
    'big=',
    'nums=1',
    'nums=1&nums=2.5',
    'nums=x',
    'nums=',
    'grid=1',
    'grid=1&grid=2',
    'tags=a',
    'tags=a&tags=b',
    'e=a',
    'e=c',
    'e=a&e=b',
    's=override',
    'piped=abc',
    'nn=5',
    'nn=null',
    'lazy=7',
    'lazyOne=7',
    'own=8',
    '__proto__=1&n=1',
    'constructor=1',
    'x=1',
    'id=query-loses',
    // Sent with a path whose count is `x`: the path wins over the query, and is coerced too.
    'count=7',
  ];

  it.each(queries)('?%s', async (query) => {
    const path = `/api/echo/path-value/${query.startsWith('count') ? 'x' : '0x2A'}${query ? `?${query}` : ''}`;
    const [a, b] = await Promise.all(
      [official, native].map(async (server) => {
        const res = await fetch(`${urlOf(server)}${path}`);
        return { status: res.status, contentType: res.headers.get('content-type'), body: await res.text() };
      }),
    );
    expect(b).toEqual(a);
  });
});

describe('in native mode', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp({ HTTP_ADAPTER: 'native' }, { logQueries: false });
  });
  afterAll(() => app.close());

  it('coerces REST query strings, but not tRPC query inputs, and never changes the shared schemas', async () => {
    const rest = await fetch(`${app.url}/api/v1/products?limit=5&offset=0`);
    expect(rest.status).toBe(200);
    expect(await rest.json()).toMatchObject({ limit: 5, offset: 0 });

    // A JSON input carries its own types: on /trpc a string is not a number.
    const rpc = await fetch(trpcUrl(app.url, 'v1.products.list', { limit: '5' }));
    expect(rpc.status).toBe(400);
    const error = ((await rpc.json()) as TrpcErrorBody).error.data;
    expect(error.code).toBe('VALIDATION_FAILED');
    expect(error.issues).toEqual([expect.objectContaining({ path: 'limit', code: 'invalid_type' })]);
    expect((await fetch(trpcUrl(app.url, 'v1.products.list', { limit: 5 }))).status).toBe(200);

    const shape = (
      ListProductsInputSchema as unknown as {
        _zod: {
          def: { innerType: { shape: Record<string, { _zod: { def: { innerType: { _zod: { def: object } } } } }> } };
        };
      }
    )._zod.def.innerType.shape;
    for (const key of ['limit', 'offset']) {
      expect(shape[key]?._zod.def.innerType._zod.def, key).not.toHaveProperty('coerce', true);
    }
  });
});
