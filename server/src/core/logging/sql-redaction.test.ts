import {
  DummyDriver,
  Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type CompiledQuery,
  type Generated,
} from 'kysely';
import { describe, expect, it } from 'vitest';
import { REDACTED } from './redact.ts';
import { redactSqlParameters } from './sql-redaction.ts';

interface UsersTable {
  id: Generated<string>;
  email: string;
  password_hash: string;
  role: string;
}

interface RefreshTokensTable {
  id: Generated<string>;
  user_id: string;
  token_hash: string;
  revoked_at: Date | null;
}

/** Compiles queries exactly as the service's Kysely would, without a database. */
const db = new Kysely<{ users: UsersTable; refresh_tokens: RefreshTokensTable }>({
  dialect: {
    createAdapter: () => new PostgresAdapter(),
    createDriver: () => new DummyDriver(),
    createIntrospector: (kysely) => new PostgresIntrospector(kysely),
    createQueryCompiler: () => new PostgresQueryCompiler(),
  },
});

const redacted = (query: CompiledQuery) => redactSqlParameters(query.sql, query.parameters);

/** A value that looks like nothing in particular, so only the column can give it away. */
const HASH_1 = 'c2VjcmV0LWhhc2gtb25l';
const HASH_2 = 'c2VjcmV0LWhhc2gtdHdv';
const REVOKED_AT = '2030-01-01T00:00:00.000Z';

describe('redactSqlParameters: hand-written statements', () => {
  it('redacts the parameter bound to password_hash in an insert and keeps the others', () => {
    expect(
      redactSqlParameters('insert into "users" ("email", "password_hash") values ($1, $2)', [
        'ada@example.com',
        HASH_1,
      ]),
    ).toEqual(['ada@example.com', REDACTED]);
  });

  it('redacts every row of a multi-row insert', () => {
    expect(
      redactSqlParameters('insert into "users" ("email", "password_hash") values ($1, $2), ($3, $4)', [
        'ada@example.com',
        HASH_1,
        'bob@example.com',
        HASH_2,
      ]),
    ).toEqual(['ada@example.com', REDACTED, 'bob@example.com', REDACTED]);
  });

  it('redacts a token_hash in a where clause and keeps what is set', () => {
    expect(
      redactSqlParameters('update "refresh_tokens" set "revoked_at" = $1 where "token_hash" = $2', [
        REVOKED_AT,
        HASH_1,
      ]),
    ).toEqual([REVOKED_AT, REDACTED]);
  });

  it('redacts a value selected under a secret column name, as an insert … select writes it', () => {
    expect(
      redactSqlParameters(
        'insert into "account_tokens" ("id", "user_id", "token_hash") select $1 as "id", "id" as "user_id", $2 as "token_hash" from "users" where lower("email") = $3',
        ['atk_1', HASH_1, 'ada@example.com'],
      ),
    ).toEqual(['atk_1', REDACTED, 'ada@example.com']);
  });

  it('redacts a secret column that is being set', () => {
    expect(redactSqlParameters('update "users" set "password_hash" = $1 where "id" = $2', [HASH_1, 'usr_1'])).toEqual([
      REDACTED,
      'usr_1',
    ]);
  });

  it('returns an empty list for a statement without parameters', () => {
    expect(redactSqlParameters('select 1', [])).toEqual([]);
  });

  it('still redacts secret-looking values bound to ordinary columns', () => {
    const jwt = `${Buffer.from('{"alg":"HS256"}').toString('base64url')}.eyJzdWIiOiJ1c3JfMSJ9.c2lnbmF0dXJl`;
    expect(redactSqlParameters('insert into "audit" ("note") values ($1)', [`saw ${jwt}`])).toEqual([
      `saw ${REDACTED}`,
    ]);
  });
});

describe('redactSqlParameters: statements compiled by Kysely', () => {
  it('insert of several users', () => {
    const query = db
      .insertInto('users')
      .values([
        { email: 'ada@example.com', password_hash: HASH_1, role: 'customer' },
        { email: 'bob@example.com', password_hash: HASH_2, role: 'admin' },
      ])
      .returning(['id', 'email'])
      .compile();
    expect(redacted(query)).toEqual(['ada@example.com', REDACTED, 'customer', 'bob@example.com', REDACTED, 'admin']);
  });

  it('revoking a refresh token by its hash', () => {
    const query = db
      .updateTable('refresh_tokens')
      .set({ revoked_at: REVOKED_AT as unknown as Date })
      .where('token_hash', '=', HASH_1)
      .where('revoked_at', 'is', null)
      .compile();
    expect(redacted(query)).toEqual([REVOKED_AT, REDACTED]);
  });

  it('looking a refresh token up by its hash, table-qualified', () => {
    const query = db
      .selectFrom('refresh_tokens')
      .innerJoin('users', 'users.id', 'refresh_tokens.user_id')
      .select(['refresh_tokens.id', 'users.email'])
      .where('refresh_tokens.token_hash', '=', HASH_1)
      .where('users.role', '=', 'customer')
      .compile();
    expect(redacted(query)).toEqual([REDACTED, 'customer']);
  });

  it('looking several refresh tokens up by their hashes', () => {
    const query = db
      .selectFrom('refresh_tokens')
      .select('id')
      .where('user_id', '=', 'usr_1')
      .where('token_hash', 'in', [HASH_1, HASH_2])
      .compile();
    expect(redacted(query)).toEqual(['usr_1', REDACTED, REDACTED]);
  });

  it('an upsert that replaces a password hash on conflict', () => {
    const query = db
      .insertInto('users')
      .values({ email: 'ada@example.com', password_hash: HASH_1, role: 'customer' })
      .onConflict((conflict) => conflict.column('email').doUpdateSet({ password_hash: HASH_2 }))
      .compile();
    expect(redacted(query)).toEqual(['ada@example.com', REDACTED, 'customer', REDACTED]);
  });
});
