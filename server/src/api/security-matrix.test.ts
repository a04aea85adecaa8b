/**
 * The OWASP API Security Top 10 (2023) as a matrix over this API: each category's cases are
 * enumerated from openapi.json (and the procedures it names), so a new route is covered as
 * soon as it is documented. Every case runs over REST and tRPC. The counts per category are
 * written to test-results/reliability/security.json.
 */
import { createHmac } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Order } from '@orders/shared';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  PROTOCOLS,
  ROUTES,
  callApi,
  expectAuthFailureLogged,
  expectError,
  forgeToken,
  newPassword,
  registerUser,
  uniqueEmail,
  unsignedToken,
  type ApiResponse,
  type ApiVersion,
  type ProcedureName,
  type Protocol,
  type TestUser,
} from '../../test/api-client.ts';
import { useTestApp } from '../../test/fixture.ts';
import { rawRequest, trpcBatchUrl } from '../../test/http-client.ts';
import { createOrder, orderRowOf, paymentRowsOf } from '../../test/orders-api.ts';
import { insertProducts } from '../../test/seed-products.ts';
import { TEST_JWT_SECRET } from '../../test/test-app.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const PRODUCTION_SECRET = 'production-secret-of-at-least-32-bytes-0123456789';
const SHOP = 'https://shop.example.com';
const RATE_LIMIT_PER_EMAIL = 3;

// ---------------------------------------------------------------------------------------------
// The document
// ---------------------------------------------------------------------------------------------

interface DocParameter {
  name: string;
  in: string;
}
interface DocOperation {
  operationId: string;
  security?: Record<string, string[]>[];
  parameters?: DocParameter[];
  requestBody?: { content?: Record<string, { schema?: DocSchema }> };
  responses: Record<string, unknown>;
}
interface DocSchema {
  $ref?: string;
  properties?: Record<string, unknown>;
}
interface Document {
  paths: Record<string, Record<string, DocOperation>>;
  components?: { schemas?: Record<string, DocSchema> };
}

const document = JSON.parse(readFileSync(resolve(ROOT, 'openapi.json'), 'utf8')) as Document;

interface Operation {
  id: string;
  version: ApiVersion;
  procedure: ProcedureName;
  method: string;
  path: string;
  operation: DocOperation;
}

function isProcedure(name: string): name is ProcedureName {
  return Object.hasOwn(ROUTES, name);
}

const HTTP_METHODS = new Set(['get', 'post', 'put', 'patch', 'delete']);

/** Every documented operation, with the procedure the test client calls it by. */
const OPERATIONS: Operation[] = Object.entries(document.paths).flatMap(([path, item]) =>
  Object.entries(item)
    .filter(([method]) => HTTP_METHODS.has(method))
    .map(([method, operation]) => {
      const [version, ...rest] = operation.operationId.split('.');
      const procedure = rest.join('.');
      if ((version !== 'v1' && version !== 'v2') || !isProcedure(procedure)) {
        throw new Error(`${operation.operationId}: not a procedure the test client knows; add it to ROUTES`);
      }
      return { id: operation.operationId, version, procedure, method, path, operation };
    }),
);

const requiresToken = (op: Operation) =>
  (op.operation.security ?? []).length > 0 && (op.operation.security ?? []).every((req) => 'bearerAuth' in req);
/**
 * Admin-only, as openapi-errors.ts documents it: a token is required and the operation can answer
 * 403 FORBIDDEN (orders.create's 403 is EMAIL_NOT_VERIFIED, which no role causes).
 */
const isAdminOnly = (op: Operation) => {
  const forbidden = (op.operation.responses as Record<string, { description?: string } | undefined>)['403'];
  return requiresToken(op) && (forbidden?.description ?? '').includes('`FORBIDDEN`');
};
const hasParameter = (op: Operation, name: string) => (op.operation.parameters ?? []).some((p) => p.name === name);

