import fc from 'fast-check';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerUser, SecretLedger, type Protocol, type TestUser } from '../../test/api-client.ts';
import { leastHold, probeEventLoop, type EventLoopProbe } from '../../test/event-loop-probe.ts';
import {
  CASE_KINDS,
  caseFor,
  DEEP,
  patternText,
  PATTERN_SHAPES,
  toJson,
  type CaseKind,
  type FuzzCase,
} from '../../test/fuzz-cases.ts';
import { OPERATIONS, REST_BASE, type Fixtures, type Operation } from '../../test/fuzz-operations.ts';
import { startTestApp, type TestApp } from '../../test/test-app.ts';
import { writeReliabilityResult } from '../../test/test-results.ts';

/**
 * Bad input, fuzzed: every operation of openapi.json (so a new procedure is fuzzed without
 * touching this file), over REST and tRPC, as an admin and as a customer, with adversarial
 * inputs of four kinds (see fuzz-cases.ts): an unknown key with bad values, a 10-100 KB
 * unknown key of pattern text, a valid input with one text PostgreSQL cannot store, and a
 * 10 KB path of pattern text. The property: every answer is a 4xx with the error envelope
 * (`code`, `message`, `request_id`) in time, never a 5xx, no row changed, and no request holds
 * the event loop over 50 ms (the app runs in this process: a probe here sees its holds).
 *
 * A 2xx is tolerated for the invalid-by-construction kinds (an operation without input may
 * ignore it; the no-change check is then skipped for that role), never for a valid input
 * with unstorable text: that text must be refused.
 */

const REQUEST_TIMEOUT_MS = 5_000;
/** Inputs sent at once, each batch of one operation, protocol and role. */
const BATCH = 6;
/** Batches per operation, protocol and role: 2 roles x 24 x 6 make 288 inputs per operation and protocol. */
const DEFAULT_BATCHES_PER_ROLE = 24;
const BATCHES_PER_ROLE = Number(process.env.FUZZ_BATCHES ?? DEFAULT_BATCHES_PER_ROLE);
const SEED = Number(process.env.FUZZ_SEED ?? 20_261_126);
/** What any request may hold the event loop for: every other request waits that long. */
const HOLD_BUDGET_MS = 50;

// ---------------------------------------------------------------------------------------
// Requests and the property

interface Answer {
  status: number;
  requestId: string | null;
  text: string;
  label: string;
}

