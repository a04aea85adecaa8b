import type { Product } from '@orders/shared';
import { beforeAll, describe, expect, it } from 'vitest';
import { PROTOCOLS, callApi, expectError, type ApiVersion, type Protocol } from '../../../test/api-client.ts';
import { useTestApp } from '../../../test/fixture.ts';
import { waitForLines } from '../../../test/http-client.ts';
import { insertProducts } from '../../../test/seed-products.ts';
import { refusalOf, testCaller } from '../../../test/test-context.ts';

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

/*
 * What the catalogue does for whom is checked through `createCaller` (`productsAs`): the real
 * procedures, context and database, without HTTP. What only HTTP shows (REST paths and status
 * codes, the error envelope, validation issues on both protocols) is checked over HTTP.
 */

/** The products procedures of `version` (v1 unless told) as `who` calls them, without HTTP. */
function productsAs(who: 'admin' | 'customer' | 'anonymous', version: ApiVersion = 'v1') {
  const tokens = { admin: admin.accessToken, customer: customer.accessToken, anonymous: undefined };
  return testCaller(app, { token: tokens[who] })[version].products;
}

/** Who calls over HTTP (the admin unless told) and under which API version (v1 unless told). */
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
    it(`${version}.products.create and update refuse a customer with 403 Insufficient Role, logged`, async () => {
      const before = await productRows();
      const failures = app.logs.events('auth_failure', { reason: 'Insufficient Role' }).length;
      const products = productsAs('customer', version);

      const created = await refusalOf(
        products.create({ sku: newSku('NOPE'), name: 'Nope', price: { amount: 100, currency: 'EUR' }, stock: 1 }),
      );
      expect(created).toMatchObject({ code: 'FORBIDDEN', status: 403, reason: 'Insufficient Role' });
      const updated = await refusalOf(products.update({ productId: mugId, price: { amount: 1, currency: 'EUR' } }));
      expect(updated).toMatchObject({ code: 'FORBIDDEN', status: 403, reason: 'Insufficient Role' });

      await waitForLines(app.logs, {
        event: 'auth_failure',
        filter: { reason: 'Insufficient Role', level: 'WARN' },
        count: failures + 2,
      });
      expect(await productRows()).toEqual(before);
    });
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
    it(`${version}.products.create answers the product and stores it`, async () => {
      const sku = newSku('LAMP');
      const product = await productsAs('admin', version).create({
        sku,
        name: '  Desk lamp ',
        description: 'Warm light',
        price: { amount: 4999, currency: 'USD' },
        stock: 3,
      });
      expect(product).toMatchObject({
        sku,
        name: 'Desk lamp',
        description: 'Warm light',
        price: { amount: 4999, currency: 'USD' },
        stock: 3,
        active: true,
      });
      expect(product.id).toMatch(/^prd_/);
      expect(await productRow(product.id)).toEqual({
        sku,
        name: 'Desk lamp',
        description: 'Warm light',
        price_amount: 4999,
        currency: 'USD',
        stock: 3,
        active: true,
      });
      expect(await productsAs('anonymous', version).get({ productId: product.id })).toEqual(product);
    });
  }

  it('update changes only the fields given', async () => {
    const products = productsAs('admin');
    const created = await products.create({
      sku: newSku('CUP'),
      name: 'Cup',
      price: { amount: 500, currency: 'EUR' },
      stock: 10,
    });
    const updated = await products.update({
      productId: created.id,
      price: { amount: 450, currency: 'EUR' },
      stock: 4,
    });
    expect(updated).toMatchObject({
      id: created.id,
      name: 'Cup',
      price: { amount: 450, currency: 'EUR' },
      stock: 4,
      active: true,
    });
    expect(Date.parse(updated.updatedAt)).toBeGreaterThanOrEqual(Date.parse(created.updatedAt));
    expect(await productRow(created.id)).toMatchObject({
      name: 'Cup',
      price_amount: 450,
      stock: 4,
      active: true,
    });
  });

  for (const protocol of PROTOCOLS) {
    it(`create answers 200 with the product over ${protocol}`, async () => {
      const sku = newSku('RUG');
      const res = await create(protocol, { sku, name: 'Rug', price: { amount: 2500, currency: 'EUR' }, stock: 2 });
      // trpc-to-openapi answers every success with 200, creation included.
      expect(res.status).toBe(200);
      expect(res.data).toMatchObject({ sku, name: 'Rug', price: { amount: 2500, currency: 'EUR' }, stock: 2 });
      expect(await productRow(res.data.id)).toMatchObject({ sku, price_amount: 2500 });
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

  it('refuses to update an unknown product: PRODUCT_NOT_FOUND (404)', async () => {
    const refusal = await refusalOf(productsAs('admin').update({ productId: 'prd_NOSUCHTHING', stock: 1 }));
    expect(refusal).toMatchObject({ code: 'PRODUCT_NOT_FOUND', status: 404 });
  });

  it('SKU_TAKEN (409) for a duplicate SKU on create and on update, nothing changed', async () => {
    const products = productsAs('admin');
    const taken = await products.create({
      sku: newSku('DUP'),
      name: 'Original',
      price: { amount: 100, currency: 'EUR' },
      stock: 1,
    });
    const other = await products.create({
      sku: newSku('OTHER'),
      name: 'Other',
      price: { amount: 100, currency: 'EUR' },
      stock: 1,
    });
    const before = await productRows();

    const duplicate = await refusalOf(
      products.create({ sku: taken.sku, name: 'Copy', price: { amount: 200, currency: 'EUR' }, stock: 2 }),
    );
    expect(duplicate).toMatchObject({ code: 'SKU_TAKEN', status: 409 });
    expect(duplicate.message).toContain(taken.sku);

    const renamed = await refusalOf(products.update({ productId: other.id, sku: taken.sku }));
    expect(renamed).toMatchObject({ code: 'SKU_TAKEN', status: 409 });
    expect(await productRows()).toEqual(before);
  });
});

describe('inactive products', () => {
  it('are listed and found for admins', async () => {
    const page = await productsAs('admin').list({ limit: 100 });
    expect(page.items.map((product) => product.id)).toContain(hiddenId);
    expect(await productsAs('admin').get({ productId: hiddenId })).toMatchObject({
      id: hiddenId,
      sku: 'HIDDEN-1',
      active: false,
    });
  });

  it.each(['anonymous', 'customer'] as const)('are not found and unlisted for %s callers', async (viewer) => {
    const page = await productsAs(viewer).list({ limit: 100 });
    expect(page.items.map((product) => product.id)).not.toContain(hiddenId);
    expect(page.items.every((product) => product.active)).toBe(true);
    const refusal = await refusalOf(productsAs(viewer).get({ productId: hiddenId }));
    expect(refusal).toMatchObject({ code: 'PRODUCT_NOT_FOUND', status: 404 });
  });

  it('deactivating a product hides it from customers at once; reactivating shows it again', async () => {
    const products = productsAs('admin');
    const created = await products.create({
      sku: newSku('SEASONAL'),
      name: 'Seasonal',
      price: { amount: 900, currency: 'EUR' },
      stock: 5,
      active: false,
    });
    expect(created.active).toBe(false);
    const hidden = await refusalOf(productsAs('customer').get({ productId: created.id }));
    expect(hidden).toMatchObject({ code: 'PRODUCT_NOT_FOUND' });

    expect((await products.update({ productId: created.id, active: true })).active).toBe(true);
    expect(await productsAs('customer').get({ productId: created.id })).toMatchObject({ id: created.id });

    expect((await products.update({ productId: created.id, active: false })).active).toBe(false);
    const gone = await refusalOf(productsAs('anonymous').get({ productId: created.id }));
    expect(gone).toMatchObject({ code: 'PRODUCT_NOT_FOUND' });
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