function resolveSchema(schema: DocSchema | undefined): DocSchema | undefined {
  if (schema?.$ref === undefined) return schema;
  const name = schema.$ref.replace('#/components/schemas/', '');
  return resolveSchema(document.components?.schemas?.[name]);
}

/** The input keys an operation takes: its path and query parameters and its body's properties. */
function acceptedKeys(op: Operation): Set<string> {
  const keys = new Set((op.operation.parameters ?? []).filter((p) => p.in !== 'header').map((p) => p.name));
  const body = resolveSchema(op.operation.requestBody?.content?.['application/json']?.schema);
  for (const key of Object.keys(body?.properties ?? {})) keys.add(key);
  return keys;
}

// ---------------------------------------------------------------------------------------------
// Case bookkeeping
// ---------------------------------------------------------------------------------------------

const CATEGORIES = [
  'BOLA',
  'BFLA',
  'MASS_ASSIGNMENT',
  'BROKEN_AUTH',
  'MISCONFIGURATION',
  'RESOURCE_CONSUMPTION',
] as const;
type Category = (typeof CATEGORIES)[number];
const zeroes = () => Object.fromEntries(CATEGORIES.map((c) => [c, 0])) as Record<Category, number>;
/** Cases that ran (a filtered run skips some), and those of them that failed. */
const ran = zeroes();
const failures = zeroes();

