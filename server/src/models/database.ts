import type {
  IdempotencyKeysTable,
  OrderItemsTable,
  OrdersTable,
  PaymentsTable,
  SimulatedGatewayLedgerTable,
  WebhookEventsTable,
} from './orders.ts';
import type { ProductsTable } from './products.ts';
import type { AccountTokensTable, RateLimitsTable, RefreshTokensTable, UsersTable } from './users.ts';

/**
 * Row counts kept by triggers (migration 20261204150000): `products`, `products_active`,
 * `users`. bigint: a string on pg, a number on PGlite, so read it with Number().
 */
export interface TableCountsTable {
  name: 'products' | 'products_active' | 'users';
  count: string | number;
}

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
  table_counts: TableCountsTable;
  simulated_gateway_ledger: SimulatedGatewayLedgerTable;
  webhook_events: WebhookEventsTable;
}
