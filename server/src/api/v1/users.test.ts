import type { AuthSession, Page, User } from '@orders/shared';
import { describe, expect, it } from 'vitest';
import {
  PROTOCOLS,
  callApi,
  expectAuthFailureLogged,
  expectError,
  registerUser,
  type ApiResponse,
  type ApiVersion,
  type ProcedureName,
} from '../../../test/api-client.ts';
import { useTestApp } from '../../../test/fixture.ts';
import { waitForLines } from '../../../test/http-client.ts';
import { refusalOf, testCaller } from '../../../test/test-context.ts';
import { onRealPostgres } from '../../../test/test-database.ts';
import { AppError } from '../../core/errors.ts';
import { updateUser } from '../../services/users.ts';

const {
  app,
  secrets,
  users: { admin, customer },
} = useTestApp({
  env: { RATE_LIMIT_PER_IP: '10000', RATE_LIMIT_PER_EMAIL: '10000' },
  users: { admin: 'admin', customer: 'customer' },
  afterTests: (fixture) => expect(fixture.secrets.size).toBeGreaterThan(5),
});

/** The users procedures as the admin calls them, through `createCaller` (no HTTP). */
const asAdmin = () => testCaller(app, { token: admin.accessToken }).v1.users;

async function userRow(userId: string) {
  return app.database.db
    .selectFrom('users')
    .select(['role', 'disabled_at', 'updated_at'])
    .where('id', '=', userId)
    .executeTakeFirstOrThrow();
}

describe('admin procedures refuse customers with 403 Insufficient Role', () => {
  const calls: { procedure: ProcedureName; input: () => Record<string, unknown> }[] = [
    { procedure: 'users.list', input: () => ({}) },
    { procedure: 'users.get', input: () => ({ userId: admin.id }) },
    { procedure: 'users.update', input: () => ({ userId: customer.id, role: 'admin' }) },
  ];
  const versions: ApiVersion[] = ['v1', 'v2'];

  for (const version of versions) {
    for (const protocol of PROTOCOLS) {
      it.each(calls)(`${version}.$procedure over ${protocol}`, async ({ procedure, input }) => {
        const before = await userRow(customer.id);
        const res = await callApi(app.url, procedure, {
          protocol,
          version,
          input: input(),
          token: customer.accessToken,
        });
        expectError(res, { status: 403, code: 'FORBIDDEN', reason: 'Insufficient Role' });
        expect(res.headers.get('www-authenticate')).toBeNull();
        await expectAuthFailureLogged(app.logs, res, 'Insufficient Role');
        expect(await userRow(customer.id)).toEqual(before);
      });
    }
  }

  it('an anonymous caller is 401 Missing Header, not 403', async () => {
    const res = await callApi(app.url, 'users.list', { protocol: 'rest' });
    expectError(res, { status: 401, code: 'UNAUTHORIZED', reason: 'Missing Header' });
    await expectAuthFailureLogged(app.logs, res, 'Missing Header');
  });
});

describe('admins manage users', () => {
  for (const version of ['v1', 'v2'] as const) {
    for (const protocol of PROTOCOLS) {
      it(`${version}.users.list and users.get over ${protocol}`, async () => {
        const list = await callApi<Page<User>>(app.url, 'users.list', {
          protocol,
          version,
          input: { limit: 100 },
          token: admin.accessToken,
        });
        expect(list.status).toBe(200);
        expect(list.data.total).toBeGreaterThanOrEqual(2);
        expect(list.data.items.map((user) => user.id)).toEqual(expect.arrayContaining([admin.id, customer.id]));
        for (const user of list.data.items)
          expect(Object.keys(user).sort()).toEqual([
            'createdAt',
            'disabled',
            'email',
            'emailVerifiedAt',
            'id',
            'name',
            'role',
          ]);

        const one = await callApi<User>(app.url, 'users.get', {
          protocol,
          version,
          input: { userId: customer.id },
          token: admin.accessToken,
        });
        expect(one.status).toBe(200);
        expect(one.data).toMatchObject({ id: customer.id, email: customer.email, role: 'customer', disabled: false });
        const [success] = await waitForLines(app.logs, {
          event: 'auth_success',
          filter: { request_id: one.requestId },
        });
        expect(success).toMatchObject({ user_id: admin.id, role: 'admin' });
      });
    }
  }

  it('filters the list by email or name', async () => {
    const page = await asAdmin().list({ q: customer.email.split('@')[0] ?? '' });
    expect(page.items.map((user) => user.id)).toEqual([customer.id]);
    expect(page.total).toBe(1);
  });

  it('answers 404 USER_NOT_FOUND for an unknown user on get and update', async () => {
    const get = await refusalOf(asAdmin().get({ userId: 'usr_NOBODY' }));
    expect(get).toMatchObject({ code: 'USER_NOT_FOUND', status: 404 });
    const update = await refusalOf(asAdmin().update({ userId: 'usr_NOBODY', disabled: true }));
    expect(update).toMatchObject({ code: 'USER_NOT_FOUND', status: 404 });
  });

  for (const protocol of PROTOCOLS) {
    it(`refuses unknown keys and values of the wrong type in an update with 400, changing nothing (${protocol})`, async () => {
      const before = await userRow(customer.id);
      const bad: { input: Record<string, unknown>; path: string }[] = [
        { input: { email: 'taken-over@example.com' }, path: '' },
        { input: { role: 'superuser' }, path: 'role' },
        // JSON has booleans: a string is not one, whatever it says.
        { input: { disabled: 'false' }, path: 'disabled' },
        { input: { disabled: 'yes' }, path: 'disabled' },
        { input: { disabled: 1 }, path: 'disabled' },
      ];
      for (const { input, path } of bad) {
        const res = await callApi(app.url, 'users.update', {
          protocol,
          input: { userId: customer.id, ...input },
          token: admin.accessToken,
        });
        const envelope = expectError(res, { status: 400, code: 'VALIDATION_FAILED' });
        expect(
          envelope.issues?.map((issue) => issue.path),
          JSON.stringify(input),
        ).toEqual([path]);
      }
      expect(await userRow(customer.id)).toEqual(before);
    });
  }

  it('an admin cannot disable or demote themselves (409 CONFLICT)', async () => {
    for (const change of [{ disabled: true }, { role: 'customer' as const }]) {
      const refusal = await refusalOf(asAdmin().update({ userId: admin.id, ...change }));
      expect(refusal).toMatchObject({ code: 'CONFLICT', status: 409 });
    }
    expect(await userRow(admin.id)).toMatchObject({ role: 'admin', disabled_at: null });
  });
});

