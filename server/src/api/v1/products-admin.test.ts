import type { Page, Product } from '@orders/shared';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  PROTOCOLS,
  callApi,
  expectAuthFailureLogged,
  expectError,
  type ApiVersion,
  type Protocol,
} from '../../../test/api-client.ts';
import { useTestApp } from '../../../test/fixture.ts';
import { insertProducts } from '../../../test/seed-products.ts';

const {
  app,
  users: { admin, customer },
} = useTestApp({
  env: { RATE_LIMIT_PER_IP: '10000', RATE_LIMIT_PER_EMAIL: '10000' },
  users: { admin: 'admin', customer: 'customer' },
  afterTests: (fixture) => expect(fixture.secrets.size).toBeGreaterThan(5),
});
let mugId: string;
let hiddenId: string;

beforeAll(async () => {
  [mugId = '', hiddenId = ''] = await insertProducts(app.database.db, [
    { sku: 'MUG-BLUE', name: 'Blue mug', price_amount: 1290, stock: 7 },
    { sku: 'HIDDEN-1', name: 'Hidden thing', active: false },
  ]);
});

async function productRows() {
  return app.database.db
    .selectFrom('products')
    .select(['id', 'sku', 'name', 'description', 'price_amount', 'currency', 'stock', 'active', 'updated_at'])
    .orderBy('id')
    .execute();
}

async function productRow(productId: string) {
  return app.database.db
    .selectFrom('products')
    .select(['sku', 'name', 'description', 'price_amount', 'currency', 'stock', 'active'])
    .where('id', '=', productId)
    .executeTakeFirstOrThrow();
}

let skuCounter = 0;
const newSku = (prefix: string) => `${prefix}-${Date.now().toString(36).toUpperCase()}-${++skuCounter}`;

/** Who calls (the admin unless told) and under which API version (v1 unless told). */
interface Caller {
  token?: string;
  version?: ApiVersion;
}

const create = (
  protocol: Protocol,
  input: Record<string, unknown>,
  { token = admin.accessToken, version = 'v1' }: Caller = {},
) => callApi<Product>(app.url, 'products.create', { protocol, version, input, token });

const update = (
  protocol: Protocol,
  input: Record<string, unknown>,
  { token = admin.accessToken, version = 'v1' }: Caller = {},
) => callApi<Product>(app.url, 'products.update', { protocol, version, input, token });

describe('only admins change the catalogue', () => {
  for (const version of ['v1', 'v2'] as const) {
    for (const protocol of PROTOCOLS) {
      it(`${version}.products.create and update refuse a customer with 403 Insufficient Role (${protocol})`, async () => {
        const before = await productRows();
        const created = await create(
          protocol,
          { sku: newSku('NOPE'), name: 'Nope', price: { amount: 100, currency: 'EUR' }, stock: 1 },
          { token: customer.accessToken, version },
        );
        expectError(created, { status: 403, code: 'FORBIDDEN', reason: 'Insufficient Role' });
        await expectAuthFailureLogged(app.logs, created, 'Insufficient Role');

        const updated = await update(
          protocol,
          { productId: mugId, price: { amount: 1, currency: 'EUR' } },
          { token: customer.accessToken, version },
        );
        expectError(updated, { status: 403, code: 'FORBIDDEN', reason: 'Insufficient Role' });
        await expectAuthFailureLogged(app.logs, updated, 'Insufficient Role');
        expect(await productRows()).toEqual(before);
      });
    }
  }

  it('refuses a caller without a token: 401 Missing Header (an empty bearer: Malformed Header)', async () => {
    const res = await create(
      'rest',
      { sku: newSku('ANON'), name: 'Anon', price: { amount: 100, currency: 'EUR' }, stock: 1 },
      { token: '' },
    );
    // An empty bearer is a malformed header; no header at all is a missing one.
    expectError(res, { status: 401, code: 'UNAUTHORIZED', reason: 'Malformed Header' });
    const bare = await fetch(`${app.url}/api/v1/products`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ sku: newSku('ANON'), name: 'Anon', price: { amount: 100, currency: 'EUR' }, stock: 1 }),
    });
    expect(bare.status).toBe(401);
    expect(await bare.json()).toMatchObject({ code: 'UNAUTHORIZED', reason: 'Missing Header' });
  });
});

