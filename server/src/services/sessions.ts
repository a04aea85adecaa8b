import type { AuthSession } from '@orders/shared';
import type { Db } from '../core/db/database.ts';
import { newId } from '../core/ids.ts';
import type { Logger } from '../core/logging/logger.ts';
import { setRequestUser } from '../core/logging/request-context.ts';
import { digestToken, type TokenService } from '../core/security.ts';
import { withTransaction, type Trx } from '../core/db/transaction.ts';
import { unauthorized } from './authenticate.ts';
import { USER_COLUMNS, toUser } from './users.ts';

/**
 * A session is a refresh token family: login opens one, each refresh rotates its token, and
 * every access token names its family (`sid`), so revoking the family ends them all.
 */
export interface SessionDeps {
  db: Db;
  logger: Logger;
  tokens: TokenService;
}

/** Where a session was opened from, kept with its refresh token. */
export interface ClientInfo {
  ip: string;
  userAgent: string | undefined;
}

type SessionUser = Parameters<typeof toUser>[0];

function sessionOf(
  deps: SessionDeps,
  { user, familyId, refreshToken }: { user: SessionUser; familyId: string; refreshToken: string },
): AuthSession {
  return {
    user: toUser(user),
    accessToken: deps.tokens.signAccessToken({ user, sessionId: familyId }),
    refreshToken,
    tokenType: 'Bearer',
    expiresIn: deps.tokens.accessTokenTtlSeconds,
  };
}

/** Stores a new refresh token of `familyId` (a new family opens a session) and signs both tokens. */
export async function issueSession(
  deps: SessionDeps,
  trx: Trx,
  {
    user,
    familyId,
    client,
    tokenId = newId('rtk'),
  }: { user: SessionUser; familyId: string; client: ClientInfo; tokenId?: string },
): Promise<AuthSession> {
  const { issuedAt, expiresAt } = deps.tokens.refreshTokenLifetime();
  const refreshToken = deps.tokens.signRefreshToken({ userId: user.id, tokenId, familyId, issuedAt, expiresAt });
  await trx
    .insertInto('refresh_tokens')
    .values({
      id: tokenId,
      user_id: user.id,
      family_id: familyId,
      token_hash: digestToken(refreshToken),
      issued_at: issuedAt,
      expires_at: expiresAt,
      ip: client.ip,
      user_agent: client.userAgent?.slice(0, 512) ?? null,
    })
    .execute();
  return sessionOf(deps, { user, familyId, refreshToken });
}

export async function revokeFamily(trx: Trx, familyId: string): Promise<void> {
  await trx
    .updateTable('refresh_tokens')
    .set({ revoked_at: new Date() })
    .where('family_id', '=', familyId)
    .where('revoked_at', 'is', null)
    .execute();
}

/** Ends every session of a user but `keepFamilyId`; answers how many sessions ended. */
export async function revokeOtherSessions(
  trx: Trx,
  { userId, keepFamilyId }: { userId: string; keepFamilyId: string },
): Promise<number> {
  const revoked = await trx
    .updateTable('refresh_tokens')
    .set({ revoked_at: new Date() })
    .where('user_id', '=', userId)
    .where('family_id', '<>', keepFamilyId)
    .where('revoked_at', 'is', null)
    .returning('family_id')
    .execute();
  return new Set(revoked.map((row) => row.family_id)).size;
}

function findUser(trx: Trx, userId: string): Promise<SessionUser | undefined> {
  return trx.selectFrom('users').select(USER_COLUMNS).where('id', '=', userId).executeTakeFirst();
}

/**
 * A user's sessions change under their row's lock: a refresh holds it shared while it rotates,
 * and what ends sessions (logout here; a password change and disabling update the row) holds
 * it exclusively. Otherwise a revocation running while a refresh commits would not see the
 * token the refresh adds, and that session would live on.
 */
function lockSessionsOf(trx: Trx, userId: string, mode: 'rotate' | 'revoke'): Promise<SessionUser | undefined> {
  const query = trx.selectFrom('users').select(USER_COLUMNS).where('id', '=', userId);
  return (mode === 'rotate' ? query.forShare() : query.forNoKeyUpdate()).executeTakeFirst();
}

function withinGrace(deps: SessionDeps, rotatedAt: Date | null): boolean {
  const graceMs = deps.tokens.refreshReuseGraceSeconds * 1000;
  return rotatedAt !== null && graceMs > 0 && Date.now() - rotatedAt.getTime() < graceMs;
}

/**
 * The session a rotation already gave, for a refresh token presented again within the grace
 * window (two tabs, or a retry after a lost answer): the same successor refresh token, signed
 * again from its stored claims (deterministic, see `signRefreshToken`), and a new access token.
 * Nothing secret is kept for this; the digest check proves the token signed is the one stored.
 * Undefined when the successor or its user is no longer live, or it cannot be signed again.
 */
async function successorSession(deps: SessionDeps, trx: Trx, successorId: string): Promise<AuthSession | undefined> {
  const successor = await trx
    .selectFrom('refresh_tokens')
    .select(['id', 'user_id', 'family_id', 'token_hash', 'issued_at', 'expires_at'])
    .where('id', '=', successorId)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  if (!successor?.issued_at) return undefined;
  const refreshToken = deps.tokens.signRefreshToken({
    userId: successor.user_id,
    tokenId: successor.id,
    familyId: successor.family_id,
    issuedAt: successor.issued_at,
    expiresAt: successor.expires_at,
  });
  if (digestToken(refreshToken) !== successor.token_hash) return undefined;
  const user = await findUser(trx, successor.user_id);
  if (!user || user.disabled_at !== null) return undefined;
  return sessionOf(deps, { user, familyId: successor.family_id, refreshToken });
}

