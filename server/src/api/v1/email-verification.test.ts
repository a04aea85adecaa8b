import type { Accepted, User } from '@orders/shared';
import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { linkOf, registerWithMail } from '../../../test/account-flows.ts';
import {
  PROTOCOLS,
  callApi,
  expectAuthFailureLogged,
  expectError,
  uniqueEmail,
  type Protocol,
} from '../../../test/api-client.ts';
import { useTestApp } from '../../../test/fixture.ts';
import { waitForLines } from '../../../test/http-client.ts';
import { insertProducts } from '../../../test/seed-products.ts';
import { createOrder } from '../../../test/orders-api.ts';
import { startSmtpInbox } from '../../../test/smtp-inbox.ts';
import { onRealPostgres } from '../../../test/test-database.ts';

const inbox = await startSmtpInbox();
afterAll(() => inbox.close());

const { app, secrets } = useTestApp({
  env: { SMTP_URL: inbox.url, MAIL_FROM: 'Orders <orders@example.com>', REQUIRE_VERIFIED_EMAIL: 'true' },
});

/** The link's page on the test server (PUBLIC_URL names port 0: the server's port is chosen at start). */
function onTestServer(link: string): string {
  const url = new URL(link);
  return `${app.url}${url.pathname}${url.hash}`;
}

function verify(protocol: Protocol, token: string) {
  return callApi<User>(app.url, 'auth.verifyEmail', { protocol, input: { token } });
}

describe('email verification', () => {
  it.each(PROTOCOLS)('mails a working link at registration, good once (%s)', async (protocol) => {
    const user = await registerWithMail(app, { inbox, secrets, label: `verify-${protocol}` });
    expect(user.session.user.emailVerifiedAt).toBeNull();
    expect(user.mail.from).toBe('orders@example.com');
    expect(user.mail.subject).toBe('Confirm your email address');
    expect(user.mail.text).toContain('24 hours');

    // The link opens a page of the app, which posts the token to the API.
    const page = await fetch(onTestServer(user.link));
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await page.text()).toContain('/account/account.js');

    const first = await verify(protocol, user.token);
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    expect(first.data.email).toBe(user.email);
    expect(Date.parse(first.data.emailVerifiedAt ?? '')).toBeGreaterThan(Date.now() - 60_000);
    await waitForLines(app.logs, { event: 'email_verified', filter: { user_id: user.session.user.id } });
    const me = await callApi<User>(app.url, 'auth.me', { protocol, token: user.session.accessToken });
    expect(me.data.emailVerifiedAt).toBe(first.data.emailVerifiedAt);

    const again = await verify(protocol, user.token);
    expectError(again, { status: 400, code: 'INVALID_TOKEN', reason: 'Verification Token Used' });
    await expectAuthFailureLogged(app.logs, again, 'Verification Token Used');
  });

  it.each(PROTOCOLS)('refuses an expired token, and one never issued, with their reasons (%s)', async (protocol) => {
    const user = await registerWithMail(app, { inbox, secrets, label: `expired-${protocol}` });
    await sql`update account_tokens set expires_at = now() - interval '1 second' where user_id = ${user.session.user.id}`.execute(
      app.database.db,
    );
    const expired = await verify(protocol, user.token);
    expectError(expired, { status: 400, code: 'INVALID_TOKEN', reason: 'Verification Token Expired' });
    await expectAuthFailureLogged(app.logs, expired, 'Verification Token Expired');

    const unknown = await verify(protocol, 'B'.repeat(43));
    expectError(unknown, { status: 400, code: 'INVALID_TOKEN', reason: 'Unknown Verification Token' });
    await expectAuthFailureLogged(app.logs, unknown, 'Unknown Verification Token');

    const malformed = await verify(protocol, 'not-a-token');
    expectError(malformed, { status: 400, code: 'VALIDATION_FAILED' });
    const row = await app.database.db
      .selectFrom('users')
      .select('email_verified_at')
      .where('id', '=', user.session.user.id)
      .executeTakeFirstOrThrow();
    expect(row.email_verified_at).toBeNull();
  });

  it('mails a new link on request, which voids the older one', async () => {
    const user = await registerWithMail(app, { inbox, secrets, label: 'resend' });
    const res = await callApi<Accepted>(app.url, 'auth.resendVerification', {
      protocol: 'trpc',
      token: user.session.accessToken,
    });
    expect(res.status).toBe(200);
    expect(res.data.accepted).toBe(true);
    const fresh = linkOf(app, await inbox.waitFor(user.email, { count: 2 }), { secrets, page: 'verify-email' });
    expect(fresh.token).not.toBe(user.token);

    const old = await verify('rest', user.token);
    expectError(old, { status: 400, code: 'INVALID_TOKEN', reason: 'Verification Token Revoked' });
    expect((await verify('rest', fresh.token)).status).toBe(200);

    // Verified: nothing more is sent.
    const after = await callApi<Accepted>(app.url, 'auth.resendVerification', {
      protocol: 'rest',
      token: user.session.accessToken,
    });
    expect(after.data.message).toMatch(/verified already/);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(inbox.to(user.email)).toHaveLength(2);
  });

  it.each(PROTOCOLS)(
    'lets only a verified user place an order under REQUIRE_VERIFIED_EMAIL=true (%s)',
    async (protocol) => {
      const [productId] = await insertProducts(app.database.db, [{ stock: 10, price_amount: 500 }]);
      const user = await registerWithMail(app, { inbox, secrets, label: `order-${protocol}` });
      const order = {
        protocol,
        token: user.session.accessToken,
        items: [{ productId: productId as string, quantity: 1 }],
      };
      const refused = await createOrder(app, { ...order, paymentMethod: 'pm_card_visa' });
      expectError(refused, { status: 403, code: 'EMAIL_NOT_VERIFIED' });
      expect(refused.error?.message).toMatch(/Verify your email address/);
      expect(
        await app.database.db.selectFrom('orders').select('id').where('user_id', '=', user.session.user.id).execute(),
      ).toEqual([]);
      expect((await verify(protocol, user.token)).status).toBe(200);
      const placed = await createOrder(app, { ...order, paymentMethod: 'pm_card_visa' });
      expect(placed.status, JSON.stringify(placed.body)).toBe(200);
    },
  );
});

