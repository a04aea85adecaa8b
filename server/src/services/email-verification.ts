import type { Accepted, ChangeEmailInput, User, VerifyEmailInput } from '@orders/shared';
import type { Config } from '../core/config.ts';
import type { Db } from '../core/db/database.ts';
import { withTransaction, type Trx } from '../core/db/transaction.ts';
import { isUniqueViolation } from '../core/db/database-errors.ts';
import { AppError } from '../core/errors.ts';
import type { Logger } from '../core/logging/logger.ts';
import type { Mailer } from '../core/mail/mailer.ts';
import { verifyPassword } from '../core/security.ts';
import { accountLink, emailChangedMail, verificationMail } from './account-mail.ts';
import { consumeAccountToken, issueAccountToken, refuseAccountToken } from './account-tokens.ts';
import type { AuthUser } from './authenticate.ts';
import type { SessionDeps } from './sessions.ts';
import { USER_COLUMNS, toUser } from './users.ts';

/** What the account's lifecycle needs beyond sessions: mail, and the public URL its links point to. */
export interface AccountDeps extends SessionDeps {
  mailer: Mailer;
  config: Pick<Config, 'publicUrl'>;
}

/**
 * Stores a verification token for `email` (the account's own, or the new address of an email
 * change), voiding the older ones; returns the message to send once the transaction commits.
 */
export async function verificationFor(
  deps: Pick<AccountDeps, 'config'>,
  trx: Trx,
  { user, email }: { user: { id: string; name: string }; email: string },
) {
  const token = await issueAccountToken(trx, { userId: user.id, purpose: 'verify_email', email });
  return verificationMail({
    to: email,
    name: user.name,
    link: accountLink(deps.config.publicUrl, 'verify-email', token),
  });
}

const VERIFICATION_SENT: Accepted = { accepted: true, message: 'A link to confirm the address is on its way' };

/** Mails the signed-in user a new verification link (voiding the older ones), unless the address is verified already. */
export async function resendVerification(deps: AccountDeps, { user }: { user: AuthUser }): Promise<Accepted> {
  const message = await withTransaction(deps, 'resend_verification', async (trx) => {
    const row = await trx
      .selectFrom('users')
      .select(['id', 'name', 'email', 'email_verified_at'])
      .where('id', '=', user.id)
      .executeTakeFirstOrThrow();
    if (row.email_verified_at !== null) return undefined;
    return verificationFor(deps, trx, { user: row, email: row.email });
  });
  if (!message) return { accepted: true, message: 'This address is verified already; nothing was sent' };
  deps.logger.info('verification_requested', { user_id: user.id });
  deps.mailer.send(message);
  return VERIFICATION_SENT;
}

type Verified = { ok: true; user: User; previousEmail: string | undefined; name: string };

/**
 * Spends a verification token: the address it was mailed to is verified, and when it is the
 * new address of an email change, it replaces the old one, which is told.
 */
export async function verifyEmail(deps: AccountDeps, { token }: VerifyEmailInput): Promise<User> {
  const outcome = await spendVerification(deps, token);
  if (!outcome.ok) throw refuseAccountToken(deps.logger, outcome, 'verify_email');
  const { user, previousEmail } = outcome;
  deps.logger.info('email_verified', { user_id: user.id });
  if (previousEmail !== undefined) {
    deps.logger.info('email_changed', { user_id: user.id });
    deps.mailer.send(emailChangedMail({ to: previousEmail, name: outcome.name, newEmail: user.email }));
  }
  return user;
}

/**
 * The token spent and the address written, in one transaction. An address taken by another
 * account between the check and the write (its transaction not yet committed at the check) is
 * refused by the unique index: 409 EMAIL_TAKEN, and the token stays unspent.
 */
async function spendVerification(deps: AccountDeps, token: string) {
  try {
    return await withTransaction(deps, 'verify_email', async (trx) => {
      const consumed = await consumeAccountToken(trx, { token, purpose: 'verify_email' });
      if (!consumed.ok) return consumed;
      const current = await trx
        .selectFrom('users')
        .select(['email', 'name'])
        .where('id', '=', consumed.userId)
        .forNoKeyUpdate()
        .executeTakeFirstOrThrow();
      const changing = current.email.toLowerCase() !== consumed.email.toLowerCase();
      if (changing) await ensureEmailFree(trx, { email: consumed.email, userId: consumed.userId });
      const row = await trx
        .updateTable('users')
        .set((eb) => ({
          email: consumed.email,
          email_verified_at: changing ? new Date() : eb.fn.coalesce('email_verified_at', eb.val(new Date())),
          updated_at: new Date(),
        }))
        .where('id', '=', consumed.userId)
        .returning(USER_COLUMNS)
        .executeTakeFirstOrThrow();
      const verified: Verified = {
        ok: true,
        user: toUser(row),
        previousEmail: changing ? current.email : undefined,
        name: current.name,
      };
      return verified;
    });
  } catch (error) {
    if (isUniqueViolation(error)) throw new AppError('EMAIL_TAKEN', 'An account with this email exists already');
    throw error;
  }
}

async function ensureEmailFree(db: Db | Trx, { email, userId }: { email: string; userId: string }): Promise<void> {
  const taken = await db
    .selectFrom('users')
    .select('id')
    .where((eb) => eb(eb.fn('lower', ['email']), '=', email.toLowerCase()))
    .where('id', '<>', userId)
    .executeTakeFirst();
  if (taken) throw new AppError('EMAIL_TAKEN', 'An account with this email exists already');
}

/**
 * Starts an email change: with the current password, mails a verification link to the new
 * address; the account keeps its old address until that link is followed.
 */
export async function changeEmail(deps: AccountDeps, input: ChangeEmailInput & { user: AuthUser }): Promise<Accepted> {
  const { id: userId } = input.user;
  const row = await deps.db
    .selectFrom('users')
    .select(['id', 'name', 'email', 'password_hash'])
    .where('id', '=', userId)
    .executeTakeFirst();
  if (!row || !(await verifyPassword(row.password_hash, input.currentPassword))) {
    deps.logger.warn('auth_failure', {
      reason: 'Wrong Password',
      context: { user_id: userId, action: 'change_email' },
    });
    throw new AppError('INVALID_CURRENT_PASSWORD', 'The current password is wrong; nothing was changed');
  }
  if (row.email.toLowerCase() === input.newEmail) {
    throw new AppError('BAD_REQUEST', 'This is the email address of the account already');
  }
  await ensureEmailFree(deps.db, { email: input.newEmail, userId });
  const message = await withTransaction(deps, 'change_email', (trx) =>
    verificationFor(deps, trx, { user: row, email: input.newEmail }),
  );
  deps.logger.info('email_change_requested', { user_id: userId });
  deps.mailer.send(message);
  return {
    accepted: true,
    message: 'A link to confirm the new address is on its way; the account keeps its address until then',
  };
}

/** Refuses (403 EMAIL_NOT_VERIFIED) a user whose address is not verified; for REQUIRE_VERIFIED_EMAIL. */
export async function ensureEmailVerified(
  deps: { db: Db; logger: Logger },
  { userId }: { userId: string },
): Promise<void> {
  const row = await deps.db.selectFrom('users').select('email_verified_at').where('id', '=', userId).executeTakeFirst();
  if (row?.email_verified_at) return;
  deps.logger.warn('auth_failure', { reason: 'Email Not Verified', context: { user_id: userId } });
  throw new AppError(
    'EMAIL_NOT_VERIFIED',
    'Verify your email address before placing an order; the link was mailed to you',
  );
}