/** One counted case: an `it` tallied under its category when it runs, and again if it fails. */
function securityCase(category: Category, name: string, run: () => Promise<void>): void {
  it(name, async () => {
    ran[category] += 1;
    try {
      await run();
    } catch (error) {
      failures[category] += 1;
      throw error;
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------

const {
  app,
  secrets,
  users: { alice, bob, admin, target },
} = useTestApp({
  env: { RATE_LIMIT_PER_IP: '100000', RATE_LIMIT_PER_EMAIL: String(RATE_LIMIT_PER_EMAIL), CORS_ORIGINS: SHOP },
  logQueries: false,
  users: { alice: 'customer', bob: 'customer', admin: 'admin', target: 'customer' },
});
let productId: string;
/** Alice's order whose payment was declined: it can still be paid and cancelled. */
let aliceOrder: Order;

const nowSeconds = () => Math.floor(Date.now() / 1000);

beforeAll(async () => {
  [productId] = (await insertProducts(app.database.db, [{ stock: 1000, price_amount: 500 }])) as [string];
  const declined = await createOrder(app, {
    protocol: 'rest',
    token: alice.accessToken,
    items: [{ productId, quantity: 1 }],
    paymentMethod: 'pm_card_chargeDeclined',
  });
  expect(declined.status, JSON.stringify(declined.body)).toBe(402);
  const row = await app.database.db
    .selectFrom('orders')
    .select('id')
    .where('user_id', '=', alice.id)
    .executeTakeFirstOrThrow();
  const res = await callApi<Order>(app.url, 'orders.get', {
    protocol: 'rest',
    token: alice.accessToken,
    input: { orderId: row.id },
  });
  expect(res.status).toBe(200);
  aliceOrder = res.data;
});

afterAll(() => {
  const categories = Object.fromEntries(CATEGORIES.map((c) => [c, ran[c]]));
  const total = CATEGORIES.reduce((sum, c) => sum + ran[c], 0);
  const failed = CATEGORIES.reduce((sum, c) => sum + failures[c], 0);
  const file = resolve(ROOT, 'test-results/reliability/security.json');
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify({ categories, total, failed }, null, 2)}\n`);
  console.log(
    `security matrix: ${total} cases, ${failed} failed (${CATEGORIES.map((c) => `${c} ${ran[c]}`).join(', ')})`,
  );
});

/** A valid input for each procedure, for the caller it names; built when a test runs. */
function validInput(procedure: ProcedureName): Record<string, unknown> {
  const inputs: Record<ProcedureName, () => Record<string, unknown>> = {
    'auth.register': () => ({ email: uniqueEmail('mass'), password: newPassword(), name: 'Mass' }),
    'auth.login': () => ({ email: uniqueEmail('mass'), password: newPassword() }),
    'auth.refresh': () => ({ refreshToken: alice.refreshToken }),
    'auth.logout': () => ({ refreshToken: alice.refreshToken }),
    'auth.changePassword': () => ({ currentPassword: alice.password, newPassword: newPassword() }),
    'auth.me': () => ({}),
    // A token of the right shape that was never issued.
    'auth.verifyEmail': () => ({ token: 'A'.repeat(43) }),
    'auth.resendVerification': () => ({}),
    'auth.requestPasswordReset': () => ({ email: uniqueEmail('mass') }),
    'auth.resetPassword': () => ({ token: 'A'.repeat(43), newPassword: newPassword() }),
    'auth.changeEmail': () => ({ currentPassword: alice.password, newEmail: uniqueEmail('mass') }),
    'users.list': () => ({}),
    'users.get': () => ({ userId: target.id }),
    'users.update': () => ({ userId: target.id, disabled: true }),
    'products.list': () => ({}),
    'products.get': () => ({ productId }),
    'products.create': () => ({ sku: 'MASS-001', name: 'Mass', price: { amount: 100, currency: 'EUR' }, stock: 1 }),
    'products.update': () => ({ productId, name: 'Renamed' }),
    'orders.create': () => ({ items: [{ productId, quantity: 1 }], paymentMethod: 'pm_card_visa' }),
    'orders.pay': () => ({ orderId: aliceOrder.id, paymentMethod: 'pm_card_visa' }),
    'orders.cancel': () => ({ orderId: aliceOrder.id }),
    'orders.get': () => ({ orderId: aliceOrder.id }),
    'orders.payments': () => ({ orderId: aliceOrder.id }),
    'orders.list': () => ({}),
    'system.ping': () => ({}),
  };
  return inputs[procedure]();
}

/** Every row of every table a request could write, to prove a refused one wrote nothing. */
async function snapshot(): Promise<string> {
  const tables = [
    'users',
    'refresh_tokens',
    'account_tokens',
    'products',
    'orders',
    'order_items',
    'payments',
    'idempotency_keys',
  ];
  const dumps = await Promise.all(
    tables.map(async (table) => {
      const { rows } = await sql<Record<string, unknown>>`select * from ${sql.table(table)}`.execute(app.database.db);
      return rows.map((row) => JSON.stringify(row)).sort();
    }),
  );
  return JSON.stringify(dumps);
}

const label = (op: Operation, protocol: Protocol) => `${op.id} over ${protocol}`;

// ---------------------------------------------------------------------------------------------
// API1:2023 Broken Object Level Authorization
// ---------------------------------------------------------------------------------------------

describe("API1 BOLA: another customer's order is not found, and stays as it was", () => {
  const orderRoutes = OPERATIONS.filter((op) => hasParameter(op, 'orderId'));

  it('covers get, pay, cancel and payments on v1 and v2', () => {
    expect(orderRoutes.map((op) => op.id).sort()).toEqual(
      ['get', 'pay', 'cancel', 'payments'].flatMap((name) => [`v1.orders.${name}`, `v2.orders.${name}`]).sort(),
    );
  });

  for (const op of orderRoutes) {
    for (const protocol of PROTOCOLS) {
      securityCase('BOLA', `${label(op, protocol)}: Bob on Alice's order is 404 ORDER_NOT_FOUND`, async () => {
        const before = await orderRowOf(app, aliceOrder.id);
        const paymentsBefore = await paymentRowsOf(app, aliceOrder.id);
        const res = await callApi(app.url, op.procedure, {
          protocol,
          version: op.version,
          token: bob.accessToken,
          input: validInput(op.procedure),
        });
        const envelope = expectError(res, { status: 404, code: 'ORDER_NOT_FOUND' });
        expect(JSON.stringify(envelope)).not.toContain(alice.id);
        expect(await orderRowOf(app, aliceOrder.id)).toEqual(before);
        expect(before?.status).toBe('payment_failed');
        expect(await paymentRowsOf(app, aliceOrder.id)).toHaveLength(paymentsBefore.length);
      });
    }
  }
});

