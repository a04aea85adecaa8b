import { setTimeout as sleep } from 'node:timers/promises';
import type { AuthSession, User } from '@orders/shared';
import { sql } from 'kysely';
import pg from 'pg';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  PROTOCOLS,
  authFailures,
  callApi,
  expectAuthFailureLogged,
  expectError,
  forgeToken,
  newPassword,
  registerUser,
  sessionIdOf,
  setRole,
  uniqueEmail,
  unsignedToken,
  withoutRequestId,
  type ApiResponse,
  type Protocol,
  type TestUser,
} from '../../../test/api-client.ts';
import { useTestApp } from '../../../test/fixture.ts';
import { accessLine, waitForLines } from '../../../test/http-client.ts';
import { onRealPostgres } from '../../../test/test-database.ts';
import { digestToken } from '../../core/security.ts';

const {
  app,
  secrets,
  users: { customer, disabled },
} = useTestApp({
  // Rate limits have their own tests; here one account logs in many times.
  env: { RATE_LIMIT_PER_IP: '10000', RATE_LIMIT_PER_EMAIL: '10000' },
  users: { customer: 'customer', disabled: 'customer' },
  afterTests: (fixture) => expect(fixture.secrets.size).toBeGreaterThan(10),
});

const nowSeconds = () => Math.floor(Date.now() / 1000);

beforeAll(async () => {
  await sql`update users set disabled_at = now() where id = ${disabled.id}`.execute(app.database.db);
});

const me = (protocol: Protocol, options: { token?: string; headers?: Record<string, string> } = {}) =>
  callApi<User>(app.url, 'auth.me', { protocol, ...options });

const login = (protocol: Protocol, input: { email: string; password: string }) =>
  callApi<AuthSession>(app.url, 'auth.login', { protocol, input });

const refresh = (protocol: Protocol, refreshToken: string) =>
  callApi<AuthSession>(app.url, 'auth.refresh', { protocol, input: { refreshToken } });

const logout = (protocol: Protocol, refreshToken: string) =>
  callApi<{ ok: true }>(app.url, 'auth.logout', { protocol, input: { refreshToken } });

async function loginAs(user: TestUser, protocol: Protocol = 'rest'): Promise<AuthSession> {
  const res = await login(protocol, { email: user.email, password: user.password });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  secrets.addSession(res.data);
  return res.data;
}

/** RFC 6750: a refused token says why; a request without credentials gets the bare challenge (on both protocols). */
function expectChallenge(res: ApiResponse, reason: string): void {
  const header = res.headers.get('www-authenticate');
  if (reason === 'Missing Header') {
    expect(header).toBe('Bearer realm="orders-service"');
    return;
  }
  const error = reason === 'Malformed Header' ? 'invalid_request' : 'invalid_token';
  expect(header).toBe(`Bearer realm="orders-service", error="${error}", error_description="${reason}"`);
}

/** A failed login still challenges (every 401 must), but never says which part was wrong. */
function expectLoginChallenge(res: ApiResponse): void {
  expect(res.headers.get('www-authenticate')).toBe('Bearer realm="orders-service"');
}

/** A token refusal: 401 UNAUTHORIZED with the reason in the body, the header and the log. */
async function expectTokenRefused(res: ApiResponse, reason: string): Promise<void> {
  expectError(res, { status: 401, code: 'UNAUTHORIZED', reason });
  expectChallenge(res, reason);
  await expectAuthFailureLogged(app.logs, res, reason);
  expect(app.logs.events('auth_success', { request_id: res.requestId })).toEqual([]);
}

