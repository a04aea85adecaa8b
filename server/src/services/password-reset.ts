import type { Accepted, RequestPasswordResetInput, ResetPasswordInput } from '@orders/shared';
import { withTransaction, type Trx } from '../core/db/transaction.ts';
import { newId } from '../core/ids.ts';
import { hashPassword } from '../core/security.ts';
import { passwordResetMail, accountLink } from './account-mail.ts';
import {
  ACCOUNT_TOKEN_TTL_MS,
  consumeAccountToken,
  newAccountToken,
  refuseAccountToken,
  voidAccountTokens,
} from './account-tokens.ts';
import type { AccountDeps } from './email-verification.ts';
import { revokeAllSessions } from './sessions.ts';

export const RESET_REQUESTED: Accepted = {
  accepted: true,
  message: 'If an account uses this address, a link to reset its password is on its way',
};

/**
 * Mails a one-time reset link to the account with this email, voiding its older ones. An
 * unknown (or disabled) address gets the same answer after the same work: the same two
 * statements run, matching no row, a token is made and thrown away, and the mail is sent in
 * the background either way, so neither the answer nor its time tells whether the account exists.
 */
export async function requestPasswordReset(deps: AccountDeps, { email }: RequestPasswordResetInput): Promise<Accepted> {
  const { token, tokenHash } = newAccountToken();
  const owner = (trx: Trx) =>
    trx
      .selectFrom('users')
      .where((eb) => eb(eb.fn('lower', ['email']), '=', email))
      .where('disabled_at', 'is', null);
  const issued = await withTransaction(deps, 'request_password_reset', async (trx) => {
    await trx
      .updateTable('account_tokens')
      .set({ revoked_at: new Date() })
      .where('user_id', 'in', owner(trx).select('id'))
      .where('purpose', '=', 'reset_password')
      .where('used_at', 'is', null)
      .where('revoked_at', 'is', null)
      .execute();
    return trx
      .insertInto('account_tokens')
      .columns(['id', 'user_id', 'purpose', 'email', 'token_hash', 'expires_at'])
      .expression(
        owner(trx).select((eb) => [
          eb.val(newId('atk')).as('id'),
          'id as user_id',
          eb.val('reset_password').as('purpose'),
          'email',
          eb.val(tokenHash).as('token_hash'),
          eb.val(new Date(Date.now() + ACCOUNT_TOKEN_TTL_MS.reset_password)).as('expires_at'),
        ]),
      )
      .returning(['user_id', 'email'])
      .executeTakeFirst();
  });
  deps.logger.info('password_reset_requested', {
    context: issued ? { user_id: issued.user_id, account_found: true } : { email, account_found: false },
  });
  if (issued) {
    deps.mailer.send(
      passwordResetMail({ to: issued.email, link: accountLink(deps.config.publicUrl, 'reset-password', token) }),
    );
  }
  return RESET_REQUESTED;
}

/**
 * Sets a new password with a mailed reset token (spent by it, with every other reset token of
 * the user), and ends every session of the user: refresh token families and, with them, the
 * access tokens they issued. Following the link proves the address too.
 */
export async function resetPassword(deps: AccountDeps, input: ResetPasswordInput): Promise<{ ok: true }> {
  const passwordHash = await hashPassword(input.newPassword);
  const outcome = await withTransaction(deps, 'reset_password', async (trx) => {
    const consumed = await consumeAccountToken(trx, { token: input.token, purpose: 'reset_password' });
    if (!consumed.ok) return consumed;
    const now = new Date();
    await trx
      .updateTable('users')
      .set((eb) => ({
        password_hash: passwordHash,
        updated_at: now,
        email_verified_at: eb
          .case()
          .when(eb.fn('lower', ['email']), '=', consumed.email.toLowerCase())
          .then(eb.fn.coalesce('email_verified_at', eb.val(now)))
          .else(eb.ref('email_verified_at'))
          .end(),
      }))
      .where('id', '=', consumed.userId)
      .execute();
    await voidAccountTokens(trx, { userId: consumed.userId, purpose: 'reset_password' });
    const revokedSessions = await revokeAllSessions(trx, { userId: consumed.userId });
    return { ...consumed, revokedSessions };
  });
  if (!outcome.ok) throw refuseAccountToken(deps.logger, outcome, 'reset_password');
  deps.logger.info('password_reset', {
    user_id: outcome.userId,
    context: { token_id: outcome.id, revoked_sessions: outcome.revokedSessions },
  });
  return { ok: true };
}