describe("API1 BOLA: a customer's list never shows another customer's orders, whatever userId says", () => {
  const ownerFiltered = OPERATIONS.filter((op) => hasParameter(op, 'userId') && !isAdminOnly(op));

  it('covers orders.list on v1 and v2', () => {
    expect(ownerFiltered.map((op) => op.id).sort()).toEqual(['v1.orders.list', 'v2.orders.list']);
  });

  for (const op of ownerFiltered) {
    for (const protocol of PROTOCOLS) {
      securityCase('BOLA', `${label(op, protocol)}: Bob asking for userId=Alice sees none of hers`, async () => {
        const res = await callApi<{ items: Order[] }>(app.url, op.procedure, {
          protocol,
          version: op.version,
          token: bob.accessToken,
          input: { userId: alice.id },
        });
        expect(res.status, JSON.stringify(res.body)).toBe(200);
        expect(res.data.items.filter((order) => order.userId !== bob.id)).toEqual([]);
      });
    }
  }
});

// ---------------------------------------------------------------------------------------------
// API5:2023 Broken Function Level Authorization
// ---------------------------------------------------------------------------------------------

describe('API5 BFLA: admin operations refuse customers (403) and anonymous callers (401)', () => {
  const adminOps = OPERATIONS.filter(isAdminOnly);

  it('the admin operations of the document are users.* and products.create/update, on both versions', () => {
    expect(adminOps.map((op) => op.id).sort()).toEqual(
      ['users.list', 'users.get', 'users.update', 'products.create', 'products.update']
        .flatMap((name) => [`v1.${name}`, `v2.${name}`])
        .sort(),
    );
  });

  for (const op of adminOps) {
    for (const protocol of PROTOCOLS) {
      securityCase('BFLA', `${label(op, protocol)}: a customer is 403 Insufficient Role`, async () => {
        const before = await snapshot();
        const res = await callApi(app.url, op.procedure, {
          protocol,
          version: op.version,
          token: alice.accessToken,
          input: validInput(op.procedure),
        });
        expectError(res, { status: 403, code: 'FORBIDDEN', reason: 'Insufficient Role' });
        await expectAuthFailureLogged(app.logs, res, 'Insufficient Role');
        expect(await snapshot()).toBe(before);
      });
      securityCase('BFLA', `${label(op, protocol)}: an anonymous caller is 401`, async () => {
        const res = await callApi(app.url, op.procedure, {
          protocol,
          version: op.version,
          input: validInput(op.procedure),
        });
        expectError(res, { status: 401, code: 'UNAUTHORIZED', reason: 'Missing Header' });
      });
    }
  }
});

// ---------------------------------------------------------------------------------------------
// API3:2023 Broken Object Property Level Authorization (mass assignment)
// ---------------------------------------------------------------------------------------------

