import { randomUUID } from 'node:crypto';
import type { AuthFailureReason } from '@orders/shared';
import { beforeAll, describe, expect, it } from 'vitest';
import { forgeToken, sessionIdOf, unsignedToken } from '../../test/api-client.ts';
import { useTestApp } from '../../test/fixture.ts';
import { trpcBatchUrl, waitForLines } from '../../test/http-client.ts';
import { runWithRequestContext, type RequestContext } from '../core/logging/request-context.ts';
import { createTokenService } from '../core/security.ts';
import { authenticateRequest, type AuthenticateDeps } from './authenticate.ts';

const {
  app,
  secrets,
  users: { customer, disabled, 'logged-out': loggedOut },
} = useTestApp({ users: { customer: 'customer', disabled: 'customer', 'logged-out': 'customer' } });
let deps: AuthenticateDeps;

beforeAll(async () => {
  deps = { db: app.database.db, logger: app.logger, tokens: createTokenService(app.config.jwt) };
  await app.database.db.updateTable('users').set({ disabled_at: new Date() }).where('id', '=', disabled.id).execute();
  await app.database.db
    .updateTable('refresh_tokens')
    .set({ revoked_at: new Date() })
    .where('user_id', '=', loggedOut.id)
    .execute();
});

/** Authenticates `authorization` as a request of its own: its outcome, its request context, and its auth lines. */
async function authenticateAs(authorization: string | undefined) {
  const context: RequestContext = {
    request_id: `req-${randomUUID()}`,
    method: 'GET',
    path: '/probe',
    ip: '127.0.0.1',
    user_id: null,
    role: null,
  };
  const outcome = await runWithRequestContext(context, () => authenticateRequest(deps, authorization));
  await app.logger.flush();
  const authLines = app.logs.forRequest(context.request_id).filter((line) => line.event.startsWith('auth_'));
  return { outcome, context, authLines };
}

const nowSeconds = () => Math.floor(Date.now() / 1000);
const forged = (...args: Parameters<typeof forgeToken>) => {
  const token = forgeToken(...args);
  secrets.add(token);
  return `Bearer ${token}`;
};

