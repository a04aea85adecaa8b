import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import fc from 'fast-check';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerUser, SecretLedger, type Protocol, type TestUser } from '../../test/api-client.ts';
import { startTestApp, type TestApp } from '../../test/test-app.ts';

/**
 * Bad input, fuzzed: every operation of openapi.json (so a new procedure is fuzzed without
 * touching this file), over REST and tRPC, as an admin and as a customer, with adversarial
 * inputs. Each input always carries one key the strict input schemas do not know, so it is
 * invalid by construction; a 2xx is still tolerated (an operation without input may ignore
 * it), but then the no-change check is skipped for that batch. The property: every answer is
 * a 4xx with the error envelope (`code`, `message`, `request_id`) in time, never a 5xx, and
 * no row changed.
 */

const REQUEST_TIMEOUT_MS = 5_000;
/** Runs per operation, protocol and role: 2 roles make 26 inputs per operation and protocol. */
const RUNS_PER_ROLE = 13;
const SEED = Number(process.env.FUZZ_SEED ?? 20_261_126);

type HttpMethod = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';

interface Operation {
  id: string;
  method: HttpMethod;
  /** The REST path template under `/api`, e.g. `/v1/users/{userId}`. */
  template: string;
  type: 'query' | 'mutation';
  pathParams: string[];
  queryParams: string[];
  headerParams: string[];
  bodyFields: string[];
}

interface OpenApiParameter {
  in: string;
  name: string;
}

interface OpenApiOperation {
  operationId?: string;
  parameters?: OpenApiParameter[];
  requestBody?: { content?: Record<string, { schema?: { properties?: Record<string, unknown> } }> };
}

interface OpenApiDocument {
  servers?: { url: string }[];
  paths: Record<string, Partial<Record<string, OpenApiOperation>>>;
}

const DOCUMENT = JSON.parse(readFileSync(new URL('../../../openapi.json', import.meta.url), 'utf8')) as OpenApiDocument;
const REST_BASE = DOCUMENT.servers?.[0]?.url ?? '/api';

const OPERATIONS: Operation[] = Object.entries(DOCUMENT.paths).flatMap(([template, item]) =>
  (['get', 'post', 'patch', 'put', 'delete'] as const).flatMap((verb) => {
    const operation = item[verb];
    if (!operation?.operationId) return [];
    const parameters = operation.parameters ?? [];
    const names = (where: string) => parameters.filter((p) => p.in === where).map((p) => p.name);
    const method = verb.toUpperCase() as HttpMethod;
    return [
      {
        id: operation.operationId,
        method,
        template,
        type: method === 'GET' ? ('query' as const) : ('mutation' as const),
        pathParams: names('path'),
        queryParams: names('query'),
        headerParams: names('header'),
        bodyFields: Object.keys(operation.requestBody?.content?.['application/json']?.schema?.properties ?? {}),
      },
    ];
  }),
);

// ---------------------------------------------------------------------------------------
// Generators

const HUGE = 'x'.repeat(100 * 1024);
/**
 * Depth-5000 arrays and objects are placeholders in the generated values and spliced in as
 * text when the input is serialised (`toJson`): JSON.stringify and fast-check's printer are
 * recursive and would overflow the test's own stack on them.
 */
const DEEP: Record<string, string> = {
  '\u0000deep-array\u0000': `${'['.repeat(5_000)}1${']'.repeat(5_000)}`,
  '\u0000deep-object\u0000': `${'{"a":'.repeat(5_000)}1${'}'.repeat(5_000)}`,
};

function toJson(value: unknown): string {
  let text = JSON.stringify(value) ?? 'null';
  for (const [placeholder, deep] of Object.entries(DEEP)) text = text.replaceAll(JSON.stringify(placeholder), deep);
  return text;
}