describe('API3 mass assignment: an extra privileged key is 400 VALIDATION_FAILED and writes nothing', () => {
  const writeOps = OPERATIONS.filter((op) => op.method === 'post' || op.method === 'patch');
  const PRIVILEGED: Record<string, unknown>[] = [
    { role: 'admin' },
    { userId: 'usr_00000000000000000000000000' },
    { status: 'paid' },
    { id: 'ord_00000000000000000000000000' },
    { createdAt: '2020-01-01T00:00:00.000Z' },
    { total: { amount: 1, currency: 'EUR' } },
    // Parsed, so that `__proto__` is an own key that JSON.stringify sends.
    JSON.parse('{"__proto__":{"role":"admin"}}') as Record<string, unknown>,
  ];

  it('covers every POST and PATCH operation of the document', () => {
    expect(writeOps.length).toBeGreaterThanOrEqual(20);
  });

  const tokenFor = (op: Operation) =>
    !requiresToken(op) ? undefined : isAdminOnly(op) ? admin.accessToken : alice.accessToken;

  for (const op of writeOps) {
    const accepted = acceptedKeys(op);
    for (const extra of PRIVILEGED) {
      const key = Object.keys(extra)[0] as string;
      if (accepted.has(key)) continue;
      for (const protocol of PROTOCOLS) {
        securityCase('MASS_ASSIGNMENT', `${label(op, protocol)} with ${key}: 400 unrecognized key`, async () => {
          const before = await snapshot();
          const token = tokenFor(op);
          const res = await callApi(app.url, op.procedure, {
            protocol,
            version: op.version,
            input: { ...validInput(op.procedure), ...extra },
            ...(token === undefined ? {} : { token }),
          });
          const envelope = expectError(res, { status: 400, code: 'VALIDATION_FAILED' });
          expect(envelope.issues).toEqual([
            expect.objectContaining({ code: 'unrecognized_keys', message: expect.stringContaining(key) as unknown }),
          ]);
          expect(await snapshot()).toBe(before);
        });
      }
    }
  }

  const nested: { procedure: ProcedureName; name: string; input: () => Record<string, unknown> }[] = [
    {
      procedure: 'orders.create',
      name: 'a price on an order line',
      input: () => ({
        items: [{ productId, quantity: 1, price: { amount: 1, currency: 'EUR' } }],
        paymentMethod: 'pm_card_visa',
      }),
    },
    {
      procedure: 'products.create',
      name: 'an extra key in the price',
      input: () => ({ ...validInput('products.create'), price: { amount: 100, currency: 'EUR', fx: 0 } }),
    },
  ];
  for (const { procedure, name, input } of nested) {
    for (const protocol of PROTOCOLS) {
      securityCase('MASS_ASSIGNMENT', `${procedure} with ${name} (${protocol}): 400 unrecognized key`, async () => {
        const before = await snapshot();
        const res = await callApi(app.url, procedure, {
          protocol,
          token: procedure === 'products.create' ? admin.accessToken : alice.accessToken,
          input: input(),
        });
        const envelope = expectError(res, { status: 400, code: 'VALIDATION_FAILED' });
        expect(envelope.issues).toEqual([expect.objectContaining({ code: 'unrecognized_keys' })]);
        expect(await snapshot()).toBe(before);
      });
    }
  }
});

// ---------------------------------------------------------------------------------------------
// API2:2023 Broken Authentication
// ---------------------------------------------------------------------------------------------

