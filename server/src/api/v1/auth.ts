import {
  AuthSessionSchema,
  ChangePasswordInputSchema,
  LoginInputSchema,
  OkSchema,
  RefreshTokenInputSchema,
  RegisterInputSchema,
  UserSchema,
} from '@orders/shared';
import { z } from 'zod';
import { changePassword, login, register } from '../../services/auth.ts';
import { logout, refreshSession } from '../../services/sessions.ts';
import { getUser } from '../../services/users.ts';
import type { Context } from '../context.ts';
import { enforceRateLimits } from '../rate-limits.ts';
import { protectedProcedure, publicProcedure, router } from '../trpc.ts';
import { route, type ApiVersion } from '../versioning.ts';
import { accountProcedures } from './account.ts';

const clientOf = (ctx: Context) => ({ ip: ctx.ip, userAgent: ctx.header('user-agent') });

export function authRouter(version: ApiVersion) {
  return router({
    register: publicProcedure
      .meta(
        route(version, {
          method: 'POST',
          path: '/auth/register',
          operationId: 'auth.register',
          tags: ['auth'],
          summary: 'Create a customer account and open a session',
          errors: ['EMAIL_TAKEN', 'RATE_LIMITED'],
        }),
      )
      .input(RegisterInputSchema)
      .output(AuthSessionSchema)
      .mutation(async ({ ctx, input }) => {
        await enforceRateLimits(ctx, { action: 'register' });
        return register(ctx, { ...input, client: clientOf(ctx) });
      }),

    login: publicProcedure
      .meta(
        route(version, {
          method: 'POST',
          path: '/auth/login',
          operationId: 'auth.login',
          tags: ['auth'],
          summary: 'Open a session with email and password',
          description: 'A wrong email and a wrong password give the same 401 INVALID_CREDENTIALS.',
          errors: ['INVALID_CREDENTIALS', 'RATE_LIMITED'],
        }),
      )
      .input(LoginInputSchema)
      .output(AuthSessionSchema)
      .mutation(async ({ ctx, input }) => {
        await enforceRateLimits(ctx, { action: 'login', email: input.email });
        return login(ctx, { ...input, client: clientOf(ctx) });
      }),

    refresh: publicProcedure
      .meta(
        route(version, {
          method: 'POST',
          path: '/auth/refresh',
          operationId: 'auth.refresh',
          tags: ['auth'],
          summary: 'Trade a refresh token for a new session',
          description: 'The presented token is spent. Presenting a spent token again revokes its whole family.',
          errors: ['UNAUTHORIZED', 'RATE_LIMITED'],
        }),
      )
      .input(RefreshTokenInputSchema)
      .output(AuthSessionSchema)
      .mutation(async ({ ctx, input }) => {
        await enforceRateLimits(ctx, { action: 'refresh' });
        return refreshSession(ctx, { refreshToken: input.refreshToken, client: clientOf(ctx) });
      }),

    logout: publicProcedure
      .meta(
        route(version, {
          method: 'POST',
          path: '/auth/logout',
          operationId: 'auth.logout',
          tags: ['auth'],
          summary: 'Revoke the session of a refresh token',
          errors: ['UNAUTHORIZED'],
        }),
      )
      .input(RefreshTokenInputSchema)
      .output(OkSchema)
      .mutation(({ ctx, input }) => logout(ctx, input)),

    changePassword: protectedProcedure
      .meta(
        route(version, {
          method: 'POST',
          path: '/auth/change-password',
          operationId: 'auth.changePassword',
          tags: ['auth'],
          summary: 'Change the password and sign out every other session',
          description:
            'Needs the current password. Every other session of the account (its refresh tokens and their access tokens) ends; the one this request came with stays signed in.',
          errors: ['INVALID_CURRENT_PASSWORD', 'RATE_LIMITED'],
        }),
      )
      .input(ChangePasswordInputSchema)
      .output(OkSchema)
      .mutation(async ({ ctx, input }) => {
        // Per account too: a stolen access token must not become a password oracle.
        await enforceRateLimits(ctx, { action: 'change_password', email: ctx.user.email });
        return changePassword(ctx, { ...input, user: ctx.user });
      }),

    me: protectedProcedure
      .meta(
        route(version, {
          method: 'GET',
          path: '/auth/me',
          operationId: 'auth.me',
          tags: ['auth'],
          summary: 'The signed-in user',
          errors: [],
        }),
      )
      .input(z.strictObject({}).prefault({}))
      .output(UserSchema)
      .query(({ ctx }) => getUser(ctx.db, { userId: ctx.user.id })),

    ...accountProcedures(version),
  });
}
