import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';

export interface ProductsTable {
  id: string;
  sku: string;
  name: string;
  description: string | null;
  price_amount: number;
  currency: string;
  stock: number;
  active: Generated<boolean>;
  created_at: ColumnType<Date, Date | string | undefined, never>;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

export type ProductRow = Selectable<ProductsTable>;
export type NewProductRow = Insertable<ProductsTable>;
export type ProductRowUpdate = Updateable<ProductsTable>;
