import type { AuthSession, LoginInput, RegisterInput, UserRole } from '@orders/shared';
import { sql } from 'kysely';
import type { Db } from '../core/db/database.ts';
import { AppError } from '../core/errors.ts';
import { newId } from '../core/ids.ts';
import type { Logger } from '../core/logging/logger.ts';
import { preparedQuery } from '../core/db/prepared-query.ts';
import { burnPasswordCheck, digestToken, hashPassword, verifyPassword, type TokenService } from '../core/security.ts';
import { setRequestUser } from '../core/logging/request-context.ts';
import { withTransaction, type Trx } from '../core/db/transaction.ts';
import { USER_COLUMNS, toUser } from './users.ts';

export interface AuthDeps {
  db: Db;
  logger: Logger;
  tokens: TokenService;
}

/** Where a session was opened from, kept with its refresh token. */
export interface ClientInfo {
  ip: string;
  userAgent: string | undefined;
}

/** The user a valid access token acts for, read fresh from the database on every request. */
export interface AuthUser {
  id: string;
  role: UserRole;
  email: string;
}

function unauthorized(reason: string, context: Record<string, unknown> = {}): AppError {
  return new AppError('UNAUTHORIZED', `Authentication failed: ${reason}`, { reason, context });
}

async function issueSession(
  deps: AuthDeps,
  trx: Trx,
  { user, familyId, client }: { user: Parameters<typeof toUser>[0]; familyId: string; client: ClientInfo },
): Promise<AuthSession & { tokenId: string }> {
  const tokenId = newId('rtk');
  const refreshToken = deps.tokens.signRefreshToken({ userId: user.id, tokenId, familyId });
  await trx
    .insertInto('refresh_tokens')
    .values({
      id: tokenId,
      user_id: user.id,
      family_id: familyId,
      token_hash: digestToken(refreshToken),
      expires_at: new Date(Date.now() + deps.tokens.refreshTokenTtlSeconds * 1000),
      ip: client.ip,
      user_agent: client.userAgent?.slice(0, 512) ?? null,
    })
    .execute();
  return {
    user: toUser(user),
    accessToken: deps.tokens.signAccessToken(user),
    refreshToken,
    tokenType: 'Bearer',
    expiresIn: deps.tokens.accessTokenTtlSeconds,
    tokenId,
  };
}

function withoutTokenId({ tokenId: _tokenId, ...session }: AuthSession & { tokenId: string }): AuthSession {
  return session;
}

export async function register(deps: AuthDeps, input: RegisterInput & { client: ClientInfo }): Promise<AuthSession> {
  const passwordHash = await hashPassword(input.password);
  const session = await withTransaction(deps, 'register_user', async (trx) => {
    const user = await trx
      .insertInto('users')
      .values({ id: newId('usr'), email: input.email, password_hash: passwordHash, name: input.name })
      .onConflict((conflict) => conflict.expression(sql`lower(email)`).doNothing())
      .returning(USER_COLUMNS)
      .executeTakeFirst();
    if (!user) throw new AppError('EMAIL_TAKEN', 'An account with this email exists already');
    return issueSession(deps, trx, { user, familyId: newId('rtk'), client: input.client });
  });
  deps.logger.info('user_registered', { user_id: session.user.id });
  setRequestUser(session.user);
  deps.logger.info('auth_success', { user_id: session.user.id, role: session.user.role, auth_method: 'register' });
  return withoutTokenId(session);
}

/**
 * Both ways a login can fail answer the same INVALID_CREDENTIALS, after the same argon2 work;
 * only the log knows which one it was.
 */
export async function login(deps: AuthDeps, input: LoginInput & { client: ClientInfo }): Promise<AuthSession> {
  const user = await deps.db
    .selectFrom('users')
    .select([...USER_COLUMNS, 'password_hash'])
    .where((eb) => eb(eb.fn('lower', ['email']), '=', input.email))
    .executeTakeFirst();
  const invalid = () => new AppError('INVALID_CREDENTIALS', 'Email or password is wrong');
  if (!user) {
    await burnPasswordCheck(input.password);
    deps.logger.warn('auth_failure', { reason: 'Unknown Email', context: { email: input.email } });
    throw invalid();
  }
  if (!(await verifyPassword(user.password_hash, input.password))) {
    deps.logger.warn('auth_failure', { reason: 'Wrong Password', context: { user_id: user.id } });
    throw invalid();
  }
  if (user.disabled_at !== null) {
    deps.logger.warn('auth_failure', { reason: 'User Disabled', context: { user_id: user.id } });
    throw invalid();
  }
  const session = await withTransaction(deps, 'login', (trx) =>
    issueSession(deps, trx, { user, familyId: newId('rtk'), client: input.client }),
  );
  setRequestUser(user);
  deps.logger.info('auth_success', { user_id: user.id, role: user.role, auth_method: 'login' });
  return withoutTokenId(session);
}