describe('access tokens: one exact reason per refusal, on both protocols', () => {
  interface TokenCase {
    reason: string;
    /** What the request sends, built when the test runs (users exist by then). */
    headers: () => Record<string, string>;
  }
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
  const forged = (token: string) => {
    secrets.add(token);
    return bearer(token);
  };
  const cases: (TokenCase & { name: string })[] = [
    { name: 'no Authorization header', reason: 'Missing Header', headers: () => ({}) },
    { name: 'another scheme', reason: 'Malformed Header', headers: () => ({ authorization: 'Basic dXNlcjpwYXNz' }) },
    { name: 'Bearer without a token', reason: 'Malformed Header', headers: () => ({ authorization: 'Bearer' }) },
    { name: 'a token that is not a JWT', reason: 'Malformed Token', headers: () => bearer('not-a-jwt') },
    {
      name: 'a token signed with another secret',
      reason: 'Invalid Signature',
      headers: () =>
        forged(forgeToken({ sub: customer.id }, { secret: 'another-secret-that-is-long-enough-0123456789' })),
    },
    {
      name: 'an expired token',
      reason: 'Expired Token',
      headers: () => forged(forgeToken({ sub: customer.id, iat: nowSeconds() - 1000, exp: nowSeconds() - 100 })),
    },
    {
      name: 'a token not valid before a time in the future',
      reason: 'Token Not Yet Valid',
      headers: () => forged(forgeToken({ sub: customer.id, nbf: nowSeconds() + 600 })),
    },
    {
      name: 'an HS512 token signed with the right secret',
      reason: 'Invalid Algorithm',
      headers: () => forged(forgeToken({ sub: customer.id }, { algorithm: 'HS512' })),
    },
    {
      name: 'an unsigned token (alg none)',
      reason: 'Invalid Algorithm',
      headers: () => forged(unsignedToken({ sub: customer.id })),
    },
    {
      name: 'a refresh token used as an access token',
      reason: 'Wrong Token Type',
      headers: () => bearer(customer.refreshToken),
    },
    {
      name: 'a token without a type',
      reason: 'Wrong Token Type',
      headers: () => forged(forgeToken({ sub: customer.id, typ: undefined })),
    },
    {
      name: 'a token for another audience',
      reason: 'Invalid Audience',
      headers: () => forged(forgeToken({ sub: customer.id, aud: 'another-api' })),
    },
    {
      name: 'a token from another issuer',
      reason: 'Invalid Issuer',
      headers: () => forged(forgeToken({ sub: customer.id, iss: 'someone-else' })),
    },
    {
      name: 'a token without an expiry',
      reason: 'Malformed Token',
      headers: () => forged(forgeToken({ sub: customer.id, exp: undefined })),
    },
    {
      name: 'a valid token of a user who does not exist',
      reason: 'Unknown User',
      headers: () => forged(forgeToken({ sub: 'usr_NOBODY' })),
    },
    { name: 'a valid token of a disabled user', reason: 'User Disabled', headers: () => bearer(disabled.accessToken) },
  ];

  for (const protocol of PROTOCOLS) {
    describe(protocol, () => {
      it.each(cases)('$name: 401 $reason', async ({ reason, headers }) => {
        await expectTokenRefused(await me(protocol, { headers: headers() }), reason);
      });
    });
  }

  it('a forged token that is valid in every way is accepted (the refusals above are not an artefact of forging)', async () => {
    const token = forgeToken({ sub: customer.id, sid: sessionIdOf(customer.accessToken) });
    secrets.add(token);
    const res = await me('rest', { token });
    expect(res.status).toBe(200);
    expect(res.data.id).toBe(customer.id);
  });

  it('a bad token on a public procedure is refused too, not treated as anonymous', async () => {
    const res = await callApi(app.url, 'products.list', {
      protocol: 'rest',
      headers: { authorization: 'Bearer not-a-jwt' },
    });
    await expectTokenRefused(res, 'Malformed Token');
  });
});

describe('auth_success', () => {
  for (const protocol of PROTOCOLS) {
    it(`a valid access token writes auth_success with user_id and role, and the access line carries the user (${protocol})`, async () => {
      const res = await me(protocol, { token: customer.accessToken });
      expect(res.status).toBe(200);
      expect(res.data).toMatchObject({ id: customer.id, email: customer.email, role: 'customer', disabled: false });
      const [success] = await waitForLines(app.logs, { event: 'auth_success', filter: { request_id: res.requestId } });
      expect(success).toMatchObject({
        level: 'INFO',
        user_id: customer.id,
        role: 'customer',
        auth_method: 'access_token',
      });
      expect(app.logs.events('auth_failure', { request_id: res.requestId })).toEqual([]);
      const access = await accessLine(app.logs, res.requestId);
      expect(access).toMatchObject({ status: 200, user_id: customer.id, role: 'customer' });
    });

    it(`login writes auth_success with user_id and role, and the access line carries the user (${protocol})`, async () => {
      const res = await login(protocol, { email: customer.email, password: customer.password });
      expect(res.status).toBe(200);
      secrets.addSession(res.data);
      expect(res.data).toMatchObject({
        user: { id: customer.id, role: 'customer' },
        tokenType: 'Bearer',
        expiresIn: 900,
      });
      const [success] = await waitForLines(app.logs, { event: 'auth_success', filter: { request_id: res.requestId } });
      expect(success).toMatchObject({ level: 'INFO', user_id: customer.id, role: 'customer', auth_method: 'login' });
      expect(await accessLine(app.logs, res.requestId)).toMatchObject({
        status: 200,
        user_id: customer.id,
        role: 'customer',
      });
    });
  }

  it('an anonymous request has no user on its access line', async () => {
    const res = await callApi(app.url, 'products.list', { protocol: 'rest' });
    expect(res.status).toBe(200);
    expect(await accessLine(app.logs, res.requestId)).toMatchObject({ user_id: null, role: null });
    expect(app.logs.events('auth_success', { request_id: res.requestId })).toEqual([]);
    expect(app.logs.events('auth_failure', { request_id: res.requestId })).toEqual([]);
  });
});

