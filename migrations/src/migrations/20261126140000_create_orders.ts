import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('orders')
    .addColumn('id', 'text', (column) => column.primaryKey())
    .addColumn('user_id', 'text', (column) => column.notNull().references('users.id'))
    .addColumn('status', 'text', (column) =>
      column.notNull().check(sql`status in ('pending_payment', 'paid', 'payment_failed', 'cancelled', 'refunded')`),
    )
    .addColumn('currency', 'char(3)', (column) => column.notNull().check(sql`currency ~ '^[A-Z]{3}$'`))
    .addColumn('total_amount', 'integer', (column) => column.notNull().check(sql`total_amount >= 0`))
    .addColumn('created_at', 'timestamptz', (column) => column.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (column) => column.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('orders_user_id_index').on('orders').columns(['user_id', 'created_at', 'id']).execute();
  await db.schema.createIndex('orders_created_at_index').on('orders').columns(['created_at', 'id']).execute();

  await db.schema
    .createTable('order_items')
    .addColumn('order_id', 'text', (column) => column.notNull().references('orders.id').onDelete('cascade'))
    .addColumn('product_id', 'text', (column) => column.notNull().references('products.id'))
    .addColumn('product_name', 'text', (column) => column.notNull())
    .addColumn('quantity', 'integer', (column) => column.notNull().check(sql`quantity > 0`))
    .addColumn('unit_price_amount', 'integer', (column) => column.notNull().check(sql`unit_price_amount >= 0`))
    .addColumn('line_total_amount', 'integer', (column) => column.notNull().check(sql`line_total_amount >= 0`))
    .addPrimaryKeyConstraint('order_items_pkey', ['order_id', 'product_id'])
    .execute();

  await db.schema
    .createTable('payments')
    .addColumn('id', 'text', (column) => column.primaryKey())
    .addColumn('order_id', 'text', (column) => column.notNull().references('orders.id').onDelete('cascade'))
    .addColumn('amount', 'integer', (column) => column.notNull().check(sql`amount >= 0`))
    .addColumn('currency', 'char(3)', (column) => column.notNull())
    .addColumn('status', 'text', (column) =>
      column.notNull().check(sql`status in ('succeeded', 'declined', 'failed', 'refunded')`),
    )
    .addColumn('gateway', 'text', (column) => column.notNull())
    .addColumn('gateway_reference', 'text')
    .addColumn('decline_code', 'text')
    .addColumn('failure_reason', 'text')
    .addColumn('payment_method', 'text', (column) => column.notNull())
    .addColumn('refund_reference', 'text')
    .addColumn('refunded_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (column) => column.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('payments_order_id_index').on('payments').columns(['order_id', 'created_at']).execute();

  await db.schema
    .createTable('idempotency_keys')
    .addColumn('user_id', 'text', (column) => column.notNull().references('users.id').onDelete('cascade'))
    .addColumn('key', 'text', (column) => column.notNull())
    .addColumn('operation', 'text', (column) => column.notNull())
    .addColumn('fingerprint', 'text', (column) => column.notNull())
    .addColumn('state', 'text', (column) => column.notNull().check(sql`state in ('in_progress', 'done')`))
    .addColumn('order_id', 'text')
    .addColumn('error_code', 'text')
    .addColumn('error_message', 'text')
    .addColumn('created_at', 'timestamptz', (column) => column.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('idempotency_keys_pkey', ['user_id', 'key'])
    .execute();
  await db.schema
    .createIndex('idempotency_keys_created_at_index')
    .on('idempotency_keys')
    .column('created_at')
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('idempotency_keys').execute();
  await db.schema.dropTable('payments').execute();
  await db.schema.dropTable('order_items').execute();
  await db.schema.dropTable('orders').execute();
}
