import { readFileSync } from 'node:fs';
import type { OpenAPIObject } from 'trpc-to-openapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROTOCOLS, SecretLedger, expectError, registerUser, type TestUser } from '../../test/api-client.ts';
import {
  countRows,
  createOrder,
  orderIdsOf,
  orderRowOf,
  orderTableCounts,
  payOrder,
  stockOf,
} from '../../test/orders-api.ts';
import { insertProducts } from '../../test/seed-products.ts';
import { startTestApp, type TestApp } from '../../test/test-app.ts';

/**
 * The Idempotency-Key header's rule is the one the OpenAPI document shows: a value its pattern
 * refuses is 400 INVALID_IDEMPOTENCY_KEY on both protocols and changes nothing, and a value it
 * accepts is taken.
 */
const committed = JSON.parse(readFileSync(new URL('../../../openapi.json', import.meta.url), 'utf8')) as OpenAPIObject;

interface Parameter {
  in: string;
  name: string;
  schema?: { pattern?: string };
}

/** The `idempotency-key` header parameter of every operation that documents one, by operation id. */
function documentedHeaders(): Map<string, Parameter> {
  const headers = new Map<string, Parameter>();
  for (const item of Object.values(committed.paths ?? {})) {
    for (const operation of [item.get, item.post, item.put, item.patch, item.delete]) {
      const header = (operation?.parameters as Parameter[] | undefined)?.find(
        (parameter) => parameter.in === 'header' && parameter.name === 'idempotency-key',
      );
      if (operation && header) headers.set(operation.operationId ?? '', header);
    }
  }
  return headers;
}

function documentedPattern(): RegExp {
  const patterns = [...documentedHeaders().values()].map((header) => header.schema?.pattern);
  expect(new Set(patterns).size).toBe(1);
  const [pattern] = patterns;
  if (pattern === undefined) throw new Error('the Idempotency-Key header is documented without a pattern');
  return new RegExp(pattern);
}

const REFUSED = {
  empty: '',
  '256 characters': 'k'.repeat(256),
  'a space': 'my key',
  'a tab': 'my\tkey',
  'a Latin-1 letter': 'caf\u00e9-checkout',
};
const ACCEPTED = {
  'one character': '!',
  '255 characters': 'checkout-'.padEnd(255, '~'),
};

let app: TestApp;
const secrets = new SecretLedger();
let alice: TestUser;

beforeAll(async () => {
  app = await startTestApp({ RATE_LIMIT_PER_IP: '10000' });
  alice = await registerUser(app, { secrets, label: 'alice' });
});

afterAll(async () => {
  try {
    await app.logger.flush();
    secrets.expectNoneIn(app.logs.text);
  } finally {
    await app.close();
  }
});

async function product(stock: number): Promise<string> {
  const [id] = await insertProducts(app.database.db, [{ stock }]);
  if (id === undefined) throw new Error('no product inserted');
  return id;
}

describe('the Idempotency-Key header', () => {
  it('is documented on orders.create and orders.pay of both versions, with one pattern', () => {
    expect([...documentedHeaders().keys()].sort()).toEqual([
      'v1.orders.create',
      'v1.orders.pay',
      'v2.orders.create',
      'v2.orders.pay',
    ]);
    const pattern = documentedPattern();
    for (const value of Object.values(REFUSED)) expect(pattern.test(value), JSON.stringify(value)).toBe(false);
    for (const value of Object.values(ACCEPTED)) expect(pattern.test(value), value).toBe(true);
  });

  describe.each(PROTOCOLS)('over %s', (protocol) => {
    it.each(Object.entries(REFUSED))(
      'refuses a key the documented pattern refuses (%s) with 400 on create and pay, changing nothing',
      async (_label, key) => {
        expect(documentedPattern().test(key)).toBe(false);
        const productId = await product(5);
        const declined = await createOrder(app, {
          protocol,
          token: alice.accessToken,
          items: [{ productId, quantity: 1 }],
          paymentMethod: 'pm_card_chargeDeclined',
        });
        expectError(declined, { status: 402, code: 'PAYMENT_DECLINED' });
        const [orderId = ''] = await orderIdsOf(app, alice.id);
        const before = await orderTableCounts(app);
        const keysBefore = await countRows(app, 'idempotency_keys');

        const created = await createOrder(app, {
          protocol,
          token: alice.accessToken,
          items: [{ productId, quantity: 1 }],
          headers: { 'Idempotency-Key': key },
        });
        const paid = await payOrder(app, {
          protocol,
          token: alice.accessToken,
          orderId,
          headers: { 'Idempotency-Key': key },
        });
        for (const res of [created, paid]) {
          const envelope = expectError(res, { status: 400, code: 'INVALID_IDEMPOTENCY_KEY' });
          expect(envelope.message).toBe('Idempotency-Key must be 1 to 255 visible ASCII characters');
        }
        expect(await orderTableCounts(app)).toEqual(before);
        expect(await countRows(app, 'idempotency_keys')).toBe(keysBefore);
        expect((await orderRowOf(app, orderId))?.status).toBe('payment_failed');
        expect(await stockOf(app, productId)).toBe(5);
      },
    );

    it.each(Object.entries(ACCEPTED))('takes a key the documented pattern accepts (%s)', async (_label, key) => {
      expect(documentedPattern().test(key)).toBe(true);
      // Keys are per user: a user of its own, so that no call replays another test's.
      const user = await registerUser(app, { secrets, label: protocol });
      const productId = await product(5);
      const res = await createOrder(app, {
        protocol,
        token: user.accessToken,
        items: [{ productId, quantity: 1 }],
        headers: { 'Idempotency-Key': key },
      });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(await stockOf(app, productId)).toBe(4);
    });
  });
});
