import { authorizeRole, forbidden, unauthorized, type AuthUser } from '../services/authenticate.ts';
import { t } from './init.ts';

/** Requires a valid access token of a user who exists and is not disabled; narrows `ctx.user`. */
export const requireUser = t.middleware(async ({ ctx, next }) => {
  const auth = await ctx.authenticate();
  if (!auth.ok) throw unauthorized(auth.reason);
  return next({ ctx: { user: auth.user } });
});

/**
 * For public procedures whose answer depends on who asks (admins see inactive products):
 * no Authorization header means anonymous; a header that fails is refused like anywhere else.
 */
export const identifyViewer = t.middleware(async ({ ctx, next }) => {
  let viewer: AuthUser | null = null;
  // Only a caller who sent credentials has them checked.
  if (ctx.header('authorization') !== undefined) {
    const auth = await ctx.authenticate();
    if (!auth.ok) throw unauthorized(auth.reason);
    viewer = auth.user;
  }
  return next({ ctx: { viewer } });
});

/**
 * Requires the admin role, read from the database at this request: a demotion counts at once.
 * It refuses an unauthenticated caller itself, so it is safe without `requireUser` before it.
 */
export const requireAdmin = t.middleware(async ({ ctx, next }) => {
  const auth = await ctx.authenticate();
  if (!auth.ok) throw unauthorized(auth.reason);
  if (!authorizeRole(ctx, auth.user, 'admin')) throw forbidden('admin');
  return next({ ctx: { user: auth.user } });
});