describe('login', () => {
  for (const protocol of PROTOCOLS) {
    it(`Unknown Email: 401 INVALID_CREDENTIALS, the reason only in the log (${protocol})`, async () => {
      const password = newPassword();
      secrets.add(password);
      const res = await login(protocol, { email: uniqueEmail('nobody'), password });
      expectError(res, { status: 401, code: 'INVALID_CREDENTIALS' });
      expectLoginChallenge(res);
      await expectAuthFailureLogged(app.logs, res, 'Unknown Email');
    });

    it(`Wrong Password: 401 INVALID_CREDENTIALS, the reason only in the log (${protocol})`, async () => {
      const password = newPassword();
      secrets.add(password);
      const res = await login(protocol, { email: customer.email, password });
      expectError(res, { status: 401, code: 'INVALID_CREDENTIALS' });
      expectLoginChallenge(res);
      const line = await expectAuthFailureLogged(app.logs, res, 'Wrong Password');
      expect(line.context).toEqual({ user_id: customer.id });
    });

    it(`a disabled account cannot log in, even with its password; the log says User Disabled (${protocol})`, async () => {
      const res = await login(protocol, { email: disabled.email, password: disabled.password });
      expectError(res, { status: 401, code: 'INVALID_CREDENTIALS' });
      await expectAuthFailureLogged(app.logs, res, 'User Disabled');
    });

    it(`an unknown email and a wrong password answer byte for byte the same, apart from request_id (${protocol})`, async () => {
      const password = newPassword();
      secrets.add(password);
      const unknown = await login(protocol, { email: uniqueEmail('nobody'), password });
      const wrong = await login(protocol, { email: customer.email, password });
      const lockedOut = await login(protocol, { email: disabled.email, password: disabled.password });
      expect(unknown.status).toBe(401);
      expect(wrong.status).toBe(unknown.status);
      expect(lockedOut.status).toBe(unknown.status);
      expect(JSON.stringify(withoutRequestId(wrong.body))).toBe(JSON.stringify(withoutRequestId(unknown.body)));
      expect(JSON.stringify(withoutRequestId(lockedOut.body))).toBe(JSON.stringify(withoutRequestId(unknown.body)));
      expect(wrong.headers.get('www-authenticate')).toBe(unknown.headers.get('www-authenticate'));
      expect(wrong.headers.get('content-type')).toBe(unknown.headers.get('content-type'));
      expect(unknown.requestId).not.toBe(wrong.requestId);
    });
  }

  it('matches the email case-insensitively', async () => {
    const res = await login('rest', { email: customer.email.toUpperCase(), password: customer.password });
    expect(res.status).toBe(200);
    secrets.addSession(res.data);
    expect(res.data.user.id).toBe(customer.id);
  });

  it('issues tokens the service accepts, and stores only the refresh token digest', async () => {
    const session = await loginAs(customer);
    expect((await me('rest', { token: session.accessToken })).status).toBe(200);
    const rows = await app.database.db
      .selectFrom('refresh_tokens')
      .select(['token_hash', 'user_id'])
      .where('user_id', '=', customer.id)
      .execute();
    expect(rows.map((row) => row.token_hash)).toContain(digestToken(session.refreshToken));
    expect(rows.map((row) => row.token_hash)).not.toContain(session.refreshToken);
  });
});