describe('API2 broken authentication: each forged or unfit token is 401 with its exact reason logged', () => {
  const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const claimsOf = (sub: string) => ({
    sub,
    typ: 'access',
    role: 'customer',
    iss: 'orders-service',
    aud: 'orders-api',
    iat: nowSeconds(),
    exp: nowSeconds() + 900,
  });
  let deleted: TestUser;

  beforeAll(async () => {
    deleted = await registerUser(app, { secrets, label: 'deleted' });
    await sql`delete from refresh_tokens where user_id = ${deleted.id}`.execute(app.database.db);
    await sql`delete from users where id = ${deleted.id}`.execute(app.database.db);
  });

  const attacks: { name: string; reason: string; token: () => string }[] = [
    { name: 'alg none', reason: 'Invalid Algorithm', token: () => unsignedToken({ sub: alice.id }) },
    { name: 'HS512', reason: 'Invalid Algorithm', token: () => forgeToken({ sub: alice.id }, { algorithm: 'HS512' }) },
    {
      name: 'RS256 header, signed with the secret as an HMAC key (key confusion)',
      reason: 'Invalid Algorithm',
      token: () => {
        const unsigned = `${b64({ alg: 'RS256', typ: 'JWT' })}.${b64(claimsOf(alice.id))}`;
        const signature = createHmac('sha256', TEST_JWT_SECRET).update(unsigned).digest('base64url');
        return `${unsigned}.${signature}`;
      },
    },
    {
      name: 'expired',
      reason: 'Expired Token',
      token: () => forgeToken({ sub: alice.id, iat: nowSeconds() - 1000, exp: nowSeconds() - 100 }),
    },
    {
      name: 'nbf in the future',
      reason: 'Token Not Yet Valid',
      token: () => forgeToken({ sub: alice.id, nbf: nowSeconds() + 600 }),
    },
    { name: 'wrong aud', reason: 'Invalid Audience', token: () => forgeToken({ sub: alice.id, aud: 'another-api' }) },
    { name: 'wrong iss', reason: 'Invalid Issuer', token: () => forgeToken({ sub: alice.id, iss: 'someone-else' }) },
    { name: 'refresh token as access token', reason: 'Wrong Token Type', token: () => alice.refreshToken },
    {
      name: 'payload edited to role admin without re-signing',
      reason: 'Invalid Signature',
      token: () => {
        const [header, payload, signature] = alice.accessToken.split('.') as [string, string, string];
        const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
        return `${header}.${b64({ ...claims, role: 'admin' })}.${signature}`;
      },
    },
    { name: 'a token of a deleted user', reason: 'Unknown User', token: () => deleted.accessToken },
  ];

  /** One operation per kind of protection: user, admin, and public-with-viewer. */
  const targets = ['v1.auth.me', 'v2.orders.list', 'v1.users.list', 'v2.products.list'].map((id) => {
    const op = OPERATIONS.find((candidate) => candidate.id === id);
    if (!op) throw new Error(`${id} is not in the document`);
    return op;
  });

  for (const attack of attacks) {
    for (const op of targets) {
      for (const protocol of PROTOCOLS) {
        securityCase('BROKEN_AUTH', `${attack.name} on ${label(op, protocol)}: 401 ${attack.reason}`, async () => {
          const token = attack.token();
          secrets.add(token);
          const res = await callApi(app.url, op.procedure, { protocol, version: op.version, token });
          expectError(res, { status: 401, code: 'UNAUTHORIZED', reason: attack.reason });
          await expectAuthFailureLogged(app.logs, res, attack.reason);
          expect(app.logs.events('auth_success', { request_id: res.requestId })).toEqual([]);
        });
      }
    }
  }
});

// ---------------------------------------------------------------------------------------------
// API8:2023 Security Misconfiguration
// ---------------------------------------------------------------------------------------------