describe('authenticateRequest: each refusal has its exact reason and one auth_failure line', () => {
  const cases: {
    name: string;
    reason: AuthFailureReason;
    header: () => string | undefined;
    context?: () => unknown;
  }[] = [
    { name: 'no Authorization header', reason: 'Missing Header', header: () => undefined },
    { name: 'a blank Authorization header', reason: 'Missing Header', header: () => '  ' },
    { name: 'another scheme', reason: 'Malformed Header', header: () => 'Basic dXNlcjpwYXNz' },
    { name: 'Bearer without a token', reason: 'Malformed Header', header: () => 'Bearer' },
    { name: 'a token that is not a JWT', reason: 'Malformed Token', header: () => 'Bearer not-a-jwt' },
    {
      name: 'a token signed with another secret',
      reason: 'Invalid Signature',
      header: () => forged({ sub: customer.id }, { secret: 'another-secret-that-is-long-enough-0123456789' }),
    },
    {
      name: 'an expired token',
      reason: 'Expired Token',
      header: () => forged({ sub: customer.id, iat: nowSeconds() - 1000, exp: nowSeconds() - 100 }),
      context: () => ({ expired_at: expect.any(String) as unknown }),
    },
    {
      name: 'a token not valid yet',
      reason: 'Token Not Yet Valid',
      header: () => forged({ sub: customer.id, nbf: nowSeconds() + 600 }),
      context: () => ({ not_before: expect.any(String) as unknown }),
    },
    {
      name: 'an HS512 token',
      reason: 'Invalid Algorithm',
      header: () => forged({ sub: customer.id }, { algorithm: 'HS512' }),
      context: () => ({ alg: 'HS512' }),
    },
    {
      name: 'an unsigned token',
      reason: 'Invalid Algorithm',
      header: () => {
        const token = unsignedToken({ sub: customer.id });
        secrets.add(token);
        return `Bearer ${token}`;
      },
      context: () => ({ alg: 'none' }),
    },
    {
      name: 'a refresh token',
      reason: 'Wrong Token Type',
      header: () => `Bearer ${customer.refreshToken}`,
      context: () => ({ expected: 'access', got: 'refresh' }),
    },
    {
      name: 'a token for another audience',
      reason: 'Invalid Audience',
      header: () => forged({ sub: customer.id, aud: 'another-api' }),
    },
    {
      name: 'a token from another issuer',
      reason: 'Invalid Issuer',
      header: () => forged({ sub: customer.id, iss: 'someone-else' }),
    },
    {
      name: 'a token of a user who does not exist',
      reason: 'Unknown User',
      header: () => forged({ sub: 'usr_NOBODY' }),
      context: () => ({ user_id: 'usr_NOBODY' }),
    },
    {
      name: 'a token of a disabled user',
      reason: 'User Disabled',
      header: () => `Bearer ${disabled.accessToken}`,
      context: () => ({ user_id: disabled.id }),
    },
    {
      name: 'a token of a session that ended',
      reason: 'Session Revoked',
      header: () => `Bearer ${loggedOut.accessToken}`,
      context: () => ({ user_id: loggedOut.id, session_id: sessionIdOf(loggedOut.accessToken) }),
    },
  ];

  it.each(cases)('$name: $reason', async ({ reason, header, context }) => {
    const { outcome, context: request, authLines } = await authenticateAs(header());
    expect(outcome).toEqual({ ok: false, reason });
    expect(authLines).toEqual([
      expect.objectContaining({
        level: 'WARN',
        event: 'auth_failure',
        reason,
        user_id: null,
        ...(context ? { context: context() } : {}),
      }),
    ]);
    if (!context) expect(authLines[0]).not.toHaveProperty('context');
    expect(request.user_id).toBeNull();
  });
});

describe('authenticateRequest: a valid access token', () => {
  it('answers the user as the database knows them, writes one auth_success line, and sets the request user', async () => {
    const { outcome, context, authLines } = await authenticateAs(`Bearer ${customer.accessToken}`);
    expect(outcome).toEqual({
      ok: true,
      user: {
        id: customer.id,
        role: 'customer',
        email: customer.email,
        sessionId: sessionIdOf(customer.accessToken),
      },
    });
    expect(authLines).toEqual([
      expect.objectContaining({
        level: 'INFO',
        event: 'auth_success',
        user_id: customer.id,
        role: 'customer',
        auth_method: 'access_token',
      }),
    ]);
    expect(context).toMatchObject({ user_id: customer.id, role: 'customer' });
  });
});

describe('once per request', () => {
  it('a tRPC batch of 3 protected calls writes one auth_success line and runs one access-check query', async () => {
    const res = await fetch(
      trpcBatchUrl(app.url, [
        ['v1.auth.me', undefined],
        ['v1.orders.list', {}],
        ['v1.auth.me', undefined],
      ]),
      { headers: { authorization: `Bearer ${customer.accessToken}` } },
    );
    expect(res.status).toBe(200);
    const requestId = res.headers.get('x-request-id');
    const calls = await waitForLines(app.logs, {
      event: 'procedure_call',
      filter: { request_id: requestId },
      count: 3,
    });
    expect(calls.map((call) => call.ok)).toEqual([true, true, true]);
    await app.logger.flush();
    expect(app.logs.events('auth_success', { request_id: requestId })).toHaveLength(1);
    expect(app.logs.events('auth_failure', { request_id: requestId })).toEqual([]);
    const accessChecks = app.logs
      .events('db_query', { request_id: requestId })
      .filter((line) => String(line.sql).includes('"session_live"'));
    expect(accessChecks).toHaveLength(1);
  });
});