describe('register', () => {
  for (const protocol of PROTOCOLS) {
    it(`creates a customer, stores an argon2id hash, and opens a session (${protocol})`, async () => {
      const email = uniqueEmail('New.User');
      const password = newPassword();
      secrets.add(password);
      const res = await callApi<AuthSession>(app.url, 'auth.register', {
        protocol,
        input: { email, password, name: 'New User' },
      });
      expect(res.status).toBe(200);
      secrets.addSession(res.data);
      expect(res.data).toMatchObject({
        user: { email: email.toLowerCase(), name: 'New User', role: 'customer', disabled: false },
        tokenType: 'Bearer',
        expiresIn: 900,
      });
      const row = await app.database.db
        .selectFrom('users')
        .select(['id', 'email', 'role', 'password_hash', 'disabled_at'])
        .where('id', '=', res.data.user.id)
        .executeTakeFirstOrThrow();
      expect(row).toMatchObject({ email: email.toLowerCase(), role: 'customer', disabled_at: null });
      expect(row.password_hash.startsWith('$argon2id$')).toBe(true);
      expect(row.password_hash).not.toContain(password);
      const [success] = await waitForLines(app.logs, { event: 'auth_success', filter: { request_id: res.requestId } });
      expect(success).toMatchObject({ user_id: res.data.user.id, role: 'customer', auth_method: 'register' });
      expect((await me(protocol, { token: res.data.accessToken })).data.id).toBe(res.data.user.id);
    });

    it(`refuses role: 'admin' in the body (mass assignment) with 400 VALIDATION_FAILED and creates no user (${protocol})`, async () => {
      const email = uniqueEmail('sneaky');
      const password = newPassword();
      secrets.add(password);
      const res = await callApi(app.url, 'auth.register', {
        protocol,
        input: { email, password, name: 'Sneaky', role: 'admin' },
      });
      const envelope = expectError(res, { status: 400, code: 'VALIDATION_FAILED' });
      expect(envelope.issues).toEqual([expect.objectContaining({ code: 'unrecognized_keys', path: '' })]);
      expect(envelope.message).toContain('role');
      const rows = await app.database.db
        .selectFrom('users')
        .select('id')
        .where(sql<string>`lower(email)`, '=', email.toLowerCase())
        .execute();
      expect(rows).toEqual([]);
      expect(app.logs.events('auth_success', { request_id: res.requestId })).toEqual([]);
    });
  }

  it('refuses an email that is taken, whatever its case, with 409 EMAIL_TAKEN', async () => {
    const password = newPassword();
    secrets.add(password);
    const before = await countUsers();
    const res = await callApi(app.url, 'auth.register', {
      protocol: 'rest',
      input: { email: customer.email.toUpperCase(), password, name: 'Twin' },
    });
    expectError(res, { status: 409, code: 'EMAIL_TAKEN' });
    expect(await countUsers()).toBe(before);
  });

  it('refuses a password shorter than 12 characters, naming the field', async () => {
    const res = await callApi(app.url, 'auth.register', {
      protocol: 'rest',
      input: { email: uniqueEmail('short'), password: 'short-pw', name: 'Short' },
    });
    const envelope = expectError(res, { status: 400, code: 'VALIDATION_FAILED' });
    expect(envelope.issues?.map((issue) => issue.path)).toEqual(['password']);
  });
});

async function countUsers(): Promise<number> {
  const row = await app.database.db
    .selectFrom('users')
    .select(sql<string>`count(*)`.as('total'))
    .executeTakeFirstOrThrow();
  return Number(row.total);
}

