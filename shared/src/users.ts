import { z } from 'zod';
import { PageQuerySchema, pageOf } from './pagination.ts';
import { safeText, storableText } from './text.ts';

export const USER_ROLES = ['customer', 'admin'] as const;
export const UserRoleSchema = z.enum(USER_ROLES);
export type UserRole = z.infer<typeof UserRoleSchema>;

export const UserIdSchema = safeText()
  .regex(/^usr_[0-9A-Za-z]{1,40}$/, 'must be a user id like usr_…')
  .meta({ example: 'usr_01JD4X8ZQ0M3V6N2T9K7W5A1BC' });

export const EmailSchema = z
  .email('must be an email address')
  .check(storableText)
  .max(254)
  .transform((email) => email.toLowerCase())
  .meta({ example: 'ada@example.com' });

export const UserSchema = z
  .object({
    id: UserIdSchema,
    email: z.string().meta({ example: 'ada@example.com' }),
    name: z.string().meta({ example: 'Ada Lovelace' }),
    role: UserRoleSchema,
    disabled: z.boolean(),
    emailVerifiedAt: z.iso
      .datetime()
      .nullable()
      .meta({ description: 'when the owner proved the address by its mailed link; null until then' }),
    createdAt: z.iso.datetime(),
  })
  .meta({ id: 'User' });
export type User = z.infer<typeof UserSchema>;

export const UserPageSchema = pageOf(UserSchema).meta({ id: 'UserPage' });

export const ListUsersInputSchema = PageQuerySchema.extend({
  q: safeText().trim().min(1).max(100).optional().meta({ description: 'matches email or name' }),
}).prefault({});
export type ListUsersInput = z.infer<typeof ListUsersInputSchema>;

export const GetUserInputSchema = z.strictObject({ userId: UserIdSchema });

export const UpdateUserInputSchema = z.strictObject({
  userId: UserIdSchema,
  role: UserRoleSchema.optional(),
  disabled: z.boolean().optional().meta({ description: 'true locks the account out at its next request' }),
});
export type UpdateUserInput = z.infer<typeof UpdateUserInputSchema>;
