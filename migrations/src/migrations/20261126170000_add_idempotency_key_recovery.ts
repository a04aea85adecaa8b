import { sql, type Kysely } from 'kysely';

/**
 * Lets an idempotent request that stopped half-way be finished by a retry:
 * - `interrupted`: the request stopped (the database went away) after writing its order; the
 *   next request with the same key resumes that order instead of making a second one;
 * - `claimed_by`: a token of the request holding the key, so only that request ends its hold,
 *   even when it cannot tell whether its claim was written (a lost commit acknowledgement).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table idempotency_keys drop constraint idempotency_keys_state_check`.execute(db);
  await sql`alter table idempotency_keys add constraint idempotency_keys_state_check
    check (state in ('in_progress', 'interrupted', 'done'))`.execute(db);
  await db.schema.alterTable('idempotency_keys').addColumn('claimed_by', 'text').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('idempotency_keys').dropColumn('claimed_by').execute();
  // The code before this cannot resume an order; answering it as it stands never makes a second one.
  await sql`update idempotency_keys set state = 'done' where state = 'interrupted'`.execute(db);
  await sql`alter table idempotency_keys drop constraint idempotency_keys_state_check`.execute(db);
  await sql`alter table idempotency_keys add constraint idempotency_keys_state_check
    check (state in ('in_progress', 'done'))`.execute(db);
}
