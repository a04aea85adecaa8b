import { sql, type Kysely } from 'kysely';

/**
 * The API's largest amount of money, in minor units, as it was when this migration was written
 * (MAX_MONEY_AMOUNT in @orders/shared): a price, a line total, an order total or a payment above
 * it cannot be answered, so the database refuses it too, instead of only refusing negatives.
 */
const MAX_AMOUNT = 1_000_000_000;

/** Each money column and the name of the CHECK constraint (created with the table) that bounds it. */
const MONEY_COLUMNS = [
  { table: 'products', column: 'price_amount' },
  { table: 'orders', column: 'total_amount' },
  { table: 'order_items', column: 'unit_price_amount' },
  { table: 'order_items', column: 'line_total_amount' },
  { table: 'payments', column: 'amount' },
] as const;

function constraintOf({ table, column }: { table: string; column: string }) {
  return sql.id(`${table}_${column}_check`);
}

/**
 * Rows written before the API refused order totals above the maximum would break the new checks:
 * name them, so that they are settled (the charge refunded, the order corrected) before the
 * migration runs again, rather than fail on the database's terse message.
 */
async function refuseRowsOutOfRange(db: Kysely<any>): Promise<void> {
  const found: string[] = [];
  for (const { table, column } of MONEY_COLUMNS) {
    const key = table === 'order_items' ? sql`order_id` : sql`id`;
    const { rows } = await sql<{ key: string }>`select ${key} as key from ${sql.table(table)}
      where ${sql.ref(column)} > ${MAX_AMOUNT} order by 1 limit 10`.execute(db);
    if (rows.length > 0) found.push(`${table}.${column}: ${rows.map((row) => row.key).join(', ')}`);
  }
  if (found.length > 0) {
    throw new Error(
      `Amounts above ${MAX_AMOUNT} minor units must be settled before their range checks can be added (${found.join('; ')})`,
    );
  }
}

export async function up(db: Kysely<any>): Promise<void> {
  await refuseRowsOutOfRange(db);
  for (const money of MONEY_COLUMNS) {
    const constraint = constraintOf(money);
    await sql`alter table ${sql.table(money.table)} drop constraint ${constraint},
      add constraint ${constraint} check (${sql.ref(money.column)} between 0 and ${sql.lit(MAX_AMOUNT)})`.execute(db);
  }
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const money of MONEY_COLUMNS) {
    const constraint = constraintOf(money);
    await sql`alter table ${sql.table(money.table)} drop constraint ${constraint},
      add constraint ${constraint} check (${sql.ref(money.column)} >= 0)`.execute(db);
  }
}
