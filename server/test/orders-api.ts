import type { Order, Payment } from '@orders/shared';
import { sql } from 'kysely';
import type { OrderRow, PaymentRow } from '../src/models/index.ts';
import type {
  ChargeOutcome,
  ChargeRequest,
  PaymentGateway,
  RefundRequest,
} from '../src/services/payment-gateway/index.ts';
import { callApi, type ApiResponse, type ApiVersion, type Protocol } from './api-client.ts';
import type { TestApp } from './test-app.ts';

export interface OrderLineInput {
  productId: string;
  quantity: number;
}

interface Caller {
  protocol: Protocol;
  /** The caller's access token; none sends no Authorization header. */
  token?: string | undefined;
  version?: ApiVersion;
  headers?: Record<string, string>;
}

function options(caller: Caller, input: Record<string, unknown>) {
  return {
    protocol: caller.protocol,
    input,
    ...(caller.token === undefined ? {} : { token: caller.token }),
    ...(caller.version === undefined ? {} : { version: caller.version }),
    ...(caller.headers === undefined ? {} : { headers: caller.headers }),
  };
}

/** `orders.create`: `{ items, paymentMethod }` (pm_card_visa unless told), or any raw `input`. */
export function createOrder(
  app: TestApp,
  caller: Caller & { items?: OrderLineInput[]; paymentMethod?: string; input?: Record<string, unknown> },
): Promise<ApiResponse<Order>> {
  const input = caller.input ?? { items: caller.items ?? [], paymentMethod: caller.paymentMethod ?? 'pm_card_visa' };
  return callApi<Order>(app.url, 'orders.create', options(caller, input));
}

export function payOrder(
  app: TestApp,
  caller: Caller & { orderId: string; paymentMethod?: string },
): Promise<ApiResponse<Order>> {
  return callApi<Order>(
    app.url,
    'orders.pay',
    options(caller, { orderId: caller.orderId, paymentMethod: caller.paymentMethod ?? 'pm_card_visa' }),
  );
}

export function cancelOrder(app: TestApp, caller: Caller & { orderId: string }): Promise<ApiResponse<Order>> {
  return callApi<Order>(app.url, 'orders.cancel', options(caller, { orderId: caller.orderId }));
}

export function getOrder(app: TestApp, caller: Caller & { orderId: string }): Promise<ApiResponse<Order>> {
  return callApi<Order>(app.url, 'orders.get', options(caller, { orderId: caller.orderId }));
}

export function listPayments(
  app: TestApp,
  caller: Caller & { orderId: string },
): Promise<ApiResponse<{ items: Payment[] }>> {
  return callApi<{ items: Payment[] }>(app.url, 'orders.payments', options(caller, { orderId: caller.orderId }));
}

export function listOrders<Page>(
  app: TestApp,
  caller: Caller & { input?: Record<string, unknown> },
): Promise<ApiResponse<Page>> {
  return callApi<Page>(app.url, 'orders.list', options(caller, caller.input ?? {}));
}

export async function stockOf(app: TestApp, productId: string): Promise<number> {
  const row = await app.database.db
    .selectFrom('products')
    .select('stock')
    .where('id', '=', productId)
    .executeTakeFirstOrThrow();
  return row.stock;
}

export async function stocksOf(app: TestApp, productIds: string[]): Promise<number[]> {
  return Promise.all(productIds.map((id) => stockOf(app, id)));
}

export async function orderRowOf(app: TestApp, orderId: string): Promise<OrderRow | undefined> {
  return app.database.db.selectFrom('orders').selectAll().where('id', '=', orderId).executeTakeFirst();
}

export async function paymentRowsOf(app: TestApp, orderId: string): Promise<PaymentRow[]> {
  return app.database.db
    .selectFrom('payments')
    .selectAll()
    .where('order_id', '=', orderId)
    .orderBy('created_at')
    .orderBy('id')
    .execute();
}

/** The ids of a user's orders, newest first. */
export async function orderIdsOf(app: TestApp, userId: string): Promise<string[]> {
  const rows = await app.database.db
    .selectFrom('orders')
    .select('id')
    .where('user_id', '=', userId)
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .execute();
  return rows.map((row) => row.id);
}

export async function countRows(
  app: TestApp,
  table: 'orders' | 'order_items' | 'payments' | 'idempotency_keys',
): Promise<number> {
  const { rows } = await sql<{ count: string | number }>`select count(*) as count from ${sql.table(table)}`.execute(
    app.database.db,
  );
  return Number(rows[0]?.count);
}

/** Counts of every table an order touches, to prove a refused request wrote nothing. */
export async function orderTableCounts(
  app: TestApp,
): Promise<{ orders: number; order_items: number; payments: number }> {
  const [orders, order_items, payments] = await Promise.all([
    countRows(app, 'orders'),
    countRows(app, 'order_items'),
    countRows(app, 'payments'),
  ]);
  return { orders, order_items, payments };
}

export interface GatedGateway extends PaymentGateway {
  readonly calls: { charges: number; refunds: number };
  /** Charges waiting at the door. */
  readonly waiting: number;
  hold(): void;
  release(): void;
}

/**
 * A gateway that passes every call to `inner`, counts them, and can hold charges at its door
 * (`hold()`), to act while a payment is in flight; `release()` lets them through.
 */
export function createGatedGateway(inner: PaymentGateway): GatedGateway {
  let gate: { promise: Promise<void>; open: () => void } | undefined;
  let waiting = 0;
  const calls = { charges: 0, refunds: 0 };
  return {
    name: inner.name,
    calls,
    get waiting() {
      return waiting;
    },
    hold(): void {
      let open: () => void = () => undefined;
      const promise = new Promise<void>((resolve) => {
        open = resolve;
      });
      gate = { promise, open };
    },
    release(): void {
      gate?.open();
      gate = undefined;
    },
    async charge(request: ChargeRequest): Promise<ChargeOutcome> {
      calls.charges += 1;
      if (gate) {
        waiting += 1;
        try {
          await gate.promise;
        } finally {
          waiting -= 1;
        }
      }
      return inner.charge(request);
    },
    refund(request: RefundRequest): Promise<{ reference: string }> {
      calls.refunds += 1;
      return inner.refund(request);
    },
  };
}
