import { sql, type Kysely } from 'kysely';

/**
 * Payment attempts are written `pending`, with the idempotency key the gateway is called with,
 * before the gateway is called: a process that dies while the gateway works leaves a row the
 * reconciler resolves. The simulated gateway keeps its ledger here (a gateway's records live
 * outside the process calling it), and each processed webhook event's id is kept so a
 * redelivery changes nothing.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table payments drop constraint payments_status_check`.execute(db);
  await sql`alter table payments add constraint payments_status_check
    check (status in ('pending', 'succeeded', 'declined', 'failed', 'refunded'))`.execute(db);
  await db.schema.alterTable('payments').addColumn('idempotency_key', 'text').execute();
  await db.schema
    .alterTable('payments')
    .addColumn('updated_at', 'timestamptz', (column) => column.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema
    .createIndex('payments_pending_index')
    .on('payments')
    .column('created_at')
    .where(sql.ref('status'), '=', 'pending')
    .execute();
  await db.schema.createIndex('payments_gateway_reference_index').on('payments').column('gateway_reference').execute();

  await db.schema
    .createTable('simulated_gateway_ledger')
    .addColumn('idempotency_key', 'text', (column) => column.primaryKey())
    .addColumn('kind', 'text', (column) => column.notNull().check(sql`kind in ('charge', 'refund')`))
    .addColumn('reference', 'text', (column) => column.notNull().unique())
    .addColumn('status', 'text', (column) => column.notNull().check(sql`status in ('succeeded', 'declined')`))
    .addColumn('decline_code', 'text')
    .addColumn('message', 'text')
    .addColumn('amount', 'integer', (column) => column.notNull())
    .addColumn('currency', 'char(3)', (column) => column.notNull())
    .addColumn('order_id', 'text')
    .addColumn('charge_reference', 'text')
    .addColumn('created_at', 'timestamptz', (column) => column.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .createTable('webhook_events')
    .addColumn('id', 'text', (column) => column.primaryKey())
    .addColumn('gateway', 'text', (column) => column.notNull())
    .addColumn('type', 'text', (column) => column.notNull())
    .addColumn('received_at', 'timestamptz', (column) => column.notNull().defaultTo(sql`now()`))
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('webhook_events').execute();
  await db.schema.dropTable('simulated_gateway_ledger').execute();
  await db.schema.dropIndex('payments_gateway_reference_index').execute();
  await db.schema.dropIndex('payments_pending_index').execute();
  await db.schema.alterTable('payments').dropColumn('updated_at').dropColumn('idempotency_key').execute();
  await sql`delete from payments where status = 'pending'`.execute(db);
  await sql`alter table payments drop constraint payments_status_check`.execute(db);
  await sql`alter table payments add constraint payments_status_check
    check (status in ('succeeded', 'declined', 'failed', 'refunded'))`.execute(db);
}