describe('admins create and update products', () => {
  for (const version of ['v1', 'v2'] as const) {
    for (const protocol of PROTOCOLS) {
      it(`${version}.products.create answers 200 with the product and stores it (${protocol})`, async () => {
        const sku = newSku('LAMP');
        const res = await create(
          protocol,
          { sku, name: '  Desk lamp ', description: 'Warm light', price: { amount: 4999, currency: 'USD' }, stock: 3 },
          { version },
        );
        // trpc-to-openapi answers every success with 200, creation included.
        expect(res.status).toBe(200);
        expect(res.data).toMatchObject({
          sku,
          name: 'Desk lamp',
          description: 'Warm light',
          price: { amount: 4999, currency: 'USD' },
          stock: 3,
          active: true,
        });
        expect(res.data.id).toMatch(/^prd_/);
        expect(await productRow(res.data.id)).toEqual({
          sku,
          name: 'Desk lamp',
          description: 'Warm light',
          price_amount: 4999,
          currency: 'USD',
          stock: 3,
          active: true,
        });
        const anonymous = await callApi<Product>(app.url, 'products.get', {
          protocol,
          version,
          input: { productId: res.data.id },
        });
        expect(anonymous.data).toEqual(res.data);
      });
    }
  }

  for (const protocol of PROTOCOLS) {
    it(`update changes only the fields given (${protocol})`, async () => {
      const created = await create(protocol, {
        sku: newSku('CUP'),
        name: 'Cup',
        price: { amount: 500, currency: 'EUR' },
        stock: 10,
      });
      const res = await update(protocol, {
        productId: created.data.id,
        price: { amount: 450, currency: 'EUR' },
        stock: 4,
      });
      expect(res.status).toBe(200);
      expect(res.data).toMatchObject({
        id: created.data.id,
        name: 'Cup',
        price: { amount: 450, currency: 'EUR' },
        stock: 4,
        active: true,
      });
      expect(Date.parse(res.data.updatedAt)).toBeGreaterThanOrEqual(Date.parse(created.data.updatedAt));
      expect(await productRow(created.data.id)).toMatchObject({
        name: 'Cup',
        price_amount: 450,
        stock: 4,
        active: true,
      });
    });
  }

  it('PATCH /api/v1/products/{productId} takes the id from the path', async () => {
    const res = await fetch(`${app.url}/api/v1/products/${mugId}`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${admin.accessToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Blue mug, large' }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      id: mugId,
      sku: 'MUG-BLUE',
      name: 'Blue mug, large',
      price: { amount: 1290, currency: 'EUR' },
    });
    expect((await productRow(mugId)).name).toBe('Blue mug, large');
  });

  it('answers 404 PRODUCT_NOT_FOUND when updating an unknown product', async () => {
    const res = await update('rest', { productId: 'prd_NOSUCHTHING', stock: 1 });
    expectError(res, { status: 404, code: 'PRODUCT_NOT_FOUND' });
  });

  for (const protocol of PROTOCOLS) {
    it(`SKU_TAKEN: 409 for a duplicate SKU on create and on update, nothing changed (${protocol})`, async () => {
      const taken = await create(protocol, {
        sku: newSku('DUP'),
        name: 'Original',
        price: { amount: 100, currency: 'EUR' },
        stock: 1,
      });
      expect(taken.status).toBe(200);
      const other = await create(protocol, {
        sku: newSku('OTHER'),
        name: 'Other',
        price: { amount: 100, currency: 'EUR' },
        stock: 1,
      });
      const before = await productRows();

      const duplicate = await create(protocol, {
        sku: taken.data.sku,
        name: 'Copy',
        price: { amount: 200, currency: 'EUR' },
        stock: 2,
      });
      const envelope = expectError(duplicate, { status: 409, code: 'SKU_TAKEN' });
      expect(envelope.message).toContain(taken.data.sku);

      const renamed = await update(protocol, { productId: other.data.id, sku: taken.data.sku });
      expectError(renamed, { status: 409, code: 'SKU_TAKEN' });
      expect(await productRows()).toEqual(before);
    });
  }
});