describe('refresh: rotation and reuse detection', () => {
  for (const protocol of PROTOCOLS) {
    it(`rotates: new tokens, the old refresh token spent and linked to its successor (${protocol})`, async () => {
      const first = await loginAs(customer, protocol);
      const res = await refresh(protocol, first.refreshToken);
      expect(res.status).toBe(200);
      secrets.addSession(res.data);
      expect(res.data.user.id).toBe(customer.id);
      expect(res.data.refreshToken).not.toBe(first.refreshToken);
      expect(res.data.accessToken).not.toBe(first.accessToken);
      expect((await me(protocol, { token: res.data.accessToken })).status).toBe(200);
      const [success] = await waitForLines(app.logs, { event: 'auth_success', filter: { request_id: res.requestId } });
      expect(success).toMatchObject({ user_id: customer.id, role: 'customer', auth_method: 'refresh' });

      const rows = await familyRows(first.refreshToken);
      const spent = rows.find((row) => row.token_hash === digestToken(first.refreshToken));
      const fresh = rows.find((row) => row.token_hash === digestToken(res.data.refreshToken));
      expect(rows).toHaveLength(2);
      expect(spent?.revoked_at).toBeInstanceOf(Date);
      expect(spent?.replaced_by).toBe(fresh?.id);
      expect(fresh?.revoked_at).toBeNull();
    });

    it(`Refresh Token Reused: replaying a spent token after the grace window is 401 and revokes the whole family (${protocol})`, async () => {
      const first = await loginAs(customer, protocol);
      const rotated = await refresh(protocol, first.refreshToken);
      expect(rotated.status).toBe(200);
      secrets.addSession(rotated.data);
      await rotatedSecondsAgo(first.refreshToken, 11);

      const replay = await refresh(protocol, first.refreshToken);
      expectError(replay, { status: 401, code: 'UNAUTHORIZED', reason: 'Refresh Token Reused' });
      expectChallenge(replay, 'Refresh Token Reused');
      await expectAuthFailureLogged(app.logs, replay, 'Refresh Token Reused');

      const rows = await familyRows(first.refreshToken);
      expect(rows.every((row) => row.revoked_at !== null)).toBe(true);

      // The token the legitimate rotation gave is dead too: whoever holds it must log in again.
      const legit = await refresh(protocol, rotated.data.refreshToken);
      expectError(legit, { status: 401, code: 'UNAUTHORIZED', reason: 'Refresh Token Revoked' });
      await expectAuthFailureLogged(app.logs, legit, 'Refresh Token Revoked');
      expect(await familyRows(first.refreshToken)).toHaveLength(2);

      // And so is every access token of the session, the thief's as much as the owner's.
      for (const session of [first, rotated.data]) {
        await expectTokenRefused(await me(protocol, { token: session.accessToken }), 'Session Revoked');
      }
    });

    it(`logout revokes the family: refreshing afterwards fails (${protocol})`, async () => {
      const session = await loginAs(customer, protocol);
      const res = await logout(protocol, session.refreshToken);
      expect(res.status).toBe(200);
      expect(res.data).toEqual({ ok: true });
      expect((await familyRows(session.refreshToken)).every((row) => row.revoked_at !== null)).toBe(true);

      const after = await refresh(protocol, session.refreshToken);
      expectError(after, { status: 401, code: 'UNAUTHORIZED', reason: 'Refresh Token Revoked' });
      await expectAuthFailureLogged(app.logs, after, 'Refresh Token Revoked');
    });
  }

  it('refuses an access token presented as a refresh token: Wrong Token Type', async () => {
    const res = await refresh('rest', customer.accessToken);
    expectError(res, { status: 401, code: 'UNAUTHORIZED', reason: 'Wrong Token Type' });
    await expectAuthFailureLogged(app.logs, res, 'Wrong Token Type');
  });

  it('refuses a forged refresh token that was never issued: Unknown Refresh Token', async () => {
    const token = forgeToken({
      sub: customer.id,
      typ: 'refresh',
      role: undefined,
      jti: 'rtk_NEVERISSUED',
      fam: 'rtk_NOFAMILY',
    });
    secrets.add(token);
    const res = await refresh('rest', token);
    expectError(res, { status: 401, code: 'UNAUTHORIZED', reason: 'Unknown Refresh Token' });
    await expectAuthFailureLogged(app.logs, res, 'Unknown Refresh Token');
  });

  it('refuses an expired refresh token: Expired Token', async () => {
    const token = forgeToken({
      sub: customer.id,
      typ: 'refresh',
      role: undefined,
      jti: 'rtk_OLD',
      fam: 'rtk_OLD',
      exp: nowSeconds() - 5,
    });
    secrets.add(token);
    const res = await refresh('trpc', token);
    expectError(res, { status: 401, code: 'UNAUTHORIZED', reason: 'Expired Token' });
    await expectAuthFailureLogged(app.logs, res, 'Expired Token');
  });

  it('a token refusal on refresh carries a Bearer challenge on REST', async () => {
    const res = await refresh('rest', 'not-a-jwt');
    expectError(res, { status: 401, code: 'UNAUTHORIZED', reason: 'Malformed Token' });
    expectChallenge(res, 'Malformed Token');
  });

  it('logout with a token that is not a refresh token is 401 and revokes nothing', async () => {
    const res = await logout('rest', customer.accessToken);
    expectError(res, { status: 401, code: 'UNAUTHORIZED', reason: 'Wrong Token Type' });
    expect((await refresh('rest', (await loginAs(customer)).refreshToken)).status).toBe(200);
  });
});

