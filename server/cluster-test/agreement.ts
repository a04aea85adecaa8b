import type { Db } from '../src/core/db/database.ts';
import type { Sent } from './load.ts';

/** What the database holds for one order a client tried to place, by its Idempotency-Key. */
interface KeyRecord {
  key: string;
  state: string;
  order_id: string | null;
  order_status: string | null;
}

export interface Agreement {
  /** Orders told 200: found in the database, paid, under their key. */
  toldPaid: number;
  toldPaidFound: number;
  /** Orders the database has for the load's users, and of them those no client was told of. */
  ordersInDatabase: number;
  ordersNoClientWasToldOf: number;
  /** For each failed order placement, what the database shows of it. */
  failedPlacements: Record<string, number>;
  /** Every order in the database is one a client was told of, or one a failed placement wrote. */
  agrees: boolean;
}

/**
 * Compares what clients were told about the orders they placed with the database: each order
 * answered 200 exists, is paid and is the one its key names; each other order belongs to a
 * placement whose answer was lost (then its key says so); no key made two orders.
 */
export async function checkAgreement(db: Db, sent: Sent[]): Promise<Agreement> {
  const placements = sent.filter((request) => request.kind === 'create_order');
  const userIds = [...new Set(placements.map((request) => request.userId))];
  const keys: KeyRecord[] =
    userIds.length === 0
      ? []
      : await db
          .selectFrom('idempotency_keys')
          .leftJoin('orders', 'orders.id', 'idempotency_keys.order_id')
          .select([
            'idempotency_keys.key',
            'idempotency_keys.state',
            'idempotency_keys.order_id',
            'orders.status as order_status',
          ])
          .where('idempotency_keys.user_id', 'in', userIds)
          .execute();
  const byKey = new Map(keys.map((record) => [record.key, record]));
  const orders =
    userIds.length === 0
      ? []
      : await db.selectFrom('orders').select(['id', 'status']).where('user_id', 'in', userIds).execute();

  const toldPaid = placements.filter((request) => request.status === 200);
  const toldPaidFound = toldPaid.filter((request) => {
    const record = request.key === undefined ? undefined : byKey.get(request.key);
    return record?.order_id === request.orderId && record?.order_status === 'paid';
  }).length;
  const toldOf = new Set(toldPaid.map((request) => request.orderId));
  const failedKeys = new Set(
    placements.filter((request) => request.status === 0 || request.status >= 500).map((request) => request.key),
  );
  const failedPlacements: Record<string, number> = {};
  for (const request of placements.filter((placement) => failedKeys.has(placement.key))) {
    const record = request.key === undefined ? undefined : byKey.get(request.key);
    const what =
      record === undefined
        ? 'no trace in the database (never reached it, or rolled back)'
        : record.order_id === null
          ? `key ${record.state}, no order`
          : `key ${record.state}, order ${record.order_status ?? 'missing'}`;
    failedPlacements[what] = (failedPlacements[what] ?? 0) + 1;
  }
  const fromFailed = new Set(
    keys.filter((record) => failedKeys.has(record.key) && record.order_id !== null).map((record) => record.order_id),
  );
  const unexplained = orders.filter((order) => !toldOf.has(order.id) && !fromFailed.has(order.id));
  const untold = orders.filter((order) => !toldOf.has(order.id)).length;
  return {
    toldPaid: toldPaid.length,
    toldPaidFound,
    ordersInDatabase: orders.length,
    ordersNoClientWasToldOf: untold,
    failedPlacements,
    agrees: toldPaidFound === toldPaid.length && unexplained.length === 0,
  };
}
