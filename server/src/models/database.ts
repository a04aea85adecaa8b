import type {
  IdempotencyKeysTable,
  OrderItemsTable,
  OrdersTable,
  PaymentsTable,
  SimulatedGatewayLedgerTable,
  WebhookEventsTable,
} from './orders.ts';
import type { ProductsTable } from './products.ts';
import type { RateLimitsTable, RefreshTokensTable, UsersTable } from './users.ts';

/** Every table Kysely may query, by name. */
export interface Database {
  products: ProductsTable;
  users: UsersTable;
  refresh_tokens: RefreshTokensTable;
  rate_limits: RateLimitsTable;
  orders: OrdersTable;
  order_items: OrderItemsTable;
  payments: PaymentsTable;
  idempotency_keys: IdempotencyKeysTable;
  simulated_gateway_ledger: SimulatedGatewayLedgerTable;
  webhook_events: WebhookEventsTable;
}