/** Moves a spent token's rotation into the past, as if the grace window had gone by. */
async function rotatedSecondsAgo(refreshToken: string, seconds: number): Promise<void> {
  await app.database.db
    .updateTable('refresh_tokens')
    .set({ revoked_at: sql<Date>`revoked_at - make_interval(secs => ${seconds})` })
    .where('token_hash', '=', digestToken(refreshToken))
    .execute();
}

async function familyRows(refreshToken: string) {
  const db = app.database.db;
  const own = await db
    .selectFrom('refresh_tokens')
    .select('family_id')
    .where('token_hash', '=', digestToken(refreshToken))
    .executeTakeFirstOrThrow();
  return db
    .selectFrom('refresh_tokens')
    .select(['id', 'token_hash', 'revoked_at', 'replaced_by'])
    .where('family_id', '=', own.family_id)
    .orderBy('created_at')
    .execute();
}

describe('the role is read at each request', () => {
  it('Insufficient Role: a customer token on an admin procedure is 403 FORBIDDEN, logged with the reason', async () => {
    const res = await callApi(app.url, 'users.list', { protocol: 'rest', token: customer.accessToken });
    expectError(res, { status: 403, code: 'FORBIDDEN', reason: 'Insufficient Role' });
    const line = await expectAuthFailureLogged(app.logs, res, 'Insufficient Role');
    expect(line.context).toMatchObject({ user_id: customer.id, role: 'customer', required: 'admin' });
  });

  it('a token signed while the user was a customer works as admin once the database says admin', async () => {
    const promoted = await registerUser(app, { secrets, label: 'promoted' });
    expect((await callApi(app.url, 'users.list', { protocol: 'trpc', token: promoted.accessToken })).status).toBe(403);
    await setRole(app, promoted.id, 'admin');
    const res = await callApi(app.url, 'users.list', { protocol: 'trpc', token: promoted.accessToken });
    expect(res.status).toBe(200);
    const [success] = await waitForLines(app.logs, { event: 'auth_success', filter: { request_id: res.requestId } });
    expect(success).toMatchObject({ user_id: promoted.id, role: 'admin' });
  });
});

describe('refresh: a rotated token presented again within the grace window gets the same successor', () => {
  for (const protocol of PROTOCOLS) {
    it(`a retry after a lost answer: the same refresh token again, a working access token, the family alive (${protocol})`, async () => {
      const first = await loginAs(customer, protocol);
      const rotated = await refresh(protocol, first.refreshToken);
      expect(rotated.status).toBe(200);
      secrets.addSession(rotated.data);

      const retried = await refresh(protocol, first.refreshToken);
      expect(retried.status, JSON.stringify(retried.body)).toBe(200);
      secrets.addSession(retried.data);
      expect(retried.data.refreshToken).toBe(rotated.data.refreshToken);
      expect(retried.data.user.id).toBe(customer.id);
      expect(app.logs.events('auth_failure', { request_id: retried.requestId })).toEqual([]);
      const [success] = await waitForLines(app.logs, {
        event: 'auth_success',
        filter: { request_id: retried.requestId },
      });
      expect(success).toMatchObject({ auth_method: 'refresh', context: { retried_within_grace: true } });

      // No new token was stored and none was revoked: the successor is the family's live one.
      const rows = await familyRows(first.refreshToken);
      expect(rows).toHaveLength(2);
      expect(rows.filter((row) => row.revoked_at === null).map((row) => row.token_hash)).toEqual([
        digestToken(rotated.data.refreshToken),
      ]);
      for (const session of [rotated.data, retried.data]) {
        expect((await me(protocol, { token: session.accessToken })).status).toBe(200);
      }
      const next = await refresh(protocol, retried.data.refreshToken);
      expect(next.status).toBe(200);
      secrets.addSession(next.data);
    });
  }

  it('two tabs refreshing with one token at the same moment both get the same successor', async () => {
    const first = await loginAs(customer);
    const answers = await Promise.all([refresh('rest', first.refreshToken), refresh('trpc', first.refreshToken)]);
    for (const res of answers) {
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      secrets.addSession(res.data);
    }
    const [one, other] = answers;
    expect(other.data.refreshToken).toBe(one.data.refreshToken);
    const rows = await familyRows(first.refreshToken);
    expect(rows).toHaveLength(2);
    expect(rows.filter((row) => row.revoked_at === null)).toHaveLength(1);
  });

  it('a token two rotations old is reuse even within the window: only the live successor is given again', async () => {
    const first = await loginAs(customer);
    const second = await refresh('rest', first.refreshToken);
    secrets.addSession(second.data);
    const third = await refresh('rest', second.data.refreshToken);
    secrets.addSession(third.data);
    expect(third.status).toBe(200);

    const replay = await refresh('rest', first.refreshToken);
    expectError(replay, { status: 401, code: 'UNAUTHORIZED', reason: 'Refresh Token Reused' });
    await expectAuthFailureLogged(app.logs, replay, 'Refresh Token Reused');
    expect((await familyRows(first.refreshToken)).every((row) => row.revoked_at !== null)).toBe(true);
  });

  it('after the window the same retry revokes the family: Refresh Token Reused', async () => {
    const first = await loginAs(customer);
    const rotated = await refresh('trpc', first.refreshToken);
    secrets.addSession(rotated.data);
    await rotatedSecondsAgo(first.refreshToken, 10);

    const late = await refresh('trpc', first.refreshToken);
    expectError(late, { status: 401, code: 'UNAUTHORIZED', reason: 'Refresh Token Reused' });
    const line = await expectAuthFailureLogged(app.logs, late, 'Refresh Token Reused');
    expect(line.context).toMatchObject({ user_id: customer.id, token_type: 'refresh' });
    expect((await familyRows(first.refreshToken)).every((row) => row.revoked_at !== null)).toBe(true);
    await expectTokenRefused(await me('rest', { token: rotated.data.accessToken }), 'Session Revoked');
  });
});