const nastyString = fc.constantFrom(
  '',
  ' ',
  HUGE,
  "' OR 1=1 --",
  '; drop table orders',
  "prd_1'; delete from products; --",
  '\n{"level":"FATAL","event":"forged"}',
  '\r\nX-Injected: 1',
  '\uD800',
  'a\uDFFFb',
  '\u202Eevil\u202C',
  '\u05E9\u05DC\u05D5\u05DD',
  'zero\u200Bwidth\uFEFF',
  '\u0000',
  '__proto__',
  'constructor',
  'prototype',
  'NaN',
  'Infinity',
  '-0',
  '1e308',
  '9007199254740993',
  'true',
  'null',
  '../../etc/passwd',
  '%00%2e%2e',
  'prd_',
  'ord_' + 'A'.repeat(41),
  'pm_card_visa',
  '{}',
  '[]',
);

const nastyNumber = fc.constantFrom(1e308, -1e308, -0, 2 ** 53 + 1, -(2 ** 53 + 1), 0.5, -1, 0, 5e-324, 1_000_001);

const nastyValue: fc.Arbitrary<unknown> = fc.oneof(
  { arbitrary: nastyString, weight: 4 },
  { arbitrary: fc.string({ unit: 'binary', maxLength: 40 }), weight: 2 },
  { arbitrary: nastyNumber, weight: 2 },
  { arbitrary: fc.constantFrom<unknown>(null, true, false, [], {}), weight: 2 },
  { arbitrary: fc.jsonValue({ maxDepth: 3 }), weight: 2 },
  { arbitrary: fc.constantFrom(...Object.keys(DEEP)), weight: 1 },
  { arbitrary: fc.array(nastyString, { maxLength: 3 }), weight: 1 },
);

const unknownKey = fc.constantFrom('__proto__', 'constructor', 'prototype', 'unknownField', '', 'role', 'isAdmin');

/** An input object: some of the operation's own fields with bad values, and always one unknown key. */
function inputFor(fields: readonly string[]): fc.Arbitrary<Record<string, unknown>> {
  const field = fields.length > 0 ? fc.constantFrom(...fields) : fc.constant('unused');
  return fc
    .tuple(fc.array(fc.tuple(field, nastyValue), { maxLength: 4 }), unknownKey, nastyValue)
    .map(([entries, extra, extraValue]) =>
      // Object.fromEntries defines own properties, so `__proto__` is sent as a key.
      Object.fromEntries([...(fields.length > 0 ? entries : []), [extra, extraValue]]),
    );
}

interface FuzzCase {
  input: unknown;
  path: Record<string, string>;
  headers: Record<string, string | undefined>;
}

function caseFor(operation: Operation): fc.Arbitrary<FuzzCase> {
  const fields = [...operation.bodyFields, ...operation.queryParams, ...operation.pathParams];
  const pathValue = fc.oneof(nastyString, fc.string({ unit: 'binary', maxLength: 30 }));
  return (
    fc
      .record({
        // Mostly an object with an unknown key; sometimes any JSON value at all.
        input: fc.oneof(
          { arbitrary: inputFor(fields), weight: 5 },
          { arbitrary: fc.jsonValue({ maxDepth: 2 }), weight: 1 },
        ),
        path: fc.record(Object.fromEntries(operation.pathParams.map((name) => [name, pathValue]))),
        headers: fc.record(
          Object.fromEntries(
            operation.headerParams.map((name) => [
              name,
              fc.constantFrom('', ' ', 'k'.repeat(300), "' OR 1=1 --", 'ok-key-1', '\t'),
            ]),
          ),
          { requiredKeys: [] },
        ),
      })
      // fast-check prints a counterexample recursively: show a bounded preview of it instead.
      .map((fuzz) => Object.assign(fuzz, { [fc.toStringMethod]: () => preview(fuzz) }))
  );
}

function preview(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 400 ? `${text.slice(0, 400)}… (${text.length} chars)` : text;
}

// ---------------------------------------------------------------------------------------
// Requests and the property

interface Answer {
  status: number;
  requestId: string | null;
  text: string;
  label: string;
}

const counts = { rest: 0, trpc: 0 };
const failures: string[] = [];

