import type { AuthSession } from '@orders/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertProducts } from '../../server/test/seed-products.ts';
import { startTestApp, type TestApp } from '../../server/test/test-app.ts';
import { createOrdersClient, isOrdersError } from './index.ts';

let app: TestApp;
let productId: string;

beforeAll(async () => {
  // Access tokens live one second here, so the test can watch one expire.
  app = await startTestApp({ ACCESS_TOKEN_TTL: '1' }, { logQueries: false });
  [productId = ''] = await insertProducts(app.database.db, [{ name: 'Client mug', sku: 'CLIENT-MUG', stock: 5 }]);
});
afterAll(() => app.close());

let expiredToken = '';
/** An access token of a real user that has expired by the time the tests run. */
beforeAll(async () => {
  const { client, session } = sessionClient();
  session.current = await client.v1.auth.register.mutate({
    email: 'expired@example.com',
    password: 'a long enough password',
    name: 'Old',
  });
  expiredToken = session.current.accessToken;
  await new Promise((resolve) => setTimeout(resolve, 1_200));
});

function sessionClient() {
  const session: { current?: AuthSession; refreshes: number } = { refreshes: 0 };
  const client = createOrdersClient({
    url: `${app.url}/trpc`,
    getAccessToken: () => session.current?.accessToken,
    refresh: {
      getRefreshToken: () => session.current?.refreshToken,
      onSession: (next) => {
        session.current = next;
        session.refreshes += 1;
      },
    },
  });
  return { client, session };
}

describe('createOrdersClient', () => {
  it('registers, logs in, lists, orders, sees a typed decline, pays, and refreshes an expired token transparently', async () => {
    const { client, session } = sessionClient();
    const registered = await client.v1.auth.register.mutate({
      email: 'client@example.com',
      password: 'a long enough password',
      name: 'Client',
    });
    expect(registered.user.email).toBe('client@example.com');
    session.current = await client.v1.auth.login.mutate({
      email: 'client@example.com',
      password: 'a long enough password',
    });

    const page = await client.v1.products.list.query({ q: 'client' });
    expect(page.items.map((product) => product.id)).toEqual([productId]);

    const declined = await client.v1.orders.create
      .mutate({ items: [{ productId, quantity: 2 }], paymentMethod: 'pm_card_chargeDeclinedInsufficientFunds' })
      .catch((error: unknown) => error);
    expect(isOrdersError(declined, 'PAYMENT_DECLINED')).toBe(true);
    if (!isOrdersError(declined, 'PAYMENT_DECLINED')) throw new Error('expected a decline');
    expect(declined.data.httpStatus).toBe(402);
    expect(declined.data.request_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(app.logs.forRequest(declined.data.request_id).some((line) => line.event === 'PaymentGatewayError')).toBe(
      true,
    );

    const [failed] = (await client.v2.orders.list.query({ limit: 1 })).items;
    expect(failed?.status).toBe('payment_failed');

    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const paid = await client.v1.orders.pay.mutate({ orderId: failed?.id ?? '', paymentMethod: 'pm_card_visa' });
    expect(paid.status).toBe('paid');
    // At least one: on a slow machine a one-second token can also expire between earlier calls.
    expect(session.refreshes).toBeGreaterThanOrEqual(1);
    expect(app.logs.events('auth_failure').some((line) => line.reason === 'Expired Token')).toBe(true);
  });

  it('exposes validation issues with the field that was wrong', async () => {
    const { client } = sessionClient();
    const error = await client.v1.products.list.query({ limit: 101 }).catch((caught: unknown) => caught);
    expect(isOrdersError(error, 'VALIDATION_FAILED')).toBe(true);
    if (!isOrdersError(error)) throw new Error('expected an API error');
    expect(error.data.issues?.[0]?.path).toBe('limit');
  });

  it('sends a fresh X-Request-Id with every request', async () => {
    const { client } = sessionClient();
    await client.v1.products.list.query({});
    await client.v1.products.list.query({});
    const ids = app.logs.events('http_request', { path: '/trpc/v1.products.list' }).map((line) => line.request_id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.length).toBeGreaterThanOrEqual(2);
  });

  it('sends the caller traceparent, when it has one, so the server continues its trace', async () => {
    const sent: (string | null)[] = [];
    let traceparent: string | undefined = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const client = createOrdersClient({
      url: `${app.url}/trpc`,
      getTraceparent: () => traceparent,
      fetch: (input, init) => {
        sent.push(new Headers(init?.headers).get('traceparent'));
        return globalThis.fetch(input, init);
      },
    });
    await client.v1.products.list.query({});
    traceparent = undefined;
    await client.v1.products.list.query({});
    expect(sent).toEqual(['00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', null]);
  });

  it('gives up after one refresh when the refresh token is no good', async () => {
    const client = createOrdersClient({
      url: `${app.url}/trpc`,
      getAccessToken: () => expiredToken,
      refresh: { getRefreshToken: () => 'not-a-token', onSession: () => undefined },
    });
    const error = await client.v1.auth.me.query({}).catch((caught: unknown) => caught);
    expect(isOrdersError(error, 'UNAUTHORIZED')).toBe(true);
  });
});
