import { beforeAll, describe, expect, it } from 'vitest';
import { useTestApp } from '../../../test/fixture.ts';
import { insertProducts } from '../../../test/seed-products.ts';
import { refusalOf, testCaller } from '../../../test/test-context.ts';

/*
 * What the catalogue answers is checked through `createCaller` (`testCaller`): the real
 * procedures, context and database, without HTTP. What only HTTP shows (status codes, the
 * error envelope, REST paths, tRPC's input encoding, versions) is checked over HTTP.
 */

const { app } = useTestApp();
let mugId: string;
let hiddenId: string;

beforeAll(async () => {
  [mugId = '', , hiddenId = ''] = await insertProducts(app.database.db, [
    { name: 'Blue mug', sku: 'MUG-BLUE', price_amount: 1290, stock: 7 },
    { name: 'Green cap', sku: 'CAP-GREEN' },
    { name: 'Hidden', sku: 'HIDDEN-1', active: false },
  ]);
});

/** The products procedures as an anonymous shopper calls them. */
const shopper = () => testCaller(app).v1.products;

const trpcGet = (path: string, input?: unknown) =>
  fetch(`${app.url}/trpc/${path}${input === undefined ? '' : `?input=${encodeURIComponent(JSON.stringify(input))}`}`);

describe('v1.products.list', () => {
  it('lists active products, with paging fields', async () => {
    const page = await shopper().list({ limit: 10 });
    expect(page.total).toBe(2);
    expect(page.limit).toBe(10);
    expect(page.offset).toBe(0);
    expect(page.items.map((item) => item.sku).sort()).toEqual(['CAP-GREEN', 'MUG-BLUE']);
  });

  it('lists the same page over tRPC, with no input at all', async () => {
    const res = await trpcGet('v1.products.list');
    expect(res.status).toBe(200);
    const body = (await res.json()) as { result: { data: { total: number } } };
    expect(body.result.data.total).toBe(2);
  });

  it('searches name and sku case-insensitively, and treats % literally', async () => {
    const found = await shopper().list({ q: 'mug' });
    expect(found.items.map((item) => item.sku)).toEqual(['MUG-BLUE']);
    const none = await shopper().list({ q: '%' });
    expect(none.total).toBe(0);
  });

  it('lists over REST with its query string', async () => {
    const res = await fetch(`${app.url}/api/v1/products?limit=10&q=cap`);
    expect(res.status).toBe(200);
    const page = (await res.json()) as { items: { sku: string }[]; total: number; limit: number; offset: number };
    expect(page).toMatchObject({ total: 1, limit: 10, offset: 0 });
    expect(page.items.map((item) => item.sku)).toEqual(['CAP-GREEN']);
  });

  it('is served under v2 as well', async () => {
    const rest = await fetch(`${app.url}/api/v2/products`);
    expect(rest.status).toBe(200);
    const rpc = await trpcGet('v2.products.list', { limit: 1 });
    expect(((await rpc.json()) as { result: { data: { items: unknown[] } } }).result.data.items).toHaveLength(1);
  });
});

describe('v1.products.get', () => {
  it('returns one product with money as integer minor units', async () => {
    expect(await shopper().get({ productId: mugId })).toMatchObject({
      id: mugId,
      sku: 'MUG-BLUE',
      price: { amount: 1290, currency: 'EUR' },
      stock: 7,
      active: true,
    });
  });

  it.each([
    ['an unknown product', () => 'prd_UNKNOWN'],
    ['an inactive one', () => hiddenId],
  ])('does not find %s: PRODUCT_NOT_FOUND (404)', async (_, productId) => {
    const id = productId();
    const refusal = await refusalOf(shopper().get({ productId: id }));
    expect(refusal).toMatchObject({ code: 'PRODUCT_NOT_FOUND', status: 404, message: `No product with id ${id}` });
  });

  it('answers the same product over REST and tRPC', async () => {
    const rest = await fetch(`${app.url}/api/v1/products/${mugId}`);
    expect(rest.status).toBe(200);
    const product = (await rest.json()) as Record<string, unknown>;
    expect(product).toMatchObject({ id: mugId, sku: 'MUG-BLUE', price: { amount: 1290, currency: 'EUR' }, stock: 7 });
    const rpc = (await (await trpcGet('v1.products.get', { productId: mugId })).json()) as {
      result: { data: unknown };
    };
    expect(rpc.result.data).toEqual(product);
  });

  it('answers 404 PRODUCT_NOT_FOUND in the error envelope, on both protocols', async () => {
    const rest = await fetch(`${app.url}/api/v1/products/prd_UNKNOWN`);
    expect(rest.status).toBe(404);
    const body = (await rest.json()) as Record<string, unknown>;
    expect(body).toEqual({
      code: 'PRODUCT_NOT_FOUND',
      message: 'No product with id prd_UNKNOWN',
      request_id: rest.headers.get('x-request-id'),
    });
    const rpc = await trpcGet('v1.products.get', { productId: 'prd_UNKNOWN' });
    expect(rpc.status).toBe(404);
    const rpcBody = (await rpc.json()) as { error: { data: Record<string, unknown> } };
    expect(rpcBody.error.data).toMatchObject({
      code: 'PRODUCT_NOT_FOUND',
      request_id: rpc.headers.get('x-request-id'),
    });
  });

  it('rejects a malformed id with 400 VALIDATION_FAILED naming the field', async () => {
    const rest = await fetch(`${app.url}/api/v1/products/not-an-id`);
    expect(rest.status).toBe(400);
    const body = (await rest.json()) as { code: string; issues: { path: string; message: string }[] };
    expect(body.code).toBe('VALIDATION_FAILED');
    expect(body.issues[0]?.path).toBe('productId');
  });
});
