import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertProducts } from '../../../test/seed-products.ts';
import { startTestApp, type TestApp } from '../../../test/test-app.ts';

let app: TestApp;
let mugId: string;

beforeAll(async () => {
  app = await startTestApp();
  const ids = await insertProducts(app.database.db, [
    { name: 'Blue mug', sku: 'MUG-BLUE', price_amount: 1290, stock: 7 },
    { name: 'Green cap', sku: 'CAP-GREEN' },
    { name: 'Hidden', sku: 'HIDDEN-1', active: false },
  ]);
  mugId = ids[0] ?? '';
});
afterAll(() => app.close());

const trpcGet = (path: string, input?: unknown) =>
  fetch(`${app.url}/trpc/${path}${input === undefined ? '' : `?input=${encodeURIComponent(JSON.stringify(input))}`}`);

describe('v1.products.list', () => {
  it('lists active products over REST, newest first, with paging fields', async () => {
    const res = await fetch(`${app.url}/api/v1/products?limit=10`);
    expect(res.status).toBe(200);
    const page = (await res.json()) as { items: { sku: string }[]; total: number; limit: number; offset: number };
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
    const found = (await (await fetch(`${app.url}/api/v1/products?q=mug`)).json()) as { items: { sku: string }[] };
    expect(found.items.map((item) => item.sku)).toEqual(['MUG-BLUE']);
    const none = (await (await fetch(`${app.url}/api/v1/products?q=%25`)).json()) as { total: number };
    expect(none.total).toBe(0);
  });

  it('is served under v2 as well', async () => {
    const rest = await fetch(`${app.url}/api/v2/products`);
    expect(rest.status).toBe(200);
    const rpc = await trpcGet('v2.products.list', { limit: 1 });
    expect(((await rpc.json()) as { result: { data: { items: unknown[] } } }).result.data.items).toHaveLength(1);
  });
});

describe('v1.products.get', () => {
  it('returns one product with money as integer minor units over both protocols', async () => {
    const rest = await fetch(`${app.url}/api/v1/products/${mugId}`);
    expect(rest.status).toBe(200);
    const product = (await rest.json()) as Record<string, unknown>;
    expect(product).toMatchObject({ id: mugId, sku: 'MUG-BLUE', price: { amount: 1290, currency: 'EUR' }, stock: 7 });
    const rpc = (await (await trpcGet('v1.products.get', { productId: mugId })).json()) as {
      result: { data: unknown };
    };
    expect(rpc.result.data).toEqual(product);
  });

  it('answers 404 PRODUCT_NOT_FOUND for an unknown or inactive product, on both protocols', async () => {
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
