import type { AuthSession, ChangePasswordInput, LoginInput, RegisterInput } from '@orders/shared';
import { sql } from 'kysely';
import { AppError } from '../core/errors.ts';
import { newId } from '../core/ids.ts';
import { burnPasswordCheck, hashPassword, verifyPassword } from '../core/security.ts';
import { setRequestUser } from '../core/logging/request-context.ts';
import { withTransaction } from '../core/db/transaction.ts';
import type { AuthUser } from './authenticate.ts';
import { verificationFor, type AccountDeps } from './email-verification.ts';
import { issueSession, revokeOtherSessions, type ClientInfo } from './sessions.ts';
import { USER_COLUMNS } from './users.ts';

export type AuthDeps = AccountDeps;

export async function register(deps: AuthDeps, input: RegisterInput & { client: ClientInfo }): Promise<AuthSession> {
  const passwordHash = await hashPassword(input.password);
  const { session, verification } = await withTransaction(deps, 'register_user', async (trx) => {
    const user = await trx
      .insertInto('users')
      .values({ id: newId('usr'), email: input.email, password_hash: passwordHash, name: input.name })
      .onConflict((conflict) => conflict.expression(sql`lower(email)`).doNothing())
      .returning(USER_COLUMNS)
      .executeTakeFirst();
    if (!user) throw new AppError('EMAIL_TAKEN', 'An account with this email exists already');
    return {
      session: await issueSession(deps, trx, { user, familyId: newId('rtk'), client: input.client }),
      verification: await verificationFor(deps, trx, { user, email: user.email }),
    };
  });
  deps.logger.info('user_registered', { user_id: session.user.id });
  deps.mailer.send(verification);
  setRequestUser(session.user);
  deps.logger.info('auth_success', { user_id: session.user.id, role: session.user.role, auth_method: 'register' });
  return session;
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
  return session;
}

/**
 * Sets a new password after checking the current one, and ends every other session of the
 * user (a thief's included); the session the request came with stays signed in.
 */
export async function changePassword(
  deps: AuthDeps,
  input: ChangePasswordInput & { user: AuthUser },
): Promise<{ ok: true }> {
  const { id: userId, sessionId } = input.user;
  const row = await deps.db.selectFrom('users').select('password_hash').where('id', '=', userId).executeTakeFirst();
  if (!row || !(await verifyPassword(row.password_hash, input.currentPassword))) {
    deps.logger.warn('auth_failure', {
      reason: 'Wrong Password',
      context: { user_id: userId, action: 'change_password' },
    });
    throw new AppError('INVALID_CURRENT_PASSWORD', 'The current password is wrong; nothing was changed');
  }
  const passwordHash = await hashPassword(input.newPassword);
  const revokedSessions = await withTransaction(deps, 'change_password', async (trx) => {
    await trx
      .updateTable('users')
      .set({ password_hash: passwordHash, updated_at: new Date() })
      .where('id', '=', userId)
      .execute();
    return revokeOtherSessions(trx, { userId, keepFamilyId: sessionId });
  });
  deps.logger.info('password_changed', { user_id: userId, context: { revoked_sessions: revokedSessions } });
  return { ok: true };
}