interface Outgoing {
  label: string;
  url: string;
  method: string;
  headers?: Record<string, string | undefined>;
  body?: string;
}

async function send(app: TestApp, protocol: Protocol, request: Outgoing): Promise<Answer> {
  const { label, url, body } = request;
  const headers = Object.fromEntries(
    Object.entries(request.headers ?? {}).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
  counts[protocol] += 1;
  const res = await fetch(`${app.url}${url}`, {
    method: request.method,
    headers,
    ...(body === undefined ? {} : { body }),
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  return { status: res.status, requestId: res.headers.get('x-request-id'), text: await res.text(), label };
}

interface Envelope {
  code?: unknown;
  message?: unknown;
  request_id?: unknown;
}

/** The error envelopes of an answer: REST's body, or tRPC's `error.data` (one per call of a batch). */
function envelopesOf(protocol: Protocol, body: unknown): Envelope[] {
  // What the HTTP server answers before any route (a URL over the header limit) is the plain envelope.
  if (protocol === 'rest' || (body !== null && typeof body === 'object' && 'request_id' in body))
    return [body as Envelope];
  const items = Array.isArray(body) ? (body as unknown[]) : [body];
  return items.map((item) => (item as { error?: { data?: Envelope } } | null)?.error?.data ?? {});
}

/** Why an answer is not a clear 4xx (undefined when it is one). */
function problemWith(protocol: Protocol, answer: Answer): string | undefined {
  if (answer.status < 400 || answer.status >= 500) return `status ${answer.status}`;
  let body: unknown;
  try {
    body = JSON.parse(answer.text);
  } catch {
    return `status ${answer.status} with a body that is not JSON: ${JSON.stringify(answer.text.slice(0, 120))}`;
  }
  for (const envelope of envelopesOf(protocol, body)) {
    if (typeof envelope.code !== 'string' || !/^[A-Z][A-Z_]*$/.test(envelope.code)) return 'no UPPER_SNAKE code';
    if (typeof envelope.message !== 'string' || envelope.message === '') return 'no message';
    if (envelope.request_id !== answer.requestId) return 'request_id is not the X-Request-Id';
  }
  return undefined;
}

function expectClear4xx(protocol: Protocol, answer: Answer): void {
  const problem = problemWith(protocol, answer);
  if (problem !== undefined) failures.push(`${protocol} ${answer.label}: ${problem}`);
  expect(problem, `${protocol} ${answer.label}: ${answer.text.slice(0, 300)}`).toBeUndefined();
}

/** Row counts of every table (but the rate limiter's counters, which count refusals too) and the stock. */
async function snapshot(app: TestApp): Promise<Record<string, string>> {
  const tables = await sql<{ name: string }>`
    select table_name as name from information_schema.tables
    where table_schema = 'public' and table_type = 'BASE TABLE'
      and table_name not like 'kysely_%' and table_name <> 'rate_limits'
    order by table_name`.execute(app.database.db);
  const result: Record<string, string> = {};
  for (const { name } of tables.rows) {
    const { rows } = await sql<{ n: string }>`select count(*)::text as n from ${sql.table(name)}`.execute(
      app.database.db,
    );
    result[name] = rows[0]?.n ?? '?';
  }
  const stock = await sql<{ s: string | null }>`select sum(stock)::text as s from products`.execute(app.database.db);
  result['sum(products.stock)'] = stock.rows[0]?.s ?? 'null';
  return result;
}

/** Every UTF-8 byte percent-encoded (a lone surrogate becomes U+FFFD, as any client would send it). */
function percentEncoded(value: string): string {
  return [...Buffer.from(value, 'utf8')].map((byte) => `%${byte.toString(16).padStart(2, '0')}`).join('');
}

function restUrl(operation: Operation, fuzz: FuzzCase): { url: string; body: string | undefined } {
  const path = operation.template.replace(/\{(\w+)\}/g, (_m, name: string) => percentEncoded(fuzz.path[name] ?? ''));
  if (operation.method !== 'GET') return { url: `${REST_BASE}${path}`, body: toJson(fuzz.input) };
  const params = new URLSearchParams();
  const input = fuzz.input;
  if (input !== null && typeof input === 'object' && !Array.isArray(input)) {
    for (const [key, value] of Object.entries(input)) {
      params.append(key, typeof value === 'string' ? (DEEP[value] ?? value) : toJson(value));
    }
  } else {
    params.append('input', toJson(input));
  }
  const query = params.toString();
  return { url: `${REST_BASE}${path}${query ? `?${query}` : ''}`, body: undefined };
}

async function callFuzzed(
  app: TestApp,
  protocol: Protocol,
  { operation, fuzz, token }: { operation: Operation; fuzz: FuzzCase; token: string },
): Promise<Answer> {
  const headers: Record<string, string | undefined> = { authorization: `Bearer ${token}`, ...fuzz.headers };
  const label = `${operation.method} ${operation.id}`;
  if (protocol === 'rest') {
    const { url, body } = restUrl(operation, fuzz);
    if (body !== undefined) headers['content-type'] = 'application/json';
    return send(app, 'rest', {
      label: label,
      url: url,
      method: operation.method,
      headers,
      ...(body === undefined ? {} : { body }),
    });
  }
  // Path parameters are input fields on tRPC: fuzz them into the input too.
  const input =
    fuzz.input !== null && typeof fuzz.input === 'object' && !Array.isArray(fuzz.input)
      ? { ...fuzz.path, ...fuzz.input }
      : fuzz.input;
  if (operation.type === 'query') {
    return send(app, 'trpc', {
      label: label,
      url: `/trpc/${operation.id}?input=${encodeURIComponent(toJson(input))}`,
      method: 'GET',
      headers,
    });
  }
  headers['content-type'] = 'application/json';
  return send(app, 'trpc', {
    label: label,
    url: `/trpc/${operation.id}`,
    method: 'POST',
    headers,
    body: toJson(input),
  });
}

// ---------------------------------------------------------------------------------------

let app: TestApp;
const users: Record<'admin' | 'customer', TestUser | undefined> = { admin: undefined, customer: undefined };
const ROLES = ['admin', 'customer'] as const;

function tokenOf(role: 'admin' | 'customer'): string {
  const user = users[role];
  if (!user) throw new Error(`no ${role}`);
  return user.accessToken;
}

beforeAll(async () => {
  // The limiter would answer most calls 429 before their input is read: let the input be read.
  app = await startTestApp({ RATE_LIMIT_PER_IP: '1000000', RATE_LIMIT_PER_EMAIL: '1000000' }, { logQueries: false });
  const secrets = new SecretLedger();
  users.admin = await registerUser(app, { secrets, label: 'fuzz-admin', role: 'admin' });
  users.customer = await registerUser(app, { secrets, label: 'fuzz-customer' });
  // Something for the mutations to not change: a product with stock.
  const res = await fetch(`${app.url}${REST_BASE}/v1/products`, {
    method: 'POST',
    headers: { authorization: `Bearer ${tokenOf('admin')}`, 'content-type': 'application/json' },
    body: JSON.stringify({ sku: 'FUZZ-1', name: 'Fuzz', price: { amount: 1000, currency: 'EUR' }, stock: 7 }),
  });
  expect(res.status).toBeLessThan(300);
});

afterAll(async () => {
  const summary = { rest: counts.rest, trpc: counts.trpc, operations: OPERATIONS.length, failures: failures.length };
  mkdirSync('test-results/reliability', { recursive: true });
  writeFileSync('test-results/reliability/fuzz.json', `${JSON.stringify(summary, null, 2)}\n`);
  console.log(
    `fuzz: ${summary.operations} operations, ${summary.rest} REST and ${summary.trpc} tRPC inputs, ${summary.failures} failures`,
  );
  await app?.close();
}, 30_000);

describe('fuzzed input to every operation', () => {
  it('derives the operations from openapi.json', () => {
    expect(OPERATIONS.length).toBeGreaterThan(0);
    expect(new Set(OPERATIONS.map((operation) => operation.id)).size).toBe(OPERATIONS.length);
  });

  for (const protocol of ['rest', 'trpc'] as const) {
    for (const operation of OPERATIONS) {
      it(`${protocol} ${operation.id}: 4xx with the envelope, nothing changed`, async () => {
        for (const role of ROLES) {
          const before = await snapshot(app);
          let all4xx = true;
          await fc.assert(
            fc.asyncProperty(caseFor(operation), async (fuzz) => {
              const answer = await callFuzzed(app, protocol, { operation, fuzz, token: tokenOf(role) });
              if (answer.status >= 200 && answer.status < 300) {
                all4xx = false;
                return;
              }
              expectClear4xx(protocol, answer);
            }),
            { numRuns: RUNS_PER_ROLE, seed: SEED, endOnFailure: true },
          );
          if (all4xx) expect(await snapshot(app), `${protocol} ${operation.id} as ${role}`).toEqual(before);
        }
      });
    }
  }
});

// ---------------------------------------------------------------------------------------
// Requests that are wrong before their input is: body, content type, method, route, size.

const LONG_PATH = `/${'p'.repeat(16 * 1024)}`;
const LONG_QUERY = `?q=${'q'.repeat(64 * 1024)}`;
const TWO_MIB = `{"name":"${'x'.repeat(2 * 1024 * 1024)}"}`;
const MALFORMED_BODIES = [
  '{',
  '{"email":',
  "{'email':'a'}",
  '[1,]',
  'NaN',
  '{"a":1}{"b":2}',
  '\uFEFF',
  '{"a":"\\uZZZZ"}',
  '['.repeat(5_000),
  '['.repeat(100_000) + ']'.repeat(100_000),
  `${'{"a":'.repeat(50_000)}1${'}'.repeat(50_000)}`,
];

describe('malformed requests', () => {
  const restMutation = OPERATIONS.find((operation) => operation.method === 'POST' && operation.pathParams.length === 0);
  const trpcMutation = OPERATIONS.find((operation) => operation.type === 'mutation');
  const trpcQuery = OPERATIONS.find((operation) => operation.type === 'query' && operation.pathParams.length === 0);

  it('rest: bad bodies, content types, methods, routes and sizes are clear 4xx', async () => {
    if (!restMutation) throw new Error('no POST operation');
    const url = `${REST_BASE}${restMutation.template}`;
    const auth = { authorization: `Bearer ${tokenOf('admin')}` };
    const before = await snapshot(app);
    const answers: Answer[] = [];
    for (const body of MALFORMED_BODIES) {
      answers.push(
        await send(app, 'rest', {
          label: `malformed ${body.slice(0, 12)}`,
          url: url,
          method: 'POST',
          headers: { ...auth, 'content-type': 'application/json' },
          body,
        }),
      );
    }
    for (const contentType of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
      answers.push(
        await send(app, 'rest', {
          label: `content-type ${contentType}`,
          url: url,
          method: 'POST',
          headers: { ...auth, 'content-type': contentType },
          body: '{"a":1}',
        }),
      );
    }
    for (const operation of OPERATIONS) {
      const path = `${REST_BASE}${operation.template.replace(/\{\w+\}/g, 'x')}`;
      const wrong = operation.method === 'GET' ? 'DELETE' : 'PUT';
      answers.push(
        await send(app, 'rest', { label: `${wrong} ${operation.id}`, url: path, method: wrong, headers: auth }),
      );
    }
    for (const path of ['/nope', '/v1/nope', '/v9/products', '/v1/products/x/y/z', '/v1/orders/%zz']) {
      answers.push(
        await send(app, 'rest', { label: `unknown ${path}`, url: `${REST_BASE}${path}`, method: 'GET', headers: auth }),
      );
    }
    answers.push(
      await send(app, 'rest', { label: 'long path', url: `${REST_BASE}/v1${LONG_PATH}`, method: 'GET', headers: auth }),
    );
    answers.push(
      await send(app, 'rest', {
        label: 'long query',
        url: `${REST_BASE}/v1/products${LONG_QUERY}`,
        method: 'GET',
        headers: auth,
      }),
    );
    answers.push(
      await send(app, 'rest', {
        label: '2 MiB body',
        url: url,
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: TWO_MIB,
      }),
    );
    for (const answer of answers) expectClear4xx('rest', answer);
    expect(await snapshot(app)).toEqual(before);
  });

  it('trpc: bad bodies, content types, methods, routes, sizes and batches are clear 4xx', async () => {
    if (!trpcMutation || !trpcQuery) throw new Error('no tRPC procedures');
    const url = `/trpc/${trpcMutation.id}`;
    const auth = { authorization: `Bearer ${tokenOf('admin')}` };
    const before = await snapshot(app);
    const answers: Answer[] = [];
    for (const body of MALFORMED_BODIES) {
      answers.push(
        await send(app, 'trpc', {
          label: `malformed ${body.slice(0, 12)}`,
          url: url,
          method: 'POST',
          headers: { ...auth, 'content-type': 'application/json' },
          body,
        }),
      );
      answers.push(
        await send(app, 'trpc', {
          label: `malformed ?input= ${body.slice(0, 12)}`,
          url: `/trpc/${trpcQuery.id}?input=${encodeURIComponent(body.slice(0, 4_000))}`,
          method: 'GET',
          headers: auth,
        }),
      );
    }
    for (const contentType of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
      answers.push(
        await send(app, 'trpc', {
          label: `content-type ${contentType}`,
          url: url,
          method: 'POST',
          headers: { ...auth, 'content-type': contentType },
          body: '{"a":1}',
        }),
      );
    }
    for (const operation of OPERATIONS) {
      const path = `/trpc/${operation.id}`;
      const wrong = operation.type === 'query' ? 'POST' : 'GET';
      answers.push(
        await send(app, 'trpc', {
          label: `${wrong} ${operation.id}`,
          url: path,
          method: wrong,
          headers: { ...auth, 'content-type': 'application/json' },
          ...(wrong === 'POST' ? { body: '{}' } : {}),
        }),
      );
      answers.push(
        await send(app, 'trpc', { label: `DELETE ${operation.id}`, url: path, method: 'DELETE', headers: auth }),
      );
    }
    for (const path of ['nope', 'v1.nope', 'v9.products.list', 'v1.products', '__proto__', 'v1.constructor']) {
      answers.push(
        await send(app, 'trpc', { label: `unknown ${path}`, url: `/trpc/${path}`, method: 'GET', headers: auth }),
      );
    }
    answers.push(
      await send(app, 'trpc', { label: 'long path', url: `/trpc${LONG_PATH}`, method: 'GET', headers: auth }),
    );
    answers.push(
      await send(app, 'trpc', {
        label: 'long query',
        url: `/trpc/${trpcQuery.id}${LONG_QUERY}`,
        method: 'GET',
        headers: auth,
      }),
    );
    answers.push(
      await send(app, 'trpc', {
        label: '2 MiB body',
        url: url,
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: TWO_MIB,
      }),
    );
    const batch = Array.from({ length: 21 }, () => trpcQuery.id);
    const inputs = JSON.stringify(Object.fromEntries(batch.map((_id, index) => [String(index), {}])));
    answers.push(
      await send(app, 'trpc', {
        label: '21-call batch',
        url: `/trpc/${batch.join(',')}?batch=1&input=${encodeURIComponent(inputs)}`,
        method: 'GET',
        headers: auth,
      }),
    );
    const mutations = Array.from({ length: 21 }, () => trpcMutation.id);
    answers.push(
      await send(app, 'trpc', {
        label: '21-call mutation batch',
        url: `/trpc/${mutations.join(',')}?batch=1`,
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify(Object.fromEntries(mutations.map((_id, index) => [String(index), {}]))),
      }),
    );
    for (const answer of answers) expectClear4xx('trpc', answer);
    expect(await snapshot(app)).toEqual(before);
  });
});
