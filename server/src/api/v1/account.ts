import {
  AcceptedSchema,
  ChangeEmailInputSchema,
  OkSchema,
  RequestPasswordResetInputSchema,
  ResetPasswordInputSchema,
  UserSchema,
  VerifyEmailInputSchema,
} from '@orders/shared';
import { z } from 'zod';
import { changeEmail, resendVerification, verifyEmail } from '../../services/email-verification.ts';
import { requestPasswordReset, resetPassword } from '../../services/password-reset.ts';
import { enforceRateLimits } from '../rate-limits.ts';
import { protectedProcedure, publicProcedure } from '../trpc.ts';
import { route, type ApiVersion } from '../versioning.ts';

const TOKEN_LINKS =
  'The token is the part after `#token=` of the mailed link. One use; a wrong, used, expired or voided token is 400 INVALID_TOKEN with the reason.';

/** The account's lifecycle under `auth`: email verification, forgotten passwords, email change. */
export function accountProcedures(version: ApiVersion) {
  return {
    verifyEmail: publicProcedure
      .meta(
        route(version, {
          method: 'POST',
          path: '/auth/verify-email',
          operationId: 'auth.verifyEmail',
          tags: ['auth'],
          summary: 'Confirm an email address with the token of its mailed link',
          description: `Marks the address verified; for an email change, the new address replaces the old one, which is told. ${TOKEN_LINKS}`,
          errors: ['INVALID_TOKEN', 'EMAIL_TAKEN', 'RATE_LIMITED'],
        }),
      )
      .input(VerifyEmailInputSchema)
      .output(UserSchema)
      .mutation(async ({ ctx, input }) => {
        await enforceRateLimits(ctx, { action: 'verify_email' });
        return verifyEmail(ctx, input);
      }),

    resendVerification: protectedProcedure
      .meta(
        route(version, {
          method: 'POST',
          path: '/auth/resend-verification',
          operationId: 'auth.resendVerification',
          tags: ['auth'],
          summary: "Mail a new link to confirm the signed-in user's address",
          description: 'Voids the links mailed before. Nothing is sent for an address verified already.',
          errors: ['RATE_LIMITED'],
        }),
      )
      .input(z.strictObject({}).prefault({}))
      .output(AcceptedSchema)
      .mutation(async ({ ctx }) => {
        await enforceRateLimits(ctx, { action: 'resend_verification', email: ctx.user.email });
        return resendVerification(ctx, { user: ctx.user });
      }),

    requestPasswordReset: publicProcedure
      .meta(
        route(version, {
          method: 'POST',
          path: '/auth/request-password-reset',
          operationId: 'auth.requestPasswordReset',
          tags: ['auth'],
          summary: 'Mail a link to reset a forgotten password',
          description:
            'The same answer, in the same time, whether or not an account uses the address. The link works once, for one hour; asking again voids the older links.',
          errors: ['RATE_LIMITED'],
        }),
      )
      .input(RequestPasswordResetInputSchema)
      .output(AcceptedSchema)
      .mutation(async ({ ctx, input }) => {
        await enforceRateLimits(ctx, { action: 'request_password_reset', email: input.email });
        return requestPasswordReset(ctx, input);
      }),

    resetPassword: publicProcedure
      .meta(
        route(version, {
          method: 'POST',
          path: '/auth/reset-password',
          operationId: 'auth.resetPassword',
          tags: ['auth'],
          summary: 'Set a new password with the token of a mailed reset link',
          description: `Every session of the account ends (refresh tokens and their access tokens). ${TOKEN_LINKS}`,
          errors: ['INVALID_TOKEN', 'RATE_LIMITED'],
        }),
      )
      .input(ResetPasswordInputSchema)
      .output(OkSchema)
      .mutation(async ({ ctx, input }) => {
        await enforceRateLimits(ctx, { action: 'reset_password' });
        return resetPassword(ctx, input);
      }),

    changeEmail: protectedProcedure
      .meta(
        route(version, {
          method: 'POST',
          path: '/auth/change-email',
          operationId: 'auth.changeEmail',
          tags: ['auth'],
          summary: 'Change the email address, once the new one is confirmed',
          description:
            'Needs the current password. Mails a link to the new address; the account keeps its address until auth.verifyEmail spends it, and the old address is then told.',
          errors: ['INVALID_CURRENT_PASSWORD', 'EMAIL_TAKEN', 'BAD_REQUEST', 'RATE_LIMITED'],
        }),
      )
      .input(ChangeEmailInputSchema)
      .output(AcceptedSchema)
      .mutation(async ({ ctx, input }) => {
        await enforceRateLimits(ctx, { action: 'change_email', email: ctx.user.email });
        return changeEmail(ctx, { ...input, user: ctx.user });
      }),
  };
}