describe('access tokens end with their session', () => {
  for (const protocol of PROTOCOLS) {
    it(`after logout the session's access tokens are 401 Session Revoked; another session goes on (${protocol})`, async () => {
      const ending = await loginAs(customer, protocol);
      const other = await loginAs(customer, protocol);
      expect((await me(protocol, { token: ending.accessToken })).status).toBe(200);

      expect((await logout(protocol, ending.refreshToken)).status).toBe(200);
      const refused = await me(protocol, { token: ending.accessToken });
      await expectTokenRefused(refused, 'Session Revoked');
      const [line] = await authFailures(app.logs, refused.requestId);
      expect(line?.context).toEqual({ user_id: customer.id, session_id: sessionIdOf(ending.accessToken) });
      expect((await me(protocol, { token: other.accessToken })).status).toBe(200);
    });
  }

  it.skipIf(!onRealPostgres)(
    'a logout landing while a refresh of its session commits leaves no live token (needs real PostgreSQL: PGlite runs one transaction at a time)',
    async () => {
      const session = await loginAs(customer);
      const holder = new pg.Client({ connectionString: app.testDatabase.url });
      await holder.connect();
      try {
        // Holds the user's row, so the refresh below stops where it needs it (before its change
        // without the session lock, after it took its token with none); the logout then comes.
        await holder.query('begin');
        await holder.query('select id from users where id = $1 for update', [customer.id]);
        const refreshing = refresh('rest', session.refreshToken);
        await sleep(300);
        const loggingOut = logout('trpc', session.refreshToken);
        await sleep(300);
        await holder.query('commit');
        const [rotated, loggedOut] = await Promise.all([refreshing, loggingOut]);

        expect(loggedOut.status).toBe(200);
        const live = (await familyRows(session.refreshToken)).filter((row) => row.revoked_at === null);
        expect(live).toEqual([]);
        if (rotated.status === 200) {
          secrets.addSession(rotated.data);
          await expectTokenRefused(await me('rest', { token: rotated.data.accessToken }), 'Session Revoked');
        }
      } finally {
        await holder.end();
      }
    },
  );

  it('a token of a session that never existed is refused the same way', async () => {
    const token = forgeToken({ sub: customer.id, sid: 'rtk_NOSUCHSESSION' });
    secrets.add(token);
    await expectTokenRefused(await me('rest', { token }), 'Session Revoked');
  });

  it("a token naming another user's session is refused", async () => {
    const token = forgeToken({ sub: customer.id, sid: sessionIdOf(disabled.accessToken) });
    secrets.add(token);
    await expectTokenRefused(await me('trpc', { token }), 'Session Revoked');
  });

  it('a token without a session (sid) is Malformed Token', async () => {
    const token = forgeToken({ sub: customer.id, sid: undefined });
    secrets.add(token);
    await expectTokenRefused(await me('rest', { token }), 'Malformed Token');
  });
});