describe('inactive products', () => {
  for (const protocol of PROTOCOLS) {
    it(`are listed and found for admins (${protocol})`, async () => {
      const list = await callApi<Page<Product>>(app.url, 'products.list', {
        protocol,
        input: { limit: 100 },
        token: admin.accessToken,
      });
      expect(list.status).toBe(200);
      expect(list.data.items.map((product) => product.id)).toContain(hiddenId);
      const get = await callApi<Product>(app.url, 'products.get', {
        protocol,
        input: { productId: hiddenId },
        token: admin.accessToken,
      });
      expect(get.status).toBe(200);
      expect(get.data).toMatchObject({ id: hiddenId, sku: 'HIDDEN-1', active: false });
    });

    for (const viewer of ['anonymous', 'customer'] as const) {
      it(`are 404 and unlisted for ${viewer} callers (${protocol})`, async () => {
        const token = viewer === 'customer' ? customer.accessToken : undefined;
        const list = await callApi<Page<Product>>(app.url, 'products.list', {
          protocol,
          input: { limit: 100 },
          ...(token ? { token } : {}),
        });
        expect(list.status).toBe(200);
        expect(list.data.items.map((product) => product.id)).not.toContain(hiddenId);
        expect(list.data.items.every((product) => product.active)).toBe(true);
        const get = await callApi(app.url, 'products.get', {
          protocol,
          input: { productId: hiddenId },
          ...(token ? { token } : {}),
        });
        expectError(get, { status: 404, code: 'PRODUCT_NOT_FOUND' });
      });
    }
  }

  it('deactivating a product hides it from customers at once; reactivating shows it again', async () => {
    const created = await create('rest', {
      sku: newSku('SEASONAL'),
      name: 'Seasonal',
      price: { amount: 900, currency: 'EUR' },
      stock: 5,
      active: false,
    });
    expect(created.data.active).toBe(false);
    const hidden = await callApi(app.url, 'products.get', {
      protocol: 'rest',
      input: { productId: created.data.id },
      token: customer.accessToken,
    });
    expectError(hidden, { status: 404, code: 'PRODUCT_NOT_FOUND' });

    expect((await update('trpc', { productId: created.data.id, active: true })).data.active).toBe(true);
    const shown = await callApi<Product>(app.url, 'products.get', {
      protocol: 'trpc',
      input: { productId: created.data.id },
      token: customer.accessToken,
    });
    expect(shown.status).toBe(200);

    expect((await update('rest', { productId: created.data.id, active: false })).data.active).toBe(false);
    const gone = await callApi(app.url, 'products.get', { protocol: 'trpc', input: { productId: created.data.id } });
    expectError(gone, { status: 404, code: 'PRODUCT_NOT_FOUND' });
  });
});

describe('bad input is 400 VALIDATION_FAILED and changes nothing', () => {
  const valid = () => ({ sku: newSku('GOOD'), name: 'Good', price: { amount: 100, currency: 'EUR' }, stock: 1 });
  const cases: { name: string; change: Record<string, unknown>; path: string }[] = [
    { name: 'a negative price', change: { price: { amount: -1, currency: 'EUR' } }, path: 'price.amount' },
    { name: 'a fractional price', change: { price: { amount: 9.99, currency: 'EUR' } }, path: 'price.amount' },
    { name: 'a lowercase currency', change: { price: { amount: 100, currency: 'eur' } }, path: 'price.currency' },
    { name: 'a negative stock', change: { stock: -5 }, path: 'stock' },
    { name: 'a lowercase SKU', change: { sku: 'mug-1' }, path: 'sku' },
    { name: 'an unknown key', change: { featured: true }, path: '' },
    {
      name: 'an unknown key inside price',
      change: { price: { amount: 100, currency: 'EUR', tax: 20 } },
      path: 'price',
    },
    { name: 'a number sent as a string', change: { stock: '5' }, path: 'stock' },
    { name: 'a boolean sent as a string', change: { active: 'false' }, path: 'active' },
    { name: 'an amount sent as a string', change: { price: { amount: '100', currency: 'EUR' } }, path: 'price.amount' },
  ];

  for (const protocol of PROTOCOLS) {
    it.each(cases)(`create with $name (${protocol})`, async ({ change, path }) => {
      const before = await productRows();
      const res = await create(protocol, { ...valid(), ...change });
      const envelope = expectError(res, { status: 400, code: 'VALIDATION_FAILED' });
      expect(envelope.issues?.map((issue) => issue.path)).toEqual([path]);
      expect(await productRows()).toEqual(before);
    });

    it.each(cases.filter((entry) => entry.name !== 'a lowercase SKU'))(
      `update with $name (${protocol})`,
      async ({ change, path }) => {
        const before = await productRows();
        const res = await update(protocol, { productId: mugId, ...change });
        const envelope = expectError(res, { status: 400, code: 'VALIDATION_FAILED' });
        expect(envelope.issues?.map((issue) => issue.path)).toEqual([path]);
        expect(await productRows()).toEqual(before);
      },
    );
  }

  for (const protocol of PROTOCOLS) {
    it(`a customer with bad input is refused for the role before the input is looked at (${protocol})`, async () => {
      const before = await productRows();
      const res = await create(
        protocol,
        { ...valid(), price: { amount: -1, currency: 'eur' } },
        { token: customer.accessToken },
      );
      const envelope = expectError(res, { status: 403, code: 'FORBIDDEN', reason: 'Insufficient Role' });
      expect(envelope).not.toHaveProperty('issues');
      expect(await productRows()).toEqual(before);
    });
  }
});
