import { authorizeRole, forbidden, unauthorized, type AuthUser } from '../services/authenticate.ts';
import { t } from './init.ts';

/**
 * The `WWW-Authenticate` challenge every 401 carries (RFC 9110 requires one). RFC 6750: a
 * refused token says why; a request without credentials, or a failed login (whose reason
 * the client must not learn), gets the bare challenge.
 */
export function bearerChallenge(reason: string | undefined): string {
  if (reason === undefined || reason === 'Missing Header') return 'Bearer realm="orders-service"';
  const error = reason === 'Malformed Header' ? 'invalid_request' : 'invalid_token';
  return `Bearer realm="orders-service", error="${error}", error_description="${reason}"`;
}

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
