import { createServer, request, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { initTRPC } from '@trpc/server';
import type { CreateHTTPHandlerOptions } from '@trpc/server/adapters/standalone';
import { z } from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../core/http/server.ts';
import { newPassword, registerUser, SecretLedger, uniqueEmail } from '../../../test/api-client.ts';
import { createOrder } from '../../../test/orders-api.ts';
import { insertProducts } from '../../../test/seed-products.ts';
import { serveApp, startTestApp, type TestApp } from '../../../test/test-app.ts';
import { createNativeHTTPHandler } from './native-handler.ts';
import { createOfficialHTTPHandler } from './official-handler.ts';

interface RawExchange {
  method?: string;
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Send the body without Content-Length (chunked), as a streaming client would. */
  chunked?: boolean;
}

interface RawAnswer {
  status: number;
  /** Header name/value pairs in the order they were sent, names as cased on the wire. */
  headers: [string, string][];
  body: string;
}

/**
 * Headers that differ between two responses for reasons that are not the protocol: the clock,
 * and framing — the official adapter streams its body (chunked), the native one knows its
 * length (Content-Length); both are valid HTTP/1.1 for the same bytes.
 */
const TRANSPORT_HEADERS = new Set(['date', 'content-length', 'transfer-encoding', 'keep-alive', 'connection']);

function send(baseUrl: string, exchange: RawExchange): Promise<RawAnswer> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const outgoing = request(
      {
        host: hostname,
        port,
        path: exchange.path,
        method: exchange.method ?? 'GET',
        headers: exchange.headers ?? {},
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const pairs: [string, string][] = [];
          for (let index = 0; index < res.rawHeaders.length; index += 2) {
            pairs.push([res.rawHeaders[index] as string, res.rawHeaders[index + 1] as string]);
          }
          resolve({ status: res.statusCode ?? 0, headers: pairs, body: Buffer.concat(chunks).toString('utf8') });
        });
        res.on('error', reject);
      },
    );
    outgoing.on('error', reject);
    if (exchange.body === undefined) outgoing.end();
    else if (exchange.chunked) {
      outgoing.write(exchange.body);
      outgoing.end();
    } else {
      outgoing.setHeader('Content-Length', Buffer.byteLength(exchange.body));
      outgoing.end(exchange.body);
    }
  });
}

/** The answer with its request id replaced, so two servers' answers to one request compare equal. */
function comparable(answer: RawAnswer, requestId: string): RawAnswer {
  const unId = (text: string) => text.split(requestId).join('<request-id>');
  return {
    status: answer.status,
    headers: answer.headers
      .filter(([name]) => !TRANSPORT_HEADERS.has(name.toLowerCase()))
      .map(([name, value]) => [name, unId(value)]),
    body: unId(answer.body),
  };
}

const json = { 'content-type': 'application/json' };

