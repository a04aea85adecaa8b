import { sql } from 'kysely';
import type { Db } from '../../server/src/core/db/database.ts';

/** How many rows of each: orders (three lines each), products, users; one customer has `heavyCustomerOrders`. */
export interface Scale {
  label: string;
  orders: number;
  products: number;
  users: number;
}

/** The customer whose orders are listed: the same number of them at every scale. */
export const HEAVY_CUSTOMER = 'usr_00000001';
export const HEAVY_CUSTOMER_ORDERS = 200;
export const ADMIN = 'usr_admin';
/** Product and user 42 exist at every scale: the searches look for them. */
export const SEARCHED = 42;

const pad = (width: number) => (column: string) => sql.raw(`lpad(${column}::text, ${width}, '0')`);
const userId = pad(8);
const productId = pad(8);
const orderId = pad(9);

/**
 * Fills a freshly migrated database set-based (one INSERT ... SELECT FROM generate_series per
 * table, never a row at a time), then VACUUM ANALYZE so the planner and the visibility map
 * see the data as a long-running database would.
 */
export async function fill(db: Db, scale: Scale): Promise<Record<string, number>> {
  const timings: Record<string, number> = {};
  const step = async (name: string, query: ReturnType<typeof sql>) => {
    const started = performance.now();
    await query.execute(db);
    timings[name] = Math.round(performance.now() - started);
  };
  await step(
    'users',
    sql`insert into users (id, email, password_hash, name, role, created_at, updated_at)
      select 'usr_' || ${userId('g')}, 'user' || g || '@example.com', 'not-a-hash', 'User ' || g || ' ' || substr(md5(g::text), 1, 6),
        'customer', now() - make_interval(secs => g), now()
      from generate_series(1, ${scale.users}::int) g
      union all select ${ADMIN}, 'admin@example.com', 'not-a-hash', 'Admin', 'admin', now() - interval '10 years', now()`,
  );
  await step(
    'products',
    sql`insert into products (id, sku, name, description, price_amount, currency, stock, active, created_at, updated_at)
      select 'prd_' || ${productId('g')}, 'SKU-' || lpad(g::text, 7, '0'), 'Item ' || substr(md5(g::text), 1, 8) || ' ' || g,
        null, 100 + g % 5000, 'EUR', 1000, g % 20 <> 0, now() - make_interval(secs => g), now()
      from generate_series(1, ${scale.products}::int) g`,
  );
  await step(
    'orders',
    sql`insert into orders (id, user_id, status, currency, total_amount, created_at, updated_at)
      select 'ord_' || ${orderId('g')},
        case when g <= ${HEAVY_CUSTOMER_ORDERS}::int then ${HEAVY_CUSTOMER}
             else 'usr_' || ${userId(`(2 + g % (${scale.users} - 1))`)} end,
        'paid', 'EUR', 300, now() - make_interval(secs => g), now()
      from generate_series(1, ${scale.orders}::int) g`,
  );
  await step(
    'order_items',
    sql`insert into order_items (order_id, product_id, product_name, quantity, unit_price_amount, line_total_amount)
      select 'ord_' || ${orderId('g')}, 'prd_' || ${productId(`(1 + (g * 3 + k) % ${scale.products})`)}, 'Item', 1, 100, 100
      from generate_series(1, ${scale.orders}::int) g, generate_series(0, 2) k`,
  );
  await step('vacuum_analyze', sql`vacuum analyze`);
  return timings;
}

/** A live session (refresh token) for each user the bench signs tokens for. */
export async function addSessions(db: Db): Promise<Record<string, string>> {
  const sessions: Record<string, string> = {};
  for (const user of [HEAVY_CUSTOMER, ADMIN]) {
    const id = `rtk_bench_${user}`;
    await db
      .insertInto('refresh_tokens')
      .values({
        id,
        user_id: user,
        family_id: id,
        token_hash: `bench-${id}`,
        expires_at: new Date(Date.now() + 86_400_000),
      })
      .execute();
    sessions[user] = id;
  }
  return sessions;
}