function expectSecurityHeaders(headers: Headers): void {
  expect(headers.get('x-content-type-options')).toBe('nosniff');
  expect(headers.get('x-frame-options')).toBe('DENY');
  expect(headers.get('referrer-policy')).toBe('no-referrer');
  expect(headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
  expect(headers.get('x-powered-by')).toBeNull();
}

describe('API8 misconfiguration', () => {
  const answers: { name: string; send: (protocol: Protocol, origin: string) => Promise<ApiResponse> }[] = [
    {
      name: 'a success',
      send: (protocol, origin) => callApi(app.url, 'products.list', { protocol, headers: { origin } }),
    },
    {
      name: 'an error',
      send: (protocol, origin) =>
        callApi(app.url, 'products.list', { protocol, headers: { origin }, input: { limit: 101 } }),
    },
  ];

  for (const { name, send } of answers) {
    for (const protocol of PROTOCOLS) {
      securityCase(
        'MISCONFIGURATION',
        `CORS: a disallowed origin gets no CORS headers on ${name} (${protocol})`,
        async () => {
          const res = await send(protocol, 'https://evil.example.com');
          expect(res.headers.get('access-control-allow-origin')).toBeNull();
          expect(res.headers.get('access-control-allow-credentials')).toBeNull();
        },
      );
      securityCase(
        'MISCONFIGURATION',
        `CORS: an allowed origin is echoed, never *, on ${name} (${protocol})`,
        async () => {
          const res = await send(protocol, SHOP);
          expect(res.headers.get('access-control-allow-origin')).toBe(SHOP);
          expect(res.headers.get('access-control-allow-credentials')).toBe('true');
        },
      );
      securityCase('MISCONFIGURATION', `security headers on ${name} (${protocol})`, async () => {
        expectSecurityHeaders((await send(protocol, SHOP)).headers);
      });
    }
  }

  securityCase('MISCONFIGURATION', 'CORS: a preflight from a disallowed origin is not granted', async () => {
    const res = await fetch(`${app.url}/api/v1/orders/create`, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://evil.example.com',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization, content-type',
      },
    });
    await res.arrayBuffer();
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    expect(res.headers.get('access-control-allow-credentials')).toBeNull();
  });

  describe('with CORS_ORIGINS=* (allowed outside production)', () => {
    const { app: open } = useTestApp({ env: { CORS_ORIGINS: '*' }, logQueries: false });

    for (const protocol of PROTOCOLS) {
      securityCase('MISCONFIGURATION', `any origin gets *, never with credentials (${protocol})`, async () => {
        const res = await callApi(open.url, 'products.list', {
          protocol,
          headers: { origin: 'https://evil.example.com' },
        });
        expect(res.status).toBe(200);
        expect(res.headers.get('access-control-allow-origin')).toBe('*');
        expect(res.headers.get('access-control-allow-credentials')).toBeNull();
      });
    }

    securityCase('MISCONFIGURATION', 'a preflight from any origin gets *, never with credentials', async () => {
      const res = await fetch(`${open.url}/api/v1/orders/create`, {
        method: 'OPTIONS',
        headers: { origin: 'https://evil.example.com', 'access-control-request-method': 'POST' },
      });
      await res.arrayBuffer();
      expect(res.headers.get('access-control-allow-origin')).toBe('*');
      expect(res.headers.get('access-control-allow-credentials')).toBeNull();
    });
  });

  describe('in production', () => {
    const { app: prod } = useTestApp({
      env: { NODE_ENV: 'production', JWT_SECRET: PRODUCTION_SECRET },
      logQueries: false,
    });

    beforeAll(async () => {
      await sql`drop table products cascade`.execute(prod.database.db);
    });

    for (const protocol of PROTOCOLS) {
      securityCase(
        'MISCONFIGURATION',
        `a forced 500 shows no stack, SQL or internal message (${protocol})`,
        async () => {
          const res = await callApi(prod.url, 'products.list', { protocol });
          const envelope = expectError(res, { status: 500, code: 'INTERNAL' });
          expect(Object.keys(envelope).sort()).toEqual(['code', 'message', 'request_id']);
          // The envelope, not the tRPC wrapper (whose `path` names the procedure).
          const text = JSON.stringify([envelope, res.protocol === 'trpc' ? res.body : null]).replace(
            /"path":"v1\.products\.list"/,
            '',
          );
          for (const leak of [
            /products/i,
            /relation/i,
            /select/i,
            /does not exist/i,
            /\bat .*:\d+/,
            /stack/i,
            /\.ts\b/,
          ]) {
            expect(text).not.toMatch(leak);
          }
          expectSecurityHeaders(res.headers);
        },
      );
    }

    securityCase('MISCONFIGURATION', 'the panel is off', async () => {
      for (const path of ['/panel', '/panel/monaco/vs/loader.js']) {
        const res = await fetch(`${prod.url}${path}`);
        expect(res.status, path).toBe(404);
        expect(res.headers.get('content-type')).toContain('application/json');
        expect(((await res.json()) as { code: string }).code).toBe('ROUTE_NOT_FOUND');
      }
    });
  });
});

// ---------------------------------------------------------------------------------------------
// API4:2023 Unrestricted Resource Consumption
// ---------------------------------------------------------------------------------------------