async function revokeFamily(trx: Trx, familyId: string): Promise<void> {
  await trx
    .updateTable('refresh_tokens')
    .set({ revoked_at: new Date() })
    .where('family_id', '=', familyId)
    .where('revoked_at', 'is', null)
    .execute();
}

/**
 * Rotates a refresh token: the presented one is spent and a new one of the same family is
 * issued. Presenting a spent token again means it leaked: the whole family is revoked, so
 * the thief's newer token stops working too.
 */
export async function refreshSession(
  deps: AuthDeps,
  input: { refreshToken: string; client: ClientInfo },
): Promise<AuthSession> {
  const verified = deps.tokens.verifyRefreshToken(input.refreshToken);
  if (!verified.ok) {
    deps.logger.warn('auth_failure', {
      reason: verified.reason,
      context: { token_type: 'refresh', ...verified.detail },
    });
    throw unauthorized(verified.reason);
  }
  const { jti: tokenId, fam: familyId, sub: userId } = verified.claims;
  const outcome = await withTransaction(deps, 'refresh_session', async (trx) => {
    const spent = await trx
      .updateTable('refresh_tokens')
      .set({ revoked_at: new Date() })
      .where('id', '=', tokenId)
      .where('token_hash', '=', digestToken(input.refreshToken))
      .where('revoked_at', 'is', null)
      .where('expires_at', '>', new Date())
      .returning(['id'])
      .executeTakeFirst();
    if (!spent) {
      const known = await trx
        .selectFrom('refresh_tokens')
        .select(['replaced_by'])
        .where('id', '=', tokenId)
        .executeTakeFirst();
      if (!known) return { failure: 'Unknown Refresh Token' as const };
      await revokeFamily(trx, familyId);
      return {
        failure: known.replaced_by === null ? ('Refresh Token Revoked' as const) : ('Refresh Token Reused' as const),
      };
    }
    const user = await trx.selectFrom('users').select(USER_COLUMNS).where('id', '=', userId).executeTakeFirst();
    if (!user) return { failure: 'Unknown User' as const };
    if (user.disabled_at !== null) return { failure: 'User Disabled' as const };
    const session = await issueSession(deps, trx, { user, familyId, client: input.client });
    await trx.updateTable('refresh_tokens').set({ replaced_by: session.tokenId }).where('id', '=', tokenId).execute();
    return { session };
  });
  if (outcome.failure !== undefined) {
    deps.logger.warn('auth_failure', {
      reason: outcome.failure,
      context: { user_id: userId, family_id: familyId, token_type: 'refresh' },
    });
    throw unauthorized(outcome.failure);
  }
  setRequestUser(outcome.session.user);
  deps.logger.info('auth_success', { user_id: userId, role: outcome.session.user.role, auth_method: 'refresh' });
  return withoutTokenId(outcome.session);
}

/** Ends the session the refresh token belongs to, on every device that shares its family. */
export async function logout(deps: AuthDeps, input: { refreshToken: string }): Promise<{ ok: true }> {
  const verified = deps.tokens.verifyRefreshToken(input.refreshToken);
  if (!verified.ok) {
    deps.logger.warn('auth_failure', {
      reason: verified.reason,
      context: { token_type: 'refresh', ...verified.detail },
    });
    throw unauthorized(verified.reason);
  }
  await withTransaction(deps, 'logout', (trx) => revokeFamily(trx, verified.claims.fam));
  deps.logger.info('logout', { user_id: verified.claims.sub, family_id: verified.claims.fam });
  return { ok: true };
}

export type AccessCheck =
  { ok: true; user: AuthUser } | { ok: false; reason: string; detail?: Record<string, unknown> };

/** Checks an access token and the account behind it as it is now (role, disabled). */
/** Every authenticated request reads its caller's role and state: compiled once. */
const accessCheckOf = preparedQuery(
  (db, userId: string) =>
    db.selectFrom('users').select(['id', 'role', 'email', 'disabled_at']).where('id', '=', userId),
  ':userId',
);

export async function checkAccessToken(deps: Pick<AuthDeps, 'db' | 'tokens'>, token: string): Promise<AccessCheck> {
  const verified = deps.tokens.verifyAccessToken(token);
  if (!verified.ok) return verified;
  const [user] = await accessCheckOf(deps.db, verified.claims.sub);
  if (!user) return { ok: false, reason: 'Unknown User', detail: { user_id: verified.claims.sub } };
  if (user.disabled_at !== null) return { ok: false, reason: 'User Disabled', detail: { user_id: user.id } };
  return { ok: true, user: { id: user.id, role: user.role, email: user.email } };
}