describe('the native tRPC adapter answers exactly as the official one', () => {
  let official: TestApp;
  let native: RunningServer;
  let productIds: string[];
  let token: string;
  let orderId: string;
  const requests: (RawExchange & { name: string })[] = [];

  beforeAll(async () => {
    // Two apps over one database and one log: only the tRPC adapter differs.
    official = await startTestApp({ HTTP_ADAPTER: 'official', MAX_BODY_BYTES: '2048' });
    const nativeApp = await serveApp(official.database, {
      config: { ...official.config, http: { ...official.config.http, adapter: 'native' } },
      logger: official.logger,
    });
    native = nativeApp.server;

    productIds = await insertProducts(official.database.db, [{ stock: 50 }, { stock: 50 }]);
    const user = await registerUser(official, { secrets: new SecretLedger(), label: 'compare' });
    token = user.accessToken;
    const order = await createOrder(official, {
      protocol: 'rest',
      token,
      items: [{ productId: productIds[0] as string, quantity: 1 }],
    });
    orderId = (order.data as { id: string }).id;
  });

  afterAll(async () => {
    await native?.stop();
    await official?.close();
  });

  const input = (value: unknown) => encodeURIComponent(JSON.stringify(value));
  const bearer = () => ({ authorization: `Bearer ${token}` });

  // Built lazily: the ids exist only after beforeAll.
  function exchanges(): (RawExchange & { name: string })[] {
    const [first, second] = productIds as [string, string];
    const batchOf = (count: number) => Array.from({ length: count }, () => 'v1.products.list').join(',');
    return [
      { name: 'query without input', path: '/trpc/v1.products.list' },
      { name: 'query with input', path: `/trpc/v1.products.list?input=${input({ limit: 1 })}` },
      { name: 'query by id', path: `/trpc/v1.products.get?input=${input({ productId: first })}` },
      { name: 'invalid input', path: `/trpc/v1.products.get?input=${input({ productId: 42 })}` },
      { name: 'malformed input JSON', path: '/trpc/v1.products.get?input=%7Bnot-json' },
      { name: 'empty input', path: '/trpc/v1.products.get?input=' },
      {
        name: 'input with + and %20',
        path: `/trpc/v1.products.list?input=${input({ search: 'a b' }).replace('%20', '+')}`,
      },
      { name: 'unknown procedure', path: '/trpc/v1.nothing.here' },
      { name: 'empty procedure path', path: '/trpc/' },
      { name: 'double slash', path: '//trpc//v1.products.list' },
      { name: 'trailing slash', path: '/trpc/v1.products.list/' },
      { name: 'escaped path (official parses it)', path: '/trpc/v1.products%2Elist' },
      { name: 'malformed escape', path: '/trpc/v1.products%E0%A4%A' },
      { name: 'dot segments', path: '/trpc/../trpc/v1.products.list' },
      { name: 'query sent as POST', method: 'POST', path: '/trpc/v1.products.list', headers: json, body: '{}' },
      { name: 'mutation sent as GET', path: '/trpc/v1.auth.login' },
      {
        name: 'batch of two queries',
        path: `/trpc/v1.products.get,v1.products.get?batch=1&input=${input({ 0: { productId: first }, 1: { productId: second } })}`,
      },
      {
        name: 'batch with failures (207)',
        path: `/trpc/v1.products.get,v1.nothing,v1.products.get?batch=1&input=${input({ 0: { productId: first }, 2: { productId: 'x' } })}`,
      },
      { name: 'batch all failing alike', path: `/trpc/v1.nothing,v1.nope?batch=1` },
      {
        name: 'batch input not an object',
        path: `/trpc/v1.products.get,v1.products.get?batch=1&input=${input([1, 2])}`,
      },
      { name: 'batch over the limit', path: `/trpc/${batchOf(21)}?batch=1` },
      { name: 'batch at the limit', path: `/trpc/${batchOf(20)}?batch=1` },
      { name: 'mixed procedure types', path: '/trpc/v1.products.list,v1.auth.login?batch=1' },
      { name: 'batch flag not "1"', path: '/trpc/v1.products.list,v1.products.list?batch=true' },
      { name: 'protected without token (401)', path: '/trpc/v1.auth.me' },
      { name: 'protected with token', path: '/trpc/v1.auth.me', headers: bearer() },
      { name: 'protected with a bad token', path: '/trpc/v1.auth.me', headers: { authorization: 'Bearer nope' } },
      { name: 'own order', path: `/trpc/v1.orders.get?input=${input({ orderId })}`, headers: bearer() },
      {
        name: 'batch sharing one auth',
        path: `/trpc/v1.auth.me,v1.orders.get?batch=1&input=${input({ 1: { orderId } })}`,
        headers: bearer(),
      },
      {
        name: 'mutation, invalid body',
        method: 'POST',
        path: '/trpc/v1.auth.login',
        headers: json,
        body: '{"email":1}',
      },
      {
        name: 'mutation, malformed JSON',
        method: 'POST',
        path: '/trpc/v1.auth.login',
        headers: json,
        body: '{"email":',
      },
      { name: 'mutation, empty body', method: 'POST', path: '/trpc/v1.auth.login', headers: json, body: '' },
      {
        name: 'mutation, byte order mark',
        method: 'POST',
        path: '/trpc/v1.auth.login',
        headers: json,
        body: '\uFEFF{"email":"a"}',
      },
      {
        name: 'media type case and parameters',
        method: 'POST',
        path: '/trpc/v1.auth.login',
        headers: { 'content-type': 'Application/JSON; charset=utf-8' },
        body: '{}',
      },
      { name: 'mutation without content type (415)', method: 'POST', path: '/trpc/v1.auth.login', body: '{}' },
      {
        name: 'mutation as text/plain',
        method: 'POST',
        path: '/trpc/v1.auth.login',
        headers: { 'content-type': 'text/plain' },
        body: '{}',
      },
      { name: 'GET with a text/plain type', path: '/trpc/v1.products.list', headers: { 'content-type': 'text/plain' } },
      {
        name: 'declared body over the limit (413 on every call)',
        method: 'POST',
        path: '/trpc/v1.auth.login',
        headers: json,
        body: JSON.stringify({ email: 'x'.repeat(4000) }),
      },
      {
        name: 'streamed body over the limit',
        method: 'POST',
        path: '/trpc/v1.auth.login',
        headers: json,
        body: JSON.stringify({ email: 'x'.repeat(4000) }),
        chunked: true,
      },
      {
        name: 'mutation batch, one body',
        method: 'POST',
        path: '/trpc/v1.auth.login,v1.auth.login?batch=1',
        headers: json,
        body: JSON.stringify({ 0: { email: uniqueEmail('nobody'), password: newPassword() }, 1: {} }),
      },
      {
        name: 'one Idempotency-Key over two mutations (400)',
        method: 'POST',
        path: '/trpc/v1.auth.login,v1.auth.login?batch=1',
        headers: { ...json, 'idempotency-key': 'one-key-for-two' },
        body: JSON.stringify({ 0: {}, 1: {} }),
      },
      {
        name: 'malformed Idempotency-Keys (400)',
        method: 'POST',
        path: '/trpc/v1.auth.login?batch=1',
        headers: { ...json, 'idempotency-keys': '{"0":' },
        body: JSON.stringify({ 0: {} }),
      },
      { name: 'HEAD (official)', method: 'HEAD', path: '/trpc/v1.products.list' },
      { name: 'PUT (official)', method: 'PUT', path: '/trpc/v1.products.list', headers: json, body: '{}' },
      {
        // One call: two would stream their chunks in whichever order they finish.
        name: 'streaming accept (official)',
        path: '/trpc/v1.products.list?batch=1',
        headers: { 'trpc-accept': 'application/jsonl' },
      },
      { name: 'odd Host (official)', path: '/trpc/v1.products.list', headers: { host: 'example.com:99999' } },
      { name: 'connection params (official)', path: '/trpc/v1.products.list?connectionParams=%7B%7D' },
      { name: 'fragment-like query (official)', path: '/trpc/v1.products.list?a=1#x' },
    ];
  }

  it('gives the same status, headers and bytes for every request', async () => {
    requests.push(...exchanges());
    const differences: { name: string; official: RawAnswer; native: RawAnswer }[] = [];
    let index = 0;
    for (const exchange of requests) {
      index += 1;
      const ids = { official: `cmp-${index}-official`, native: `cmp-${index}-native` };
      const withId = (id: string) => ({ ...exchange, headers: { ...exchange.headers, 'x-request-id': id } });
      const a = comparable(await send(official.url, withId(ids.official)), ids.official);
      const b = comparable(await send(native.url, withId(ids.native)), ids.native);
      if (JSON.stringify(a) !== JSON.stringify(b)) differences.push({ name: exchange.name, official: a, native: b });
    }
    expect(differences).toEqual([]);
  });

  it('writes the same log lines for each request', () => {
    // The calls of a batch run concurrently and their lines interleave by timing: compare them sorted.
    const eventsOf = (requestId: string) =>
      official.logs
        .forRequest(requestId)
        .map(({ level, event, procedure, code, status, reason, ok }) =>
          JSON.stringify({ level, event, procedure, code, status, reason, ok }),
        )
        .sort();
    const mismatched = requests.flatMap((exchange, position) => {
      const index = position + 1;
      const a = eventsOf(`cmp-${index}-official`);
      const b = eventsOf(`cmp-${index}-native`);
      return JSON.stringify(a) === JSON.stringify(b) ? [] : [{ name: exchange.name, official: a, native: b }];
    });
    expect(requests.length).toBeGreaterThan(40);
    expect(mismatched).toEqual([]);
  });
});