describe('change email', () => {
  it.each(PROTOCOLS)(
    'with the password, verifies the new address before it replaces the old one, which is told (%s)',
    async (protocol) => {
      const user = await registerWithMail(app, { inbox, secrets, label: `change-${protocol}` });
      const token = user.session.accessToken;
      const newEmail = uniqueEmail(`new-${protocol}`);

      const wrong = await callApi(app.url, 'auth.changeEmail', {
        protocol,
        token,
        input: { currentPassword: 'not-the-password-at-all', newEmail },
      });
      expectError(wrong, { status: 400, code: 'INVALID_CURRENT_PASSWORD' });
      await expectAuthFailureLogged(app.logs, wrong, 'Wrong Password');

      const other = await registerWithMail(app, { inbox, secrets, label: `taken-${protocol}` });
      const taken = await callApi(app.url, 'auth.changeEmail', {
        protocol,
        token,
        input: { currentPassword: user.password, newEmail: other.email },
      });
      expectError(taken, { status: 409, code: 'EMAIL_TAKEN' });

      const asked = await callApi<Accepted>(app.url, 'auth.changeEmail', {
        protocol,
        token,
        input: { currentPassword: user.password, newEmail },
      });
      expect(asked.status, JSON.stringify(asked.body)).toBe(200);
      const sent = linkOf(app, await inbox.waitFor(newEmail), { secrets, page: 'verify-email' });
      // Until the link is followed, the account keeps its address.
      const before = await callApi<User>(app.url, 'auth.me', { protocol, token });
      expect(before.data.email).toBe(user.email);

      const changed = await verify(protocol, sent.token);
      expect(changed.status, JSON.stringify(changed.body)).toBe(200);
      expect(changed.data.email).toBe(newEmail);
      expect(changed.data.emailVerifiedAt).not.toBeNull();
      const notice = await inbox.waitFor(user.email, { count: 2 });
      expect(notice.subject).toBe('Your email address was changed');
      expect(notice.text).toContain(newEmail);
      expect(notice.token).toBeUndefined();
      await waitForLines(app.logs, { event: 'email_changed', filter: { user_id: user.session.user.id } });

      const login = await callApi(app.url, 'auth.login', {
        protocol,
        input: { email: newEmail, password: user.password },
      });
      expect(login.status).toBe(200);
      const oldLogin = await callApi(app.url, 'auth.login', {
        protocol,
        input: { email: user.email, password: user.password },
      });
      expectError(oldLogin, { status: 401, code: 'INVALID_CREDENTIALS' });
    },
  );

  it.skipIf(!onRealPostgres)(
    'answers 409 EMAIL_TAKEN and keeps the token when another account takes the address as the link is followed (needs real PostgreSQL: two transactions at once)',
    async () => {
      const user = await registerWithMail(app, { inbox, secrets, label: 'race' });
      const other = await registerWithMail(app, { inbox, secrets, label: 'race-other' });
      const newEmail = uniqueEmail('race-new');
      const asked = await callApi(app.url, 'auth.changeEmail', {
        protocol: 'rest',
        token: user.session.accessToken,
        input: { currentPassword: user.password, newEmail },
      });
      expect(asked.status, JSON.stringify(asked.body)).toBe(200);
      const sent = linkOf(app, await inbox.waitFor(newEmail), { secrets, page: 'verify-email' });

      // The other account takes the address in a transaction that is open while the link is
      // followed: the check before the write cannot see it, the unique index can.
      let commit: () => void = () => undefined;
      const committed = new Promise<void>((resolve) => (commit = resolve));
      const taking = app.database.db.transaction().execute(async (trx) => {
        await trx.updateTable('users').set({ email: newEmail }).where('id', '=', other.session.user.id).execute();
        await committed;
      });
      const following = verify('rest', sent.token);
      await waitUntilWaitingOnLock();
      commit();
      await taking;
      const refused = await following;
      expectError(refused, { status: 409, code: 'EMAIL_TAKEN' });

      const me = await callApi<User>(app.url, 'auth.me', { protocol: 'rest', token: user.session.accessToken });
      expect(me.data.email).toBe(user.email);
      // Nothing was spent: the token is refused for the address, not as used.
      const again = await verify('rest', sent.token);
      expectError(again, { status: 409, code: 'EMAIL_TAKEN' });
    },
  );
});

/** Waits until a statement of this database waits on a lock (the verification's write, here). */
async function waitUntilWaitingOnLock(): Promise<void> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const { rows } = await sql<{ waiting: number }>`
      select count(*)::int as waiting from pg_stat_activity
      where datname = current_database() and wait_event_type = 'Lock'`.execute(app.database.db);
    if ((rows[0]?.waiting ?? 0) > 0) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error('no statement waited on the lock');
}
