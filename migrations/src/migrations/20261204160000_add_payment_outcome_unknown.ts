import { sql, type Kysely } from 'kysely';

/**
 * A payment attempt recorded `failed` because the gateway did not answer in time may still have
 * been charged after its caller gave up. `outcome_unknown_since` marks such an attempt from the
 * moment it is recorded; the reconciler asks the gateway again past the grace period (refunding
 * a charge that landed, since its order is no longer paid by it) and clears the mark.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('payments').addColumn('outcome_unknown_since', 'timestamptz').execute();
  await db.schema
    .createIndex('payments_outcome_unknown_index')
    .on('payments')
    .column('outcome_unknown_since')
    .where(sql.ref('outcome_unknown_since'), 'is not', null)
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('payments_outcome_unknown_index').execute();
  await db.schema.alterTable('payments').dropColumn('outcome_unknown_since').execute();
}
