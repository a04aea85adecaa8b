import {
  GetUserInputSchema,
  ListUsersInputSchema,
  UpdateUserInputSchema,
  UserPageSchema,
  UserSchema,
} from '@orders/shared';
import { getUser, listUsers, updateUser } from '../../services/users.ts';
import { adminProcedure, router } from '../trpc.ts';
import { route, type ApiVersion } from '../versioning.ts';

export function usersRouter(version: ApiVersion) {
  return router({
    list: adminProcedure
      .meta(
        route(version, {
          method: 'GET',
          path: '/users',
          operationId: 'users.list',
          tags: ['users'],
          summary: 'List users (admin)',
          errors: [],
        }),
      )
      .input(ListUsersInputSchema)
      .output(UserPageSchema)
      .query(({ ctx, input }) => listUsers(ctx.db, input)),

    get: adminProcedure
      .meta(
        route(version, {
          method: 'GET',
          path: '/users/{userId}',
          operationId: 'users.get',
          tags: ['users'],
          summary: 'Get one user (admin)',
          errors: ['USER_NOT_FOUND'],
        }),
      )
      .input(GetUserInputSchema)
      .output(UserSchema)
      .query(({ ctx, input }) => getUser(ctx.db, input)),

    update: adminProcedure
      .meta(
        route(version, {
          method: 'PATCH',
          path: '/users/{userId}',
          operationId: 'users.update',
          tags: ['users'],
          summary: 'Change a role or lock an account (admin)',
          description: "Takes effect at the user's next request. Disabling revokes every refresh token.",
          errors: ['USER_NOT_FOUND', 'CONFLICT', 'LAST_ADMIN'],
        }),
      )
      .input(UpdateUserInputSchema)
      .output(UserSchema)
      .mutation(({ ctx, input }) => updateUser(ctx, { ...input, actorId: ctx.user.id })),
  });
}
