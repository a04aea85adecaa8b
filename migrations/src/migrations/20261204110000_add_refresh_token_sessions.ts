import { sql, type Kysely } from 'kysely';

/**
 * Makes a refresh token family a session that access tokens can be checked against:
 * - `issued_at`: the token's `iat`, so that the very same token can be signed again for a
 *   retried refresh (rows written before this column have none and get no retry);
 * - a partial index of the live tokens by family: every authenticated request asks whether its
 *   session still has one, and a long-lived family has thousands of spent tokens.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('refresh_tokens').addColumn('issued_at', 'timestamptz').execute();
  await db.schema
    .createIndex('refresh_tokens_family_id_live_index')
    .on('refresh_tokens')
    .column('family_id')
    .where(sql.ref('revoked_at'), 'is', null)
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('refresh_tokens_family_id_live_index').execute();
  await db.schema.alterTable('refresh_tokens').dropColumn('issued_at').execute();
}
