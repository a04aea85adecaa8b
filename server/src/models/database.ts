import type { ProductsTable } from './products.ts';

/** Every table Kysely may query, by name. */
export interface Database {
  products: ProductsTable;
}
