import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';

export type UserRole = 'customer' | 'admin';

export interface UsersTable {
  id: string;
  email: string;
  password_hash: string;
  name: string;
  role: Generated<UserRole>;
  disabled_at: Date | null;
  created_at: ColumnType<Date, Date | string | undefined, never>;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

export type UserRow = Selectable<UsersTable>;
export type NewUserRow = Insertable<UsersTable>;
export type UserRowUpdate = Updateable<UsersTable>;

export interface RefreshTokensTable {
  id: string;
  user_id: string;
  family_id: string;
  token_hash: string;
  /** The token's `iat`; null on tokens issued before it was kept. */
  issued_at: Date | null;
  expires_at: Date;
  revoked_at: Date | null;
  replaced_by: string | null;
  ip: string | null;
  user_agent: string | null;
  created_at: ColumnType<Date, Date | string | undefined, never>;
}

export type RefreshTokenRow = Selectable<RefreshTokensTable>;
export type NewRefreshTokenRow = Insertable<RefreshTokensTable>;

export interface RateLimitsTable {
  key: string;
  count: number;
  window_ends_at: Date;
}
