import { z } from 'zod';
import { PASSWORD_MAX_LENGTH, PasswordSchema } from './auth.ts';
import { safeText } from './text.ts';
import { EmailSchema } from './users.ts';

/**
 * A one-time token from a mailed link (the part after `#token=`): 32 random bytes, base64url.
 * Anything else cannot be one, and is refused as bad input before it is looked up.
 */
export const AccountTokenSchema = safeText()
  .regex(/^[A-Za-z0-9_-]{43}$/, 'must be the token of a mailed link (43 characters)')
  .meta({ example: 'q3Yd8Qh1l0nK2c9xWm4Zr7Tb5Vp6Ua0Se1Nf2Gh3Jk4' });

export const VerifyEmailInputSchema = z.strictObject({ token: AccountTokenSchema });
export type VerifyEmailInput = z.infer<typeof VerifyEmailInputSchema>;

export const RequestPasswordResetInputSchema = z.strictObject({ email: EmailSchema });
export type RequestPasswordResetInput = z.infer<typeof RequestPasswordResetInputSchema>;

export const ResetPasswordInputSchema = z.strictObject({
  token: AccountTokenSchema,
  newPassword: PasswordSchema,
});
export type ResetPasswordInput = z.infer<typeof ResetPasswordInputSchema>;

/** The current password proves the owner asks, not someone holding a stolen access token. */
export const ChangeEmailInputSchema = z.strictObject({
  currentPassword: z.string().min(1).max(PASSWORD_MAX_LENGTH),
  newEmail: EmailSchema,
});
export type ChangeEmailInput = z.infer<typeof ChangeEmailInputSchema>;

/** The answer of a request whose effect arrives by mail, the same whatever the address. */
export const AcceptedSchema = z
  .object({
    accepted: z.literal(true),
    message: z
      .string()
      .meta({ example: 'If an account uses this address, a link to reset its password is on its way' }),
  })
  .meta({ id: 'Accepted' });
export type Accepted = z.infer<typeof AcceptedSchema>;

/** Why a mailed link's token was refused; logged exactly in `auth_failure`, and told to the client. */
export const ACCOUNT_TOKEN_FAILURE_REASONS = [
  'Unknown Verification Token',
  'Verification Token Used',
  'Verification Token Expired',
  'Verification Token Revoked',
  'Unknown Reset Token',
  'Reset Token Used',
  'Reset Token Expired',
  'Reset Token Revoked',
] as const;
export type AccountTokenFailureReason = (typeof ACCOUNT_TOKEN_FAILURE_REASONS)[number];
