import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';

export type UserRole = 'customer' | 'admin';

export interface UsersTable {
  id: string;
  email: string;
  password_hash: string;
  name: string;
  role: Generated<UserRole>;
  disabled_at: Date | null;
  /** When the owner of `email` proved it by a mailed link; null until then. */
  email_verified_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
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

export type AccountTokenPurpose = 'verify_email' | 'reset_password';

/** A one-time token mailed to the account's owner; only its SHA-256 digest is stored. */
export interface AccountTokensTable {
  id: string;
  user_id: string;
  purpose: AccountTokenPurpose;
  /** The address the token was mailed to (for `verify_email`, the address it proves). */
  email: string;
  token_hash: string;
  expires_at: Date;
  used_at: Date | null;
  revoked_at: Date | null;
  created_at: ColumnType<Date, Date | string | undefined, never>;
}

export type AccountTokenRow = Selectable<AccountTokensTable>;
export type NewAccountTokenRow = Insertable<AccountTokensTable>;
