import { z } from 'zod';
import { safeText } from './text.ts';
import { EmailSchema, UserSchema } from './users.ts';

export const PASSWORD_MIN_LENGTH = 12;
export const PASSWORD_MAX_LENGTH = 128;

export const PasswordSchema = safeText()
  .min(PASSWORD_MIN_LENGTH, `must be at least ${PASSWORD_MIN_LENGTH} characters`)
  .max(PASSWORD_MAX_LENGTH, `must be at most ${PASSWORD_MAX_LENGTH} characters`)
  .meta({ example: 'correct horse battery staple' });

/** Strict: `role` or any other extra key is a 400, so nobody registers as an admin. */
export const RegisterInputSchema = z.strictObject({
  email: EmailSchema,
  password: PasswordSchema,
  name: safeText().trim().min(1).max(100).meta({ example: 'Ada Lovelace' }),
});
export type RegisterInput = z.infer<typeof RegisterInputSchema>;

export const LoginInputSchema = z.strictObject({
  email: EmailSchema,
  // No length rules here: a login must not reveal the password policy of an account.
  password: safeText().min(1).max(PASSWORD_MAX_LENGTH),
});
export type LoginInput = z.infer<typeof LoginInputSchema>;

export const RefreshTokenInputSchema = z.strictObject({
  refreshToken: safeText().min(1).max(4096),
});
export type RefreshTokenInput = z.infer<typeof RefreshTokenInputSchema>;

/** The current password proves it is the account's owner, not someone holding a stolen token. */
export const ChangePasswordInputSchema = z.strictObject({
  currentPassword: z.string().min(1).max(PASSWORD_MAX_LENGTH),
  newPassword: PasswordSchema,
});
export type ChangePasswordInput = z.infer<typeof ChangePasswordInputSchema>;

export const AuthSessionSchema = z
  .object({
    user: UserSchema,
    accessToken: z.string(),
    refreshToken: z.string(),
    tokenType: z.literal('Bearer'),
    expiresIn: z.int().meta({ description: 'seconds until the access token expires', example: 900 }),
  })
  .meta({ id: 'AuthSession' });
export type AuthSession = z.infer<typeof AuthSessionSchema>;

export const OkSchema = z.object({ ok: z.literal(true) }).meta({ id: 'Ok' });

/** Why a request was refused authentication; logged exactly, and returned for token problems. */
export const AUTH_FAILURE_REASONS = [
  'Missing Header',
  'Malformed Header',
  'Malformed Token',
  'Invalid Signature',
  'Expired Token',
  'Token Not Yet Valid',
  'Invalid Algorithm',
  'Wrong Token Type',
  'Invalid Audience',
  'Invalid Issuer',
  'Unknown User',
  'User Disabled',
  'Insufficient Role',
  'Unknown Email',
  'Wrong Password',
  'Refresh Token Reused',
  'Refresh Token Revoked',
  'Unknown Refresh Token',
  'Session Revoked',
  'Email Not Verified',
] as const;
export type AuthFailureReason = (typeof AUTH_FAILURE_REASONS)[number];