const counts = { rest: 0, trpc: 0 };
const kinds: Record<Protocol, Record<CaseKind, number>> = {
  rest: Object.fromEntries(CASE_KINDS.map((kind) => [kind, 0])) as Record<CaseKind, number>,
  trpc: Object.fromEntries(CASE_KINDS.map((kind) => [kind, 0])) as Record<CaseKind, number>,
};
const failures: string[] = [];
/** The longest event-loop hold seen, and what was being answered then. */
const longestHold = { ms: 0, while: '' };
/** Whether the requests being sent are sent again (to measure their hold again): counted once. */
let resending = false;

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
  if (!resending) counts[protocol] += 1;
  const res = await fetch(`${app.url}${url}`, {
    method: request.method,
    headers,
    ...(body === undefined ? {} : { body }),
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  return { status: res.status, requestId: res.headers.get('x-request-id'), text: await res.text(), label };
}

/**
 * Runs `work` under the event-loop probe: the longest hold while it ran must be within the
 * budget (measured again on the same requests when it is not: see `leastHold`; the requests
 * sent again are not counted twice). `work` is told whether it is sending again.
 */
async function withinHoldBudget<Result>(what: string, work: (again: boolean) => Promise<Result>): Promise<Result> {
  const { result, holdMs } = await leastHold(probe, {
    budgetMs: HOLD_BUDGET_MS,
    work: async (attempt) => {
      resending = attempt > 1;
      try {
        return await work(resending);
      } finally {
        resending = false;
      }
    },
  });
  if (holdMs > longestHold.ms) Object.assign(longestHold, { ms: Math.round(holdMs * 10) / 10, while: what });
  if (holdMs >= HOLD_BUDGET_MS) failures.push(`${what}: event loop held ${holdMs.toFixed(1)} ms`);
  expect(holdMs, `event loop held while answering ${what}`).toBeLessThan(HOLD_BUDGET_MS);
  return result;
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

/**
 * A path segment as a client sends it: what RFC 3986 lets a segment hold (unreserved ASCII,
 * sub-delimiters, `:` and `@`) as it is, every other UTF-8 byte percent-encoded (a lone
 * surrogate becomes U+FFFD, as any client would send it).
 */
const SEGMENT_CHARACTER = /[A-Za-z0-9\-._~!$&'()*+,;=:@]/;

function pathSegment(value: string): string {
  return [...Buffer.from(value, 'utf8')]
    .map((byte) => String.fromCharCode(byte))
    .map((char) => (SEGMENT_CHARACTER.test(char) ? char : `%${char.charCodeAt(0).toString(16).padStart(2, '0')}`))
    .join('');
}

function restUrl(operation: Operation, fuzz: FuzzCase): { url: string; body: string | undefined } {
  const path = operation.template.replace(/\{(\w+)\}/g, (_m, name: string) => pathSegment(fuzz.path[name] ?? ''));
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
  const label = `${operation.method} ${operation.id} (${fuzz.kind})`;
  if (!resending) kinds[protocol][fuzz.kind] += 1;
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
let probe: EventLoopProbe;
const users: Record<'admin' | 'customer', TestUser | undefined> = { admin: undefined, customer: undefined };
const ROLES = ['admin', 'customer'] as const;
/** Real ids, so that a valid input with one bad text gets as far as the database would let it. */
const fixtures: Fixtures = {};

function tokenOf(role: 'admin' | 'customer'): string {
  const user = users[role];
  if (!user) throw new Error(`no ${role}`);
  return user.accessToken;
}

async function postJson<Data>(path: string, { token, body }: { token: string; body: unknown }): Promise<Data> {
  const res = await fetch(`${app.url}${REST_BASE}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(res.status, path).toBeLessThan(300);
  return (await res.json()) as Data;
}

beforeAll(async () => {
  // The limiter would answer most calls 429 before their input is read: let the input be read.
  app = await startTestApp({ RATE_LIMIT_PER_IP: '1000000', RATE_LIMIT_PER_EMAIL: '1000000' }, { logQueries: false });
  const secrets = new SecretLedger();
  users.admin = await registerUser(app, { secrets, label: 'fuzz-admin', role: 'admin' });
  users.customer = await registerUser(app, { secrets, label: 'fuzz-customer' });
  // Something for the mutations to not change: a product with stock, and the customer's orders.
  const product = await postJson<{ id: string }>('/v1/products', {
    token: tokenOf('admin'),
    body: { sku: 'FUZZ-1', name: 'Fuzz', price: { amount: 1000, currency: 'EUR' }, stock: 7 },
  });
  const order = { items: [{ productId: product.id, quantity: 1 }], paymentMethod: 'pm_card_visa' };
  const placed = await postJson<{ id: string }>('/v1/orders/create', { token: tokenOf('customer'), body: order });
  await postJson('/v1/orders/create', { token: tokenOf('customer'), body: order });
  const page = await fetch(`${app.url}${REST_BASE}/v2/orders?limit=1`, {
    headers: { authorization: `Bearer ${tokenOf('customer')}` },
  });
  const { nextCursor } = (await page.json()) as { nextCursor: string };
  Object.assign(fixtures, { productId: product.id, orderId: placed.id, userId: users.customer.id, cursor: nextCursor });
  probe = probeEventLoop();
});

afterAll(async () => {
  probe?.stop();
  const summary = {
    rest: counts.rest,
    trpc: counts.trpc,
    operations: OPERATIONS.length,
    failures: failures.length,
    kinds,
    event_loop: {
      budget_ms: HOLD_BUDGET_MS,
      longest_hold_ms: longestHold.ms,
      longest_hold_while: longestHold.while,
      concurrency: BATCH,
    },
  };
  const file = writeReliabilityResult('fuzz', summary);
  console.log(
    `fuzz: ${summary.operations} operations, ${summary.rest} REST and ${summary.trpc} tRPC inputs, ` +
      `${summary.failures} failures, longest event-loop hold ${longestHold.ms} ms (${longestHold.while}); ${file}`,
  );
  await app?.close();
}, 60_000);

describe('fuzzed input to every operation', () => {
  it('derives the operations from openapi.json', () => {
    expect(OPERATIONS.length).toBeGreaterThan(0);
    expect(new Set(OPERATIONS.map((operation) => operation.id)).size).toBe(OPERATIONS.length);
  });

  for (const protocol of ['rest', 'trpc'] as const) {
    for (const operation of OPERATIONS) {
      it(`${protocol} ${operation.id}: 4xx with the envelope, nothing changed, the event loop free`, async () => {
        for (const role of ROLES) {
          const before = await snapshot(app);
          let all4xx = true;
          await fc.assert(
            fc.asyncProperty(
              fc.array(caseFor(operation, { protocol, fixtures }), { minLength: BATCH, maxLength: BATCH }),
              async (batch) => {
                const call = (fuzz: (typeof batch)[number]) =>
                  callFuzzed(app, protocol, { operation, fuzz, token: tokenOf(role) });
                // Sent together, several answers' ordinary work can fall in one turn of the
                // loop: a batch over the budget is sent again one request at a time, where a
                // request that blocks still holds the loop alone.
                const answers = await withinHoldBudget(`${protocol} ${operation.id} as ${role}`, async (again) => {
                  if (!again) return Promise.all(batch.map(call));
                  const oneByOne = [];
                  for (const fuzz of batch) oneByOne.push(await call(fuzz));
                  return oneByOne;
                });
                answers.forEach((answer, index) => {
                  const refusedByConstruction = batch[index]?.kind !== 'hostile_text';
                  if (refusedByConstruction && answer.status >= 200 && answer.status < 300) {
                    all4xx = false;
                    return;
                  }
                  expectClear4xx(protocol, answer);
                });
              },
            ),
            { numRuns: BATCHES_PER_ROLE, seed: SEED, endOnFailure: true },
          );
          if (all4xx) expect(await snapshot(app), `${protocol} ${operation.id} as ${role}`).toEqual(before);
        }
      });
    }
  }

  it('sends at least 10,000 inputs over each protocol', () => {
    // Below the default batches (FUZZ_BATCHES) the count is whatever was asked for.
    if (BATCHES_PER_ROLE < DEFAULT_BATCHES_PER_ROLE) return;
    expect(counts.rest).toBeGreaterThanOrEqual(10_000);
    expect(counts.trpc).toBeGreaterThanOrEqual(10_000);
  });
});

// ---------------------------------------------------------------------------------------
// Requests that are wrong before their input is: body, content type, method, route, size.

const LONG_PATH = `/${'p'.repeat(16 * 1024)}`;
/** Paths of pattern text as long as Node takes (16 KiB of headers in all), each shape percent-encoded where it must be. */
const PATTERN_PATHS = PATTERN_SHAPES.map((shape) => `/${encodeURIComponent(patternText(shape, 12_000))}`);
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

/** One request, its event-loop hold within the budget (sent one at a time: the hold is its own). */
function sendTimed(protocol: Protocol, request: Outgoing): Promise<Answer> {
  return withinHoldBudget(`${protocol} ${request.label}`, () => send(app, protocol, request));
}

describe('malformed requests', () => {
  const restMutation = OPERATIONS.find(
    (operation) => operation.method === 'POST' && Object.keys(operation.pathParams).length === 0,
  );
  const trpcMutation = OPERATIONS.find((operation) => operation.type === 'mutation');
  const trpcQuery = OPERATIONS.find(
    (operation) => operation.type === 'query' && Object.keys(operation.pathParams).length === 0,
  );

  it('rest: bad bodies, content types, methods, routes and sizes are clear 4xx', async () => {
    if (!restMutation) throw new Error('no POST operation');
    const url = `${REST_BASE}${restMutation.template}`;
    const auth = { authorization: `Bearer ${tokenOf('admin')}` };
    const before = await snapshot(app);
    const answers: Answer[] = [];
    for (const body of MALFORMED_BODIES) {
      answers.push(
        await sendTimed('rest', {
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
        await sendTimed('rest', {
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
        await sendTimed('rest', { label: `${wrong} ${operation.id}`, url: path, method: wrong, headers: auth }),
      );
    }
    for (const path of ['/nope', '/v1/nope', '/v9/products', '/v1/products/x/y/z', '/v1/orders/%zz']) {
      answers.push(
        await sendTimed('rest', { label: `unknown ${path}`, url: `${REST_BASE}${path}`, method: 'GET', headers: auth }),
      );
    }
    answers.push(
      await sendTimed('rest', { label: 'long path', url: `${REST_BASE}/v1${LONG_PATH}`, method: 'GET', headers: auth }),
    );
    for (const path of PATTERN_PATHS) {
      const label = `path of ${path.slice(1, 10)}…`;
      answers.push(await sendTimed('rest', { label, url: `${REST_BASE}/v1${path}`, method: 'GET', headers: auth }));
      answers.push(
        await sendTimed('rest', { label, url: `${REST_BASE}/v1/products${path}`, method: 'GET', headers: auth }),
      );
    }
    answers.push(
      await sendTimed('rest', {
        label: 'long query',
        url: `${REST_BASE}/v1/products${LONG_QUERY}`,
        method: 'GET',
        headers: auth,
      }),
    );
    answers.push(
      await sendTimed('rest', {
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
        await sendTimed('trpc', {
          label: `malformed ${body.slice(0, 12)}`,
          url: url,
          method: 'POST',
          headers: { ...auth, 'content-type': 'application/json' },
          body,
        }),
      );
      answers.push(
        await sendTimed('trpc', {
          label: `malformed ?input= ${body.slice(0, 12)}`,
          url: `/trpc/${trpcQuery.id}?input=${encodeURIComponent(body.slice(0, 4_000))}`,
          method: 'GET',
          headers: auth,
        }),
      );
    }
    for (const contentType of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
      answers.push(
        await sendTimed('trpc', {
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
        await sendTimed('trpc', {
          label: `${wrong} ${operation.id}`,
          url: path,
          method: wrong,
          headers: { ...auth, 'content-type': 'application/json' },
          ...(wrong === 'POST' ? { body: '{}' } : {}),
        }),
      );
      answers.push(
        await sendTimed('trpc', { label: `DELETE ${operation.id}`, url: path, method: 'DELETE', headers: auth }),
      );
    }
    for (const path of ['nope', 'v1.nope', 'v9.products.list', 'v1.products', '__proto__', 'v1.constructor']) {
      answers.push(
        await sendTimed('trpc', { label: `unknown ${path}`, url: `/trpc/${path}`, method: 'GET', headers: auth }),
      );
    }
    answers.push(
      await sendTimed('trpc', { label: 'long path', url: `/trpc${LONG_PATH}`, method: 'GET', headers: auth }),
    );
    for (const path of PATTERN_PATHS) {
      const label = `path of ${path.slice(1, 10)}…`;
      answers.push(await sendTimed('trpc', { label, url: `/trpc${path}`, method: 'GET', headers: auth }));
    }
    answers.push(
      await sendTimed('trpc', {
        label: 'long query',
        url: `/trpc/${trpcQuery.id}${LONG_QUERY}`,
        method: 'GET',
        headers: auth,
      }),
    );
    answers.push(
      await sendTimed('trpc', {
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
      await sendTimed('trpc', {
        label: '21-call batch',
        url: `/trpc/${batch.join(',')}?batch=1&input=${encodeURIComponent(inputs)}`,
        method: 'GET',
        headers: auth,
      }),
    );
    const mutations = Array.from({ length: 21 }, () => trpcMutation.id);
    answers.push(
      await sendTimed('trpc', {
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