describe('changes take effect at the next request', () => {
  it('disabling a user locks out their unexpired access token (401 User Disabled), and their refresh token', async () => {
    const victim = await registerUser(app, { secrets, label: 'victim' });
    const login = await callApi<AuthSession>(app.url, 'auth.login', {
      protocol: 'rest',
      input: { email: victim.email, password: victim.password },
    });
    expect(login.status).toBe(200);
    secrets.addSession(login.data);
    expect((await callApi(app.url, 'auth.me', { protocol: 'rest', token: victim.accessToken })).status).toBe(200);

    const res = await fetch(`${app.url}/api/v1/users/${victim.id}`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${admin.accessToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ disabled: true }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ id: victim.id, disabled: true });
    expect((await userRow(victim.id)).disabled_at).toBeInstanceOf(Date);
    const live = await app.database.db
      .selectFrom('refresh_tokens')
      .select('id')
      .where('user_id', '=', victim.id)
      .where('revoked_at', 'is', null)
      .execute();
    expect(live).toEqual([]);

    for (const protocol of PROTOCOLS) {
      const me = await callApi(app.url, 'auth.me', { protocol, token: victim.accessToken });
      expectError(me, { status: 401, code: 'UNAUTHORIZED', reason: 'User Disabled' });
      await expectAuthFailureLogged(app.logs, me, 'User Disabled');
    }
    for (const refreshToken of [victim.refreshToken, login.data.refreshToken]) {
      const refresh = await callApi(app.url, 'auth.refresh', { protocol: 'rest', input: { refreshToken } });
      expectError(refresh, { status: 401, code: 'UNAUTHORIZED', reason: 'Refresh Token Revoked' });
    }
    const again = await callApi(app.url, 'auth.login', {
      protocol: 'rest',
      input: { email: victim.email, password: victim.password },
    });
    expectError(again, { status: 401, code: 'INVALID_CREDENTIALS' });
    await expectAuthFailureLogged(app.logs, again, 'User Disabled');

    const enabled = await callApi<User>(app.url, 'users.update', {
      protocol: 'trpc',
      input: { userId: victim.id, disabled: false },
      token: admin.accessToken,
    });
    expect(enabled.data).toMatchObject({ disabled: false });
    const back = await callApi<AuthSession>(app.url, 'auth.login', {
      protocol: 'rest',
      input: { email: victim.email, password: victim.password },
    });
    expect(back.status).toBe(200);
    secrets.addSession(back.data);

    // Enabled again, the account starts over: the sessions disabling ended stay ended.
    for (const protocol of PROTOCOLS) {
      const stale = await callApi(app.url, 'auth.me', { protocol, token: victim.accessToken });
      expectError(stale, { status: 401, code: 'UNAUTHORIZED', reason: 'Session Revoked' });
      await expectAuthFailureLogged(app.logs, stale, 'Session Revoked');
    }
    expect((await callApi(app.url, 'auth.me', { protocol: 'rest', token: back.data.accessToken })).status).toBe(200);
  });

  it('demoting an admin refuses their next admin call (403), promoting lets a customer in at once', async () => {
    const second = await registerUser(app, { secrets, label: 'second-admin', role: 'admin' });
    expect((await callApi(app.url, 'users.list', { protocol: 'trpc', token: second.accessToken })).status).toBe(200);

    const demote = await callApi<User>(app.url, 'users.update', {
      protocol: 'rest',
      input: { userId: second.id, role: 'customer' },
      token: admin.accessToken,
    });
    expect(demote.status).toBe(200);
    expect(demote.data.role).toBe('customer');
    expect((await userRow(second.id)).role).toBe('customer');

    for (const protocol of PROTOCOLS) {
      const res = await callApi(app.url, 'users.list', { protocol, token: second.accessToken });
      expectError(res, { status: 403, code: 'FORBIDDEN', reason: 'Insufficient Role' });
      await expectAuthFailureLogged(app.logs, res, 'Insufficient Role');
    }

    const promote = await callApi<User>(app.url, 'users.update', {
      protocol: 'trpc',
      version: 'v2',
      input: { userId: second.id, role: 'admin' },
      token: admin.accessToken,
    });
    expect(promote.data.role).toBe('admin');
    expect((await callApi(app.url, 'users.list', { protocol: 'rest', token: second.accessToken })).status).toBe(200);
  });
});

