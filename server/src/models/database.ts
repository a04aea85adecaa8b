import type { IdempotencyKeysTable, OrderItemsTable, OrdersTable, PaymentsTable } from './orders.ts';
import type { ProductsTable } from './products.ts';
import type { AccountTokensTable, RateLimitsTable, RefreshTokensTable, UsersTable } from './users.ts';

/** Every table Kysely may query, by name. */
export interface Database {
  products: ProductsTable;
  users: UsersTable;
  refresh_tokens: RefreshTokensTable;
  account_tokens: AccountTokensTable;
  rate_limits: RateLimitsTable;
  orders: OrdersTable;
  order_items: OrderItemsTable;
  payments: PaymentsTable;
  idempotency_keys: IdempotencyKeysTable;
}
