import type { CreateProductInput, ListProductsInput, Page, Product, UpdateProductInput } from '@orders/shared';
import type { Db } from '../core/db/database.ts';
import { AppError } from '../core/errors.ts';
import { newId } from '../core/ids.ts';
import { preparedQuery } from '../core/db/prepared-query.ts';
import type { ProductRow } from '../models/index.ts';
import { isUniqueViolation } from '../core/db/database-errors.ts';
import { containsPattern, countAsTotal, countedTotal, offsetPage } from './paging.ts';

const PRODUCT_COLUMNS = [
  'id',
  'sku',
  'name',
  'description',
  'price_amount',
  'currency',
  'stock',
  'active',
  'created_at',
  'updated_at',
] as const;

export function toProduct(row: ProductRow): Product {
  return {
    id: row.id,
    sku: row.sku,
    name: row.name,
    description: row.description,
    price: { amount: row.price_amount, currency: row.currency },
    stock: row.stock,
    active: row.active,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

export async function listProducts(
  db: Db,
  options: ListProductsInput & { includeInactive: boolean },
): Promise<Page<Product>> {
  let query = db.selectFrom('products');
  if (!options.includeInactive) query = query.where('active', '=', true);
  if (options.q !== undefined) {
    const pattern = containsPattern(options.q);
    query = query.where((eb) => eb.or([eb('name', 'ilike', pattern), eb('sku', 'ilike', pattern)]));
  }
  return offsetPage({
    // A deep page skips its offset in the index alone (index-only: `(created_at, id)`, for
    // active products a partial one), then reads the rows of that page only.
    rows: db
      .selectFrom('products')
      .select(PRODUCT_COLUMNS)
      .where(
        'id',
        'in',
        query
          .select('id')
          .orderBy('created_at', 'desc')
          .orderBy('id', 'desc')
          .limit(options.limit)
          .offset(options.offset),
      )
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .execute(),
    count:
      options.q === undefined
        ? countedTotal(db, options.includeInactive ? 'products' : 'products_active')
        : query.select(countAsTotal).executeTakeFirstOrThrow(),
    window: options,
    map: (rows) => rows.map(toProduct),
  });
}

/** `v1.products.get` runs on every product page view: compiled once. */
const productById = preparedQuery(
  (db, productId: string) => db.selectFrom('products').select(PRODUCT_COLUMNS).where('id', '=', productId),
  ':productId',
);

export async function getProduct(
  db: Db,
  { productId, includeInactive }: { productId: string; includeInactive: boolean },
): Promise<Product> {
  const [row] = await productById(db, productId);
  if (!row || (!row.active && !includeInactive)) {
    throw new AppError('PRODUCT_NOT_FOUND', `No product with id ${productId}`, { context: { product_id: productId } });
  }
  return toProduct(row);
}

export async function createProduct(db: Db, input: CreateProductInput): Promise<Product> {
  try {
    const row = await db
      .insertInto('products')
      .values({
        id: newId('prd'),
        sku: input.sku,
        name: input.name,
        description: input.description ?? null,
        price_amount: input.price.amount,
        currency: input.price.currency,
        stock: input.stock,
        active: input.active ?? true,
      })
      .returning(PRODUCT_COLUMNS)
      .executeTakeFirstOrThrow();
    return toProduct(row);
  } catch (error) {
    if (isUniqueViolation(error)) throw new AppError('SKU_TAKEN', `A product with SKU ${input.sku} exists already`);
    throw error;
  }
}

export async function updateProduct(db: Db, { productId, ...changes }: UpdateProductInput): Promise<Product> {
  try {
    const row = await db
      .updateTable('products')
      .set({
        ...(changes.sku === undefined ? {} : { sku: changes.sku }),
        ...(changes.name === undefined ? {} : { name: changes.name }),
        ...(changes.description === undefined ? {} : { description: changes.description }),
        ...(changes.price === undefined
          ? {}
          : { price_amount: changes.price.amount, currency: changes.price.currency }),
        ...(changes.stock === undefined ? {} : { stock: changes.stock }),
        ...(changes.active === undefined ? {} : { active: changes.active }),
        updated_at: new Date(),
      })
      .where('id', '=', productId)
      .returning(PRODUCT_COLUMNS)
      .executeTakeFirst();
    if (!row)
      throw new AppError('PRODUCT_NOT_FOUND', `No product with id ${productId}`, {
        context: { product_id: productId },
      });
    return toProduct(row);
  } catch (error) {
    if (isUniqueViolation(error)) throw new AppError('SKU_TAKEN', `A product with SKU ${changes.sku} exists already`);
    throw error;
  }
}
