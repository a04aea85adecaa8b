import type { AuthFailureReason, UserRole } from '@orders/shared';
import type { Db } from '../core/db/database.ts';
import { preparedQuery } from '../core/db/prepared-query.ts';
import { AppError } from '../core/errors.ts';
import type { Logger } from '../core/logging/logger.ts';
import { setRequestUser } from '../core/logging/request-context.ts';
import type { TokenService } from '../core/security.ts';

/** The user a valid access token acts for, read fresh from the database on every request. */
export interface AuthUser {
  id: string;
  role: UserRole;
  email: string;
  /** The session (refresh token family) the access token belongs to. */
  sessionId: string;
}

export interface AuthenticateDeps {
  db: Db;
  logger: Logger;
  tokens: TokenService;
}

/** Who a request acts for, or the exact reason it was refused. */
export type Authentication = { ok: true; user: AuthUser } | { ok: false; reason: AuthFailureReason };

/** A refusal with what its `auth_failure` line says beyond the reason. */
type Refusal = { ok: false; reason: AuthFailureReason; detail?: Record<string, unknown> | undefined };

/**
 * The one 401 of the API: every authentication refusal (a request's token, a refresh token)
 * is this error, its exact reason told to the client too (`WWW-Authenticate`, the envelope).
 */
export function unauthorized(reason: AuthFailureReason): AppError {
  return new AppError('UNAUTHORIZED', `Authentication failed: ${reason}`, { reason });
}

/** The 403 of a caller whose role is not the one an operation needs. */
export function forbidden(required: UserRole): AppError {
  return new AppError('FORBIDDEN', `This needs the ${required} role`, { reason: 'Insufficient Role' });
}

const BEARER = /^Bearer[ ]+([^\s]+)[ ]*$/i;

/**
 * Every authenticated request reads its caller's role and state, and whether its session
 * still has a live refresh token (logout, reuse detection, a password change and disabling
 * revoke them all), in one round trip: compiled once, the session through a partial index.
 */
const accessCheckOf = preparedQuery(
  (db, sessionId: string, userId: string) =>
    db
      .selectFrom('users')
      .select((eb) => [
        'id',
        'role',
        'email',
        'disabled_at',
        eb
          .exists(
            eb
              .selectFrom('refresh_tokens')
              .select('refresh_tokens.id')
              .where('refresh_tokens.family_id', '=', sessionId)
              .whereRef('refresh_tokens.user_id', '=', 'users.id')
              .where('refresh_tokens.revoked_at', 'is', null),
          )
          .as('session_live'),
      ])
      .where('users.id', '=', userId),
  ':sessionId',
  ':userId',
);

/** Checks the Authorization header's access token, and the account and session behind it as they are now. */
async function checkAuthorization(
  deps: AuthenticateDeps,
  authorization: string | undefined,
): Promise<{ ok: true; user: AuthUser } | Refusal> {
  if (authorization === undefined || authorization.trim() === '') return { ok: false, reason: 'Missing Header' };
  const token = BEARER.exec(authorization)?.[1];
  if (token === undefined) return { ok: false, reason: 'Malformed Header' };
  const verified = deps.tokens.verifyAccessToken(token);
  if (!verified.ok) return verified;
  const { sub: userId, sid: sessionId } = verified.claims;
  const [user] = await accessCheckOf(deps.db, sessionId, userId);
  if (!user) return { ok: false, reason: 'Unknown User', detail: { user_id: userId } };
  if (user.disabled_at !== null) return { ok: false, reason: 'User Disabled', detail: { user_id: user.id } };
  if (!user.session_live) {
    return { ok: false, reason: 'Session Revoked', detail: { user_id: user.id, session_id: sessionId } };
  }
  return { ok: true, user: { id: user.id, role: user.role, email: user.email, sessionId } };
}

/**
 * Authenticates a request by its Authorization header (undefined when it has none): verifies
 * the bearer access token, reads its user and session as they are now (one query), and writes
 * one line, `auth_success` (the request's later lines then carry the user) or `auth_failure`
 * with the exact reason. Call it once per request; the context memoises it.
 */
export async function authenticateRequest(
  deps: AuthenticateDeps,
  authorization: string | undefined,
): Promise<Authentication> {
  const outcome = await checkAuthorization(deps, authorization);
  if (outcome.ok) {
    setRequestUser(outcome.user);
    deps.logger.info('auth_success', {
      user_id: outcome.user.id,
      role: outcome.user.role,
      auth_method: 'access_token',
    });
    return outcome;
  }
  deps.logger.warn('auth_failure', {
    reason: outcome.reason,
    ...(outcome.detail ? { context: outcome.detail } : {}),
  });
  return { ok: false, reason: outcome.reason };
}

/** Whether `user` has the `required` role; a refusal writes `auth_failure` Insufficient Role. */
export function authorizeRole(deps: Pick<AuthenticateDeps, 'logger'>, user: AuthUser, required: UserRole): boolean {
  if (user.role === required) return true;
  deps.logger.warn('auth_failure', {
    reason: 'Insufficient Role',
    context: { user_id: user.id, role: user.role, required },
  });
  return false;
}
