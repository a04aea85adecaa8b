import { describe, expect, it } from 'vitest';
import { useTestApp } from '../../test/fixture.ts';
import { refusalOf, testContext } from '../../test/test-context.ts';
import { requireAdmin } from './auth-middleware.ts';
import { appRouter } from './router.ts';
import { createCallerFactory, publicProcedure, router } from './trpc.ts';

const {
  app,
  users: { admin, customer },
} = useTestApp({ users: { admin: 'admin', customer: 'customer' } });

/** `requireAdmin` on its own, without `requireUser` before it. */
const probeRouter = router({
  secret: publicProcedure.use(requireAdmin).query(({ ctx }) => ({ userId: ctx.user.id })),
});

function callerWith(headers: Record<string, string>) {
  return createCallerFactory(probeRouter)(testContext(app, { headers, requestId: 'req-probe' }));
}

describe('requireAdmin on its own', () => {
  it('refuses a caller without a token: 401 Missing Header, the procedure never runs', async () => {
    const refusal = await refusalOf(callerWith({}).secret());
    expect(refusal).toMatchObject({ code: 'UNAUTHORIZED', status: 401, reason: 'Missing Header' });
  });

  it('refuses a bad token with its reason, logged as auth_failure', async () => {
    const refusal = await refusalOf(callerWith({ authorization: 'Bearer not-a-jwt' }).secret());
    expect(refusal).toMatchObject({ code: 'UNAUTHORIZED', reason: 'Malformed Token' });
    expect(app.logs.events('auth_failure', { reason: 'Malformed Token' })).toHaveLength(1);
  });

  it('refuses a customer: 403 Insufficient Role', async () => {
    const refusal = await refusalOf(callerWith({ authorization: `Bearer ${customer.accessToken}` }).secret());
    expect(refusal).toMatchObject({ code: 'FORBIDDEN', status: 403, reason: 'Insufficient Role' });
  });

  it('lets an admin through, with ctx.user narrowed to them', async () => {
    expect(await callerWith({ authorization: `Bearer ${admin.accessToken}` }).secret()).toEqual({ userId: admin.id });
  });
});

describe('a protected procedure of the app through createCaller, without HTTP', () => {
  const callerFor = (headers: Record<string, string>) => createCallerFactory(appRouter)(testContext(app, { headers }));

  it('answers the caller the access token names', async () => {
    const me = await callerFor({ authorization: `Bearer ${customer.accessToken}` }).v1.auth.me();
    expect(me).toMatchObject({ id: customer.id, email: customer.email, role: 'customer' });
  });

  it('refuses a caller without a token: 401 Missing Header', async () => {
    const refusal = await refusalOf(callerFor({}).v1.auth.me());
    expect(refusal).toMatchObject({ code: 'UNAUTHORIZED', status: 401, reason: 'Missing Header' });
  });
});
