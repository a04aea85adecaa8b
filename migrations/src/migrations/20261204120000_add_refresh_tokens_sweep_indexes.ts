import { sql, type Kysely } from 'kysely';

/**
 * What the periodic sweep looks refresh tokens up by: those expired, and those revoked with no
 * successor (a partial index: replaced and live tokens, the bulk of the table, are left out).
 *
 * Migrations run in a transaction, so these are built without CONCURRENTLY and block writes to
 * refresh_tokens (logins and refreshes) while they build. On a large table, create them first
 * by hand with `create index concurrently` under the same names: this migration then skips them.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createIndex('refresh_tokens_expires_at_index')
    .ifNotExists()
    .on('refresh_tokens')
    .column('expires_at')
    .execute();
  await db.schema
    .createIndex('refresh_tokens_revoked_at_index')
    .ifNotExists()
    .on('refresh_tokens')
    .column('revoked_at')
    .where(sql.ref('replaced_by'), 'is', null)
    .where(sql.ref('revoked_at'), 'is not', null)
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('refresh_tokens_revoked_at_index').ifExists().execute();
  await db.schema.dropIndex('refresh_tokens_expires_at_index').ifExists().execute();
}