describe('the native tRPC adapter on protocol corners the service does not reach', () => {
  // A router of its own, for what no service procedure does: results that cannot be
  // serialised or only streamed, failing contexts, statuses and headers set by hand.
  // isDev off: error shapes would carry stacks, which differ by where each adapter threw.
  const t = initTRPC.context<{ res: ServerResponse; user: string }>().create({ isDev: false });
  const router = t.router({
    hello: t.procedure.query(() => 'hello'),
    nothing: t.procedure.query(() => undefined),
    big: t.procedure.query(() => 10n),
    cyclic: t.procedure.query(() => {
      const value: Record<string, unknown> = {};
      value.self = value;
      return value;
    }),
    later: t.procedure.query(() => ({ value: Promise.resolve(1) })),
    boom: t.procedure.query(() => {
      throw new Error('boom');
    }),
    teapot: t.procedure.query(({ ctx }) => {
      ctx.res.statusCode = 418;
      ctx.res.setHeader('x-set-by', 'procedure');
      return 'short and stout';
    }),
    echo: t.procedure.input(z.object({ text: z.string() })).mutation(({ input }) => input.text),
    ping: t.procedure.mutation(() => 'pong'),
    // The steps tRPC's builder adds (inputs, output, resolver) run as one in the native path.
    shaped: t.procedure
      .input(z.object({ n: z.number() }))
      .output(z.object({ n: z.number().max(5) }))
      .query(({ input }) => ({ n: input.n, dropped: 'by the output parser' })),
    merged: t.procedure
      .input(z.object({ a: z.string() }))
      .input(z.object({ b: z.string().transform((b) => b.toUpperCase()) }))
      .query(({ input }) => input),
    awaited: t.procedure
      // An async refinement: zod's synchronous parse refuses it, tRPC falls back to parseAsync.
      .input(z.object({ n: z.number() }).refine(({ n }) => Promise.resolve(n > 0), 'must be positive'))
      .query(({ input }) => input.n * 2),
    // A middleware between input and resolver: every step on its own.
    guarded: t.procedure
      .input(z.object({ n: z.number() }))
      .use(({ input, next }) => (input.n === 13 ? Promise.reject(new Error('unlucky')) : next()))
      .output(z.number())
      .query(({ input }) => input.n),
  });

  const errors: Record<'official' | 'native', unknown[]> = { official: [], native: [] };
  const servers: Server[] = [];
  const urls: Record<'official' | 'native', string> = { official: '', native: '' };

  beforeAll(async () => {
    for (const kind of ['official', 'native'] as const) {
      const options: CreateHTTPHandlerOptions<typeof router> = {
        router,
        basePath: '/trpc/',
        maxBodySize: 64,
        maxBatchSize: 3,
        createContext: ({ req, res }) => {
          if (req.headers['x-fail-context'] !== undefined) throw new Error('context refused');
          res.setHeader('x-context', 'set');
          return { res, user: 'u1' };
        },
        onError: ({ error, path, type, input }) =>
          errors[kind].push({ code: error.code, message: error.message, path, type, input }),
        responseMeta: ({ paths, errors: failed }) => ({
          status: paths?.includes('ping') ? 202 : undefined,
          headers: new Headers({ 'x-calls': String(paths?.length ?? 0), 'x-errors': String(failed.length) }),
        }),
      };
      const server = createServer(
        kind === 'official' ? createOfficialHTTPHandler(options) : createNativeHTTPHandler(options),
      );
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      servers.push(server);
      urls[kind] = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    }
  });

  afterAll(async () => {
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  });

  const corners: RawExchange[] = [
    { path: '/trpc/hello' },
    { path: '/trpc/nothing' },
    { path: '/trpc/big' },
    { path: '/trpc/cyclic' },
    { path: '/trpc/later' },
    { path: '/trpc/hello,later?batch=1' },
    { path: '/trpc/boom' },
    { path: '/trpc/hello,boom,nothing?batch=1' },
    { path: '/trpc/hello,hello,hello,hello?batch=1' },
    { path: '/trpc/teapot' },
    { path: '/trpc/hello', headers: { 'x-fail-context': '1' } },
    { path: '/trpc/hello,hello?batch=1', headers: { 'x-fail-context': '1' } },
    { method: 'POST', path: '/trpc/ping', headers: json, body: 'not json at all' },
    { method: 'POST', path: '/trpc/echo', headers: json, body: '{"text":"hi"}' },
    {
      method: 'POST',
      path: '/trpc/echo',
      headers: json,
      body: JSON.stringify({ text: 'x'.repeat(100) }),
      chunked: true,
    },
    { method: 'POST', path: '/trpc/echo,ping?batch=1', headers: json, body: '{"0":{"text":"a"}}' },
    { path: `/trpc/shaped?input=${encodeURIComponent('{"n":1}')}` },
    { path: `/trpc/shaped?input=${encodeURIComponent('{"n":9}')}` },
    { path: `/trpc/shaped?input=${encodeURIComponent('{"n":"x"}')}` },
    { path: '/trpc/shaped' },
    { path: '/trpc/shaped?input=%7Bnot%20json' },
    { path: `/trpc/merged?input=${encodeURIComponent('{"a":"x","b":"y"}')}` },
    { path: `/trpc/merged?input=${encodeURIComponent('{"a":"x"}')}` },
    { path: `/trpc/awaited?input=${encodeURIComponent('{"n":2}')}` },
    { path: `/trpc/awaited?input=${encodeURIComponent('{"n":-2}')}` },
    { path: `/trpc/guarded?input=${encodeURIComponent('{"n":7}')}` },
    { path: `/trpc/guarded?input=${encodeURIComponent('{"n":13}')}` },
    {
      path: `/trpc/shaped,merged,awaited?batch=1&input=${encodeURIComponent('{"0":{"n":3},"1":{"a":"p","b":"q"},"2":{"n":0}}')}`,
    },
    {
      method: 'POST',
      path: '/trpc/echo',
      headers: json,
      body: Buffer.from([0x7b, 0x22, 0x74, 0x65, 0x78, 0x74, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d]),
    },
  ];

  it('gives the same answers and the same onError calls', async () => {
    const differences: unknown[] = [];
    for (const exchange of corners) {
      const before = { official: errors.official.length, native: errors.native.length };
      const a = comparable(await send(urls.official, exchange), 'none');
      const b = comparable(await send(urls.native, exchange), 'none');
      const onErrorA = errors.official.slice(before.official);
      const onErrorB = errors.native.slice(before.native);
      if (JSON.stringify([a, onErrorA]) !== JSON.stringify([b, onErrorB])) {
        differences.push({ path: exchange.path, official: [a, onErrorA], native: [b, onErrorB] });
      }
    }
    expect(errors.native.length).toBeGreaterThan(5);
    expect(differences).toEqual([]);
  });
});
