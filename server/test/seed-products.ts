import type { Db } from '../src/core/db/database.ts';
import { newId } from '../src/core/ids.ts';
import type { NewProductRow } from '../src/models/index.ts';

/** Inserts products for a test and returns their rows' ids in insertion order. */
export async function insertProducts(db: Db, products: Partial<NewProductRow>[]): Promise<string[]> {
  const rows = products.map((product, index) => ({
    id: newId('prd'),
    sku: `SKU-${index}-${Math.random().toString(36).slice(2, 8)}`,
    name: `Product ${index}`,
    description: null,
    price_amount: 1000 + index,
    currency: 'EUR',
    stock: 10,
    ...product,
  }));
  await db.insertInto('products').values(rows).execute();
  return rows.map((row) => row.id);
}
