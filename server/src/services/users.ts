import type { ListUsersInput, Page, UpdateUserInput, User } from '@orders/shared';
import type { Db } from '../core/db/database.ts';
import { AppError } from '../core/errors.ts';
import type { Logger } from '../core/logging/logger.ts';
import { withTransaction, type Trx } from '../core/db/transaction.ts';
import type { UserRow } from '../models/index.ts';
import { containsPattern, countAsTotal, countedTotal, offsetPage } from './paging.ts';

export const USER_COLUMNS = ['id', 'email', 'name', 'role', 'disabled_at', 'email_verified_at', 'created_at'] as const;
type UserColumns = Pick<UserRow, (typeof USER_COLUMNS)[number]>;

export function toUser(row: UserColumns): User {
  return {
    id: row.id,
    email: row.email,
    name: row.name,
    role: row.role,
    disabled: row.disabled_at !== null,
    emailVerifiedAt: row.email_verified_at?.toISOString() ?? null,
    createdAt: row.created_at.toISOString(),
  };
}

export async function findUserById(db: Db, userId: string): Promise<UserColumns | undefined> {
  return db.selectFrom('users').select(USER_COLUMNS).where('id', '=', userId).executeTakeFirst();
}

export async function getUser(db: Db, { userId }: { userId: string }): Promise<User> {
  const row = await findUserById(db, userId);
  if (!row) throw new AppError('USER_NOT_FOUND', `No user with id ${userId}`, { context: { user_id: userId } });
  return toUser(row);
}

export async function listUsers(db: Db, options: ListUsersInput): Promise<Page<User>> {
  let query = db.selectFrom('users');
  if (options.q !== undefined) {
    const pattern = containsPattern(options.q);
    query = query.where((eb) => eb.or([eb('email', 'ilike', pattern), eb('name', 'ilike', pattern)]));
  }
  return offsetPage({
    rows: query
      .select(USER_COLUMNS)
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(options.limit)
      .offset(options.offset)
      .execute(),
    count: options.q === undefined ? countedTotal(db, 'users') : query.select(countAsTotal).executeTakeFirstOrThrow(),
    window: options,
    map: (rows) => rows.map(toUser),
  });
}

/**
 * Refuses a change that would leave no active admin. The active admins' rows are locked first
 * (in id order, so two such changes never deadlock): of two admins demoting each other at the
 * same moment, the second waits, then sees the first's change and is refused.
 */
async function keepAnAdmin(trx: Trx, userId: string): Promise<void> {
  const admins = await trx
    .selectFrom('users')
    .select('id')
    .where('role', '=', 'admin')
    .where('disabled_at', 'is', null)
    .orderBy('id')
    .forUpdate()
    .execute();
  if (admins.length === 1 && admins[0]?.id === userId) {
    throw new AppError('LAST_ADMIN', 'This is the last active admin; make another admin first', {
      context: { user_id: userId },
    });
  }
}

/**
 * Changes a user's role or locks the account. Both take effect at the user's next request:
 * every request reads the user's current role and state. Disabling also revokes every
 * refresh token, so no new access token can be had and the ones out there end with their
 * sessions. An admin cannot lock out or demote themselves, nor the last active admin
 * (someone must be left to undo it).
 */
export async function updateUser(
  deps: { db: Db; logger: Logger },
  { actorId, ...input }: UpdateUserInput & { actorId: string },
): Promise<User> {
  if (input.userId === actorId && (input.disabled === true || input.role === 'customer')) {
    throw new AppError('CONFLICT', 'You cannot disable or demote your own account', { context: { user_id: actorId } });
  }
  return withTransaction(deps, 'update_user', async (trx) => {
    if (input.disabled === true || input.role === 'customer') await keepAnAdmin(trx, input.userId);
    const row = await trx
      .updateTable('users')
      .set({
        ...(input.role === undefined ? {} : { role: input.role }),
        ...(input.disabled === undefined ? {} : { disabled_at: input.disabled ? new Date() : null }),
        updated_at: new Date(),
      })
      .where('id', '=', input.userId)
      .returning(USER_COLUMNS)
      .executeTakeFirst();
    if (!row)
      throw new AppError('USER_NOT_FOUND', `No user with id ${input.userId}`, { context: { user_id: input.userId } });
    if (input.disabled === true) {
      await trx
        .updateTable('refresh_tokens')
        .set({ revoked_at: new Date() })
        .where('user_id', '=', input.userId)
        .where('revoked_at', 'is', null)
        .execute();
    }
    return toUser(row);
  });
}