describe('change password', () => {
  const changePassword = (
    protocol: Protocol,
    { token, version = 'v1', input }: { token: string; version?: 'v1' | 'v2'; input: Record<string, unknown> },
  ) => callApi<{ ok: true }>(app.url, 'auth.changePassword', { protocol, version, token, input });

  async function passwordHashOf(userId: string): Promise<string> {
    const row = await app.database.db
      .selectFrom('users')
      .select('password_hash')
      .where('id', '=', userId)
      .executeTakeFirstOrThrow();
    return row.password_hash;
  }

  for (const protocol of PROTOCOLS) {
    it(`sets the new password, ends every other session and keeps this one (${protocol})`, async () => {
      const owner = await registerUser(app, { secrets, label: 'changer' });
      const elsewhere = await loginAs(owner, protocol);
      const fresh = newPassword();
      secrets.add(fresh);

      const res = await changePassword(protocol, {
        token: owner.accessToken,
        input: { currentPassword: owner.password, newPassword: fresh },
      });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.data).toEqual({ ok: true });
      const [changed] = await waitForLines(app.logs, {
        event: 'password_changed',
        filter: { request_id: res.requestId },
      });
      expect(changed).toMatchObject({ level: 'INFO', user_id: owner.id, context: { revoked_sessions: 1 } });

      // The other session is over: its access token and its refresh token.
      await expectTokenRefused(await me(protocol, { token: elsewhere.accessToken }), 'Session Revoked');
      const stale = await refresh(protocol, elsewhere.refreshToken);
      expectError(stale, { status: 401, code: 'UNAUTHORIZED', reason: 'Refresh Token Revoked' });
      // This one goes on.
      expect((await me(protocol, { token: owner.accessToken })).status).toBe(200);
      const renewed = await refresh(protocol, owner.refreshToken);
      expect(renewed.status).toBe(200);
      secrets.addSession(renewed.data);

      const old = await login(protocol, { email: owner.email, password: owner.password });
      expectError(old, { status: 401, code: 'INVALID_CREDENTIALS' });
      await loginAs({ ...owner, password: fresh }, protocol);
    });

    it(`a wrong current password is 400 INVALID_CURRENT_PASSWORD, logged as Wrong Password, and changes nothing (${protocol})`, async () => {
      const owner = await registerUser(app, { secrets, label: 'guessed' });
      const elsewhere = await loginAs(owner, protocol);
      const before = await passwordHashOf(owner.id);
      const [guess, fresh] = [newPassword(), newPassword()];
      secrets.add(guess, fresh);

      const res = await changePassword(protocol, {
        token: owner.accessToken,
        input: { currentPassword: guess, newPassword: fresh },
      });
      expectError(res, { status: 400, code: 'INVALID_CURRENT_PASSWORD' });
      const line = await expectAuthFailureLogged(app.logs, res, 'Wrong Password');
      expect(line.context).toEqual({ user_id: owner.id, action: 'change_password' });
      expect(app.logs.events('password_changed', { request_id: res.requestId })).toEqual([]);
      expect(await passwordHashOf(owner.id)).toBe(before);
      expect((await me(protocol, { token: elsewhere.accessToken })).status).toBe(200);
    });
  }

  it('holds the new password to the register policy (400, naming newPassword) and changes nothing', async () => {
    const owner = await registerUser(app, { secrets, label: 'weak' });
    const before = await passwordHashOf(owner.id);
    const res = await changePassword('rest', {
      token: owner.accessToken,
      input: { currentPassword: owner.password, newPassword: 'short-pw' },
    });
    const envelope = expectError(res, { status: 400, code: 'VALIDATION_FAILED' });
    expect(envelope.issues?.map((issue) => issue.path)).toEqual(['newPassword']);
    expect(await passwordHashOf(owner.id)).toBe(before);
  });

  it('works on v2 too, and needs a token (401 Missing Header)', async () => {
    const owner = await registerUser(app, { secrets, label: 'v2-changer' });
    const before = await passwordHashOf(owner.id);
    const fresh = newPassword();
    secrets.add(fresh);
    const input = { currentPassword: owner.password, newPassword: fresh };
    const anonymous = await callApi(app.url, 'auth.changePassword', { protocol: 'rest', version: 'v2', input });
    await expectTokenRefused(anonymous, 'Missing Header');
    const res = await changePassword('trpc', { token: owner.accessToken, version: 'v2', input });
    expect(res.status).toBe(200);
    expect(await passwordHashOf(owner.id)).not.toBe(before);
    await loginAs({ ...owner, password: fresh });
  });
});
