import type { Db } from '../core/db.ts';
import { newId } from '../core/ids.ts';
import type { NewProductRow } from '../models/index.ts';

const DEMO_PRODUCTS: Omit<NewProductRow, 'id'>[] = [
  { sku: 'MUG-001', name: 'Ceramic mug', description: 'Stoneware, 350 ml, dishwasher safe.', price_amount: 1290, currency: 'EUR', stock: 120 },
  { sku: 'TEE-BLK-M', name: 'T-shirt, black, M', description: 'Organic cotton.', price_amount: 2490, currency: 'EUR', stock: 60 },
  { sku: 'TEE-WHT-L', name: 'T-shirt, white, L', description: 'Organic cotton.', price_amount: 2490, currency: 'EUR', stock: 45 },
  { sku: 'BOOK-TS', name: 'Typed services, the book', description: 'Designing APIs that cannot lie.', price_amount: 3900, currency: 'EUR', stock: 25 },
  { sku: 'STICKER-5', name: 'Sticker pack', description: 'Five vinyl stickers.', price_amount: 450, currency: 'EUR', stock: 500 },
  { sku: 'CAP-NAVY', name: 'Cap, navy', description: null, price_amount: 1990, currency: 'EUR', stock: 3 },
  { sku: 'BOTTLE-750', name: 'Steel bottle, 750 ml', description: 'Keeps drinks cold for 24 h.', price_amount: 2990, currency: 'EUR', stock: 0 },
];

/** Inserts the demo catalogue; safe to run again (existing SKUs are left as they are). */
export async function seedDemoProducts(db: Db): Promise<number> {
  const result = await db
    .insertInto('products')
    .values(DEMO_PRODUCTS.map((product) => ({ ...product, id: newId('prd') })))
    .onConflict((conflict) => conflict.column('sku').doNothing())
    .executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0);
}