describe('API4 resource consumption', () => {
  const listOps = OPERATIONS.filter((op) => hasParameter(op, 'limit'));

  it('finds the list operations of the document', () => {
    expect(listOps.map((op) => op.procedure)).toEqual(
      expect.arrayContaining(['users.list', 'products.list', 'orders.list']),
    );
  });

  for (const op of listOps) {
    for (const protocol of PROTOCOLS) {
      securityCase('RESOURCE_CONSUMPTION', `${label(op, protocol)}: limit 101 is 400, 100 is fine`, async () => {
        const token = admin.accessToken;
        const over = await callApi(app.url, op.procedure, {
          protocol,
          version: op.version,
          token,
          input: { limit: 101 },
        });
        const envelope = expectError(over, { status: 400, code: 'VALIDATION_FAILED' });
        expect(envelope.issues).toEqual([expect.objectContaining({ path: 'limit' })]);
        const max = await callApi(app.url, op.procedure, {
          protocol,
          version: op.version,
          token,
          input: { limit: 100 },
        });
        expect(max.status, JSON.stringify(max.body)).toBe(200);
      });
    }
  }

  securityCase('RESOURCE_CONSUMPTION', 'a tRPC batch of 21 calls is 400, of 20 is served', async () => {
    const batch = (size: number) =>
      fetch(
        trpcBatchUrl(
          app.url,
          Array.from({ length: size }, () => ['v1.products.list', {}] as const),
        ),
      );
    const over = await batch(21);
    await over.arrayBuffer();
    expect(over.status).toBe(400);
    const max = await batch(20);
    await max.arrayBuffer();
    expect(max.status).toBe(200);
  });

  securityCase('RESOURCE_CONSUMPTION', 'a tRPC mutation batch of 21 calls is 400 and runs none of them', async () => {
    const before = await snapshot();
    const calls = Array.from({ length: 21 }, () => 'v1.auth.register');
    const input = Object.fromEntries(
      calls.map((_call, index) => [
        String(index),
        { email: uniqueEmail('batch'), password: newPassword(), name: 'Batch' },
      ]),
    );
    const res = await fetch(`${app.url}/trpc/${calls.join(',')}?batch=1`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(input),
    });
    await res.arrayBuffer();
    expect(res.status).toBe(400);
    expect(await snapshot()).toBe(before);
  });

  const bigBody = JSON.stringify({ email: uniqueEmail('big'), password: 'x'.repeat(1024 * 1024) });
  for (const [protocol, path] of [
    ['rest', '/api/v1/auth/login'],
    ['trpc', '/trpc/v1.auth.login'],
  ] as const) {
    for (const chunked of [false, true]) {
      const framing = chunked ? 'chunked, no Content-Length' : 'with Content-Length';
      securityCase('RESOURCE_CONSUMPTION', `a body over 1 MiB is 413 (${protocol}, ${framing})`, async () => {
        const res = await rawRequest(app.url, {
          method: 'POST',
          path,
          headers: { 'content-type': 'application/json' },
          body: bigBody,
          chunked,
        });
        expect(res.status).toBe(413);
        expect(res.body).toContain('PAYLOAD_TOO_LARGE');
      });
    }
  }

  for (const protocol of PROTOCOLS) {
    securityCase(
      'RESOURCE_CONSUMPTION',
      `login attempts past the limit are 429 with Retry-After (${protocol})`,
      async () => {
        const email = uniqueEmail('limited');
        const attempt = () => callApi(app.url, 'auth.login', { protocol, input: { email, password: newPassword() } });
        for (let i = 0; i < RATE_LIMIT_PER_EMAIL; i += 1) {
          expectError(await attempt(), { status: 401, code: 'INVALID_CREDENTIALS' });
        }
        const limited = await attempt();
        expectError(limited, { status: 429, code: 'RATE_LIMITED' });
        expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      },
    );
  }
});
