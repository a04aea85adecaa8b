import { randomBytes } from 'node:crypto';
import type { AccountTokenFailureReason } from '@orders/shared';
import type { Trx } from '../core/db/transaction.ts';
import { AppError } from '../core/errors.ts';
import { newId } from '../core/ids.ts';
import type { Logger } from '../core/logging/logger.ts';
import { digestToken } from '../core/security.ts';
import type { AccountTokenPurpose } from '../models/index.ts';

/** How long a mailed link works. */
export const ACCOUNT_TOKEN_TTL_MS: Record<AccountTokenPurpose, number> = {
  verify_email: 24 * 3600 * 1000,
  reset_password: 3600 * 1000,
};

/** A fresh one-time token (32 random bytes, base64url: 43 characters) and the digest stored for it. */
export function newAccountToken(): { token: string; tokenHash: string } {
  const token = randomBytes(32).toString('base64url');
  return { token, tokenHash: digestToken(token) };
}

/** Voids every token of `purpose` the user has not used yet: only the newest link works. */
export async function voidAccountTokens(
  trx: Trx,
  { userId, purpose }: { userId: string; purpose: AccountTokenPurpose },
): Promise<number> {
  const result = await trx
    .updateTable('account_tokens')
    .set({ revoked_at: new Date() })
    .where('user_id', '=', userId)
    .where('purpose', '=', purpose)
    .where('used_at', 'is', null)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/** Stores a new token of `purpose` for the user (voiding the older ones) and answers it, to be mailed after commit. */
export async function issueAccountToken(
  trx: Trx,
  { userId, purpose, email }: { userId: string; purpose: AccountTokenPurpose; email: string },
): Promise<string> {
  await voidAccountTokens(trx, { userId, purpose });
  const { token, tokenHash } = newAccountToken();
  await trx
    .insertInto('account_tokens')
    .values({
      id: newId('atk'),
      user_id: userId,
      purpose,
      email,
      token_hash: tokenHash,
      expires_at: new Date(Date.now() + ACCOUNT_TOKEN_TTL_MS[purpose]),
    })
    .execute();
  return token;
}

const REASONS: Record<
  AccountTokenPurpose,
  Record<'unknown' | 'used' | 'expired' | 'revoked', AccountTokenFailureReason>
> = {
  verify_email: {
    unknown: 'Unknown Verification Token',
    used: 'Verification Token Used',
    expired: 'Verification Token Expired',
    revoked: 'Verification Token Revoked',
  },
  reset_password: {
    unknown: 'Unknown Reset Token',
    used: 'Reset Token Used',
    expired: 'Reset Token Expired',
    revoked: 'Reset Token Revoked',
  },
};

export type ConsumedToken =
  | { ok: true; id: string; userId: string; email: string }
  | { ok: false; reason: AccountTokenFailureReason; tokenId?: string; userId?: string };

/**
 * Spends a token of `purpose`: it must be known, unused, not voided and not expired. The row is
 * locked, so of two requests with one token only the first spends it; the other reads it used.
 */
export async function consumeAccountToken(
  trx: Trx,
  { token, purpose }: { token: string; purpose: AccountTokenPurpose },
): Promise<ConsumedToken> {
  const row = await trx
    .selectFrom('account_tokens')
    .select(['id', 'user_id', 'email', 'expires_at', 'used_at', 'revoked_at'])
    .where('token_hash', '=', digestToken(token))
    .where('purpose', '=', purpose)
    .forUpdate()
    .executeTakeFirst();
  const reasons = REASONS[purpose];
  if (!row) return { ok: false, reason: reasons.unknown };
  const about = { tokenId: row.id, userId: row.user_id };
  if (row.used_at !== null) return { ok: false, reason: reasons.used, ...about };
  if (row.revoked_at !== null) return { ok: false, reason: reasons.revoked, ...about };
  const now = new Date();
  if (row.expires_at <= now) return { ok: false, reason: reasons.expired, ...about };
  await trx.updateTable('account_tokens').set({ used_at: now }).where('id', '=', row.id).execute();
  return { ok: true, id: row.id, userId: row.user_id, email: row.email };
}

/** The 400 of a refused token, after its exact-reason `auth_failure` line. */
export function refuseAccountToken(
  logger: Logger,
  refusal: Extract<ConsumedToken, { ok: false }>,
  action: 'verify_email' | 'reset_password',
): AppError {
  logger.warn('auth_failure', {
    reason: refusal.reason,
    ...(refusal.userId === undefined ? {} : { user_id: refusal.userId }),
    context: { action, ...(refusal.tokenId === undefined ? {} : { token_id: refusal.tokenId }) },
  });
  return new AppError('INVALID_TOKEN', `This link cannot be used: ${refusal.reason}; ask for a new one`, {
    reason: refusal.reason,
  });
}
