import createClient from 'openapi-fetch';
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest';
import { newPassword, uniqueEmail } from '../../../test/api-client.ts';
import type { components, paths } from '../../../test/openapi-types.ts';
import { insertProducts } from '../../../test/seed-products.ts';
import { startTestApp, type TestApp } from '../../../test/test-app.ts';

type Order = components['schemas']['Order'];

let app: TestApp;

beforeAll(async () => {
  app = await startTestApp();
});

afterAll(() => app.close());

/** A REST client that knows nothing but openapi.json: openapi-typescript's types driving openapi-fetch. */
function restClient(token?: string) {
  return createClient<paths>({
    baseUrl: `${app.url}/api`,
    headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
  });
}

describe('a REST client generated from openapi.json', () => {
  it('registers, logs in, has an order declined, and pays it with another card', async () => {
    const anonymous = restClient();
    const email = uniqueEmail('openapi.client');
    const password = newPassword();

    const registered = await anonymous.POST('/v1/auth/register', { body: { email, password, name: 'Grace Hopper' } });
    expect(registered.response.status).toBe(200);
    expect(registered.data?.user).toMatchObject({ email: email.toLowerCase(), role: 'customer' });

    const login = await anonymous.POST('/v1/auth/login', { body: { email, password } });
    if (!login.data) throw new Error(`login failed: ${JSON.stringify(login.error)}`);
    expect(login.data.tokenType).toBe('Bearer');
    const customer = restClient(login.data.accessToken);

    const [productId] = await insertProducts(app.database.db, [{ name: 'Enamel mug', price_amount: 1450, stock: 4 }]);
    if (productId === undefined) throw new Error('no product inserted');

    const declined = await customer.POST('/v1/orders/create', {
      params: { header: { 'idempotency-key': `openapi-client-${email}` } },
      body: { items: [{ productId, quantity: 2 }], paymentMethod: 'pm_card_chargeDeclined' },
    });
    expect(declined.response.status).toBe(402);
    // The error body is typed by the document: the Error envelope with the codes its statuses carry.
    expectTypeOf(declined.error?.code).toExtend<components['schemas']['Error']['code'] | undefined>();
    expect(declined.error).toMatchObject({
      code: 'PAYMENT_DECLINED',
      request_id: declined.response.headers.get('x-request-id'),
    });

    const listed = await customer.GET('/v2/orders', { params: { query: { limit: 1, status: 'payment_failed' } } });
    const failed = listed.data?.items[0];
    if (!failed) throw new Error(`the declined order is not listed: ${JSON.stringify(listed.error)}`);
    expect(failed).toMatchObject({ status: 'payment_failed', total: { amount: 2900, currency: 'EUR' } });

    const paid = await customer.POST('/v1/orders/{orderId}/pay', {
      params: { path: { orderId: failed.id } },
      body: { paymentMethod: 'pm_card_visa' },
    });
    expectTypeOf(paid.data).toEqualTypeOf<Order | undefined>();
    expect(paid.response.status).toBe(200);
    expect(paid.data).toMatchObject({ id: failed.id, status: 'paid', items: [{ productId, quantity: 2 }] });

    const payments = await customer.GET('/v1/orders/{orderId}/payments', { params: { path: { orderId: failed.id } } });
    expect(payments.data?.items.map((payment) => payment.status)).toEqual(['declined', 'succeeded']);

    const again = await customer.POST('/v1/orders/{orderId}/pay', {
      params: { path: { orderId: failed.id } },
      body: { paymentMethod: 'pm_card_visa' },
    });
    expect(again.response.status).toBe(409);
    expect(again.error?.code).toBe('INVALID_STATE_TRANSITION');
  });

  it('is refused without a token, with the challenge the document promises', async () => {
    const res = await restClient().GET('/v1/auth/me');
    expect(res.response.status).toBe(401);
    expect(res.error).toMatchObject({ code: 'UNAUTHORIZED', reason: 'Missing Header' });
    expect(res.response.headers.get('www-authenticate')).toBe('Bearer realm="orders-service"');
  });
});