describe('the last active admin stays', () => {
  const { app: lone, secrets: loneSecrets } = useTestApp({
    env: { RATE_LIMIT_PER_IP: '10000', RATE_LIMIT_PER_EMAIL: '10000' },
  });

  async function activeAdmins(): Promise<string[]> {
    const rows = await lone.database.db
      .selectFrom('users')
      .select('id')
      .where('role', '=', 'admin')
      .where('disabled_at', 'is', null)
      .execute();
    return rows.map((row) => row.id);
  }

  it('an admin whose own demotion lands first cannot then demote or disable the other: 409 LAST_ADMIN', async () => {
    const [first, second] = await Promise.all([
      registerUser(lone, { secrets: loneSecrets, label: 'first-admin', role: 'admin' }),
      registerUser(lone, { secrets: loneSecrets, label: 'second-admin', role: 'admin' }),
    ]);
    // `second` demoted `first` a moment ago; `first`'s request had passed its admin check before.
    await lone.database.db.updateTable('users').set({ role: 'customer' }).where('id', '=', first.id).execute();
    const deps = { db: lone.database.db, logger: lone.logger };
    for (const change of [{ role: 'customer' as const }, { disabled: true }]) {
      const refusal = await updateUser(deps, { actorId: first.id, userId: second.id, ...change }).catch(
        (error: unknown) => error,
      );
      expect(refusal).toBeInstanceOf(AppError);
      expect(refusal).toMatchObject({ code: 'LAST_ADMIN', status: 409 });
    }
    expect(await activeAdmins()).toEqual([second.id]);
    // Another admin first, and then the change is fine.
    await updateUser(deps, { actorId: second.id, userId: first.id, role: 'admin' });
    await updateUser(deps, { actorId: first.id, userId: second.id, role: 'customer' });
    expect(await activeAdmins()).toEqual([first.id]);
    await lone.database.db.updateTable('users').set({ role: 'customer' }).where('id', '=', first.id).execute();
  });

  it.skipIf(!onRealPostgres)(
    'two admins demoting or disabling each other at the same moment leave one admin (needs real PostgreSQL: PGlite runs one transaction at a time)',
    async () => {
      for (let round = 0; round < 5; round++) {
        const [one, other] = await Promise.all([
          registerUser(lone, { secrets: loneSecrets, label: `rival-a${round}`, role: 'admin' }),
          registerUser(lone, { secrets: loneSecrets, label: `rival-b${round}`, role: 'admin' }),
        ]);
        const change = round % 2 ? { disabled: true } : { role: 'customer' };
        const answers = await Promise.all(
          [
            [one, other],
            [other, one],
          ].map(([actor, target]) =>
            callApi(lone.url, 'users.update', {
              protocol: round % 2 ? 'trpc' : 'rest',
              input: { userId: target?.id, ...change },
              token: actor?.accessToken ?? '',
            }),
          ),
        );
        const refusals = answers.filter((res) => res.status !== 200);
        expect(refusals, `round ${round}: ${answers.map((res) => JSON.stringify(res.body)).join(' ')}`).toHaveLength(1);
        // The loser waited for the winner's change (LAST_ADMIN), or came after it: no longer an
        // admin (403), or disabled (401).
        const [refusal] = refusals as [ApiResponse];
        expect([refusal.error?.code]).toEqual([expect.stringMatching(/^(LAST_ADMIN|FORBIDDEN|UNAUTHORIZED)$/)]);
        const left = await activeAdmins();
        expect(left).toHaveLength(1);
        // Both gone again before the next round.
        await lone.database.db
          .updateTable('users')
          .set({ role: 'customer', disabled_at: null })
          .where('id', 'in', [one.id, other.id])
          .execute();
      }
    },
  );
});