type RefreshFailure =
  'Unknown Refresh Token' | 'Refresh Token Revoked' | 'Refresh Token Reused' | 'Unknown User' | 'User Disabled';
type RefreshOutcome = { session: AuthSession; retried: boolean; failure?: undefined } | { failure: RefreshFailure };

/** A token the rotation did not take: a retry within the grace window, or revoked, or reused. */
async function refreshWithSpentToken(
  deps: SessionDeps,
  trx: Trx,
  { tokenId, tokenHash, familyId }: { tokenId: string; tokenHash: string; familyId: string },
): Promise<RefreshOutcome> {
  const known = await trx
    .selectFrom('refresh_tokens')
    .select(['replaced_by', 'revoked_at', 'token_hash'])
    .where('id', '=', tokenId)
    .executeTakeFirst();
  if (!known) return { failure: 'Unknown Refresh Token' };
  if (known.replaced_by !== null && known.token_hash === tokenHash && withinGrace(deps, known.revoked_at)) {
    const session = await successorSession(deps, trx, known.replaced_by);
    if (session) return { session, retried: true };
  }
  await revokeFamily(trx, familyId);
  return { failure: known.replaced_by === null ? 'Refresh Token Revoked' : 'Refresh Token Reused' };
}

/** The claims of a refresh token, or the exact-reason refusal (logged) when it does not verify. */
function verifiedRefreshToken(deps: SessionDeps, refreshToken: string) {
  const verified = deps.tokens.verifyRefreshToken(refreshToken);
  if (verified.ok) return verified;
  deps.logger.warn('auth_failure', { reason: verified.reason, context: { token_type: 'refresh', ...verified.detail } });
  throw unauthorized(verified.reason);
}

/**
 * Rotates a refresh token: the presented one is spent and a new one of the same family is
 * issued. Presenting it again within the grace window gets the same successor; after it, it
 * means the token leaked: the whole family is revoked, so the thief's newer token, and every
 * access token of the session, stop working too.
 */
export async function refreshSession(
  deps: SessionDeps,
  input: { refreshToken: string; client: ClientInfo },
): Promise<AuthSession> {
  const verified = verifiedRefreshToken(deps, input.refreshToken);
  const { jti: tokenId, fam: familyId, sub: userId } = verified.claims;
  const tokenHash = digestToken(input.refreshToken);
  const outcome = await withTransaction(deps, 'refresh_session', async (trx): Promise<RefreshOutcome> => {
    const user = await lockSessionsOf(trx, userId, 'rotate');
    const now = new Date();
    const spent = await trx
      .updateTable('refresh_tokens')
      .set({ revoked_at: now })
      .where('id', '=', tokenId)
      .where('token_hash', '=', tokenHash)
      .where('revoked_at', 'is', null)
      .where('expires_at', '>', now)
      .returning(['id'])
      .executeTakeFirst();
    // A concurrent refresh with the same token waited for this row above, and reads it (with
    // its successor, written below in the same transaction) once this one commits.
    if (!spent) return refreshWithSpentToken(deps, trx, { tokenId, tokenHash, familyId });
    if (!user) return { failure: 'Unknown User' };
    if (user.disabled_at !== null) return { failure: 'User Disabled' };
    const successorId = newId('rtk');
    const session = await issueSession(deps, trx, { user, familyId, client: input.client, tokenId: successorId });
    await trx.updateTable('refresh_tokens').set({ replaced_by: successorId }).where('id', '=', tokenId).execute();
    return { session, retried: false };
  });
  if (outcome.failure !== undefined) {
    deps.logger.warn('auth_failure', {
      reason: outcome.failure,
      context: { user_id: userId, family_id: familyId, token_type: 'refresh' },
    });
    throw unauthorized(outcome.failure);
  }
  setRequestUser(outcome.session.user);
  deps.logger.info('auth_success', {
    user_id: userId,
    role: outcome.session.user.role,
    auth_method: 'refresh',
    context: { family_id: familyId, ...(outcome.retried ? { retried_within_grace: true } : {}) },
  });
  return outcome.session;
}

/** Ends the session the refresh token belongs to, on every device that shares its family. */
export async function logout(deps: SessionDeps, input: { refreshToken: string }): Promise<{ ok: true }> {
  const verified = verifiedRefreshToken(deps, input.refreshToken);
  await withTransaction(deps, 'logout', async (trx) => {
    await lockSessionsOf(trx, verified.claims.sub, 'revoke');
    await revokeFamily(trx, verified.claims.fam);
  });
  deps.logger.info('logout', { user_id: verified.claims.sub, family_id: verified.claims.fam });
  return { ok: true };
}

/**
 * Ends every session of a user (a password reset: whoever holds one may be the reason); the
 * caller holds the user's row lock (it updates the row). Answers how many sessions ended.
 */
export async function revokeAllSessions(trx: Trx, { userId }: { userId: string }): Promise<number> {
  const revoked = await trx
    .updateTable('refresh_tokens')
    .set({ revoked_at: new Date() })
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .returning('family_id')
    .execute();
  return new Set(revoked.map((row) => row.family_id)).size;
}
