import type { Accepted, AuthSession } from '@orders/shared';
import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { linkOf, registerWithMail } from '../../../test/account-flows.ts';
import {
  PROTOCOLS,
  callApi,
  expectAuthFailureLogged,
  expectError,
  newPassword,
  uniqueEmail,
  withoutRequestId,
  type Protocol,
} from '../../../test/api-client.ts';
import { useTestApp } from '../../../test/fixture.ts';
import { waitForLines } from '../../../test/http-client.ts';
import { startSmtpInbox } from '../../../test/smtp-inbox.ts';

const inbox = await startSmtpInbox();
afterAll(() => inbox.close());

const { app, secrets } = useTestApp({
  env: {
    SMTP_URL: inbox.url,
    RATE_LIMIT_PER_IP: '100000',
    RATE_LIMIT_PER_EMAIL: '100000',
    RATE_LIMIT_PER_EMAIL_GLOBAL: '100000',
  },
  mailRetryDelaysMs: [50, 50],
});

function requestReset(protocol: Protocol, email: string) {
  return callApi<Accepted>(app.url, 'auth.requestPasswordReset', { protocol, input: { email } });
}

function reset(protocol: Protocol, token: string, password = newPassword()) {
  secrets.add(password);
  return callApi(app.url, 'auth.resetPassword', { protocol, input: { token, newPassword: password } });
}

describe('forgotten password', () => {
  it.each(PROTOCOLS)('mails a one-time link that sets the password and ends every session (%s)', async (protocol) => {
    const user = await registerWithMail(app, { inbox, secrets, label: `reset-${protocol}` });
    // A second session, on another device.
    const other = await callApi<AuthSession>(app.url, 'auth.login', {
      protocol,
      input: { email: user.email, password: user.password },
    });
    secrets.addSession(other.data);

    const asked = await requestReset(protocol, user.email.toUpperCase());
    expect(asked.status).toBe(200);
    const mail = await inbox.waitFor(user.email, { count: 2 });
    expect(mail.subject).toBe('Reset your password');
    const { token } = linkOf(app, mail, { secrets, page: 'reset-password' });

    const password = newPassword();
    const done = await reset(protocol, token, password);
    expect(done.status, JSON.stringify(done.body)).toBe(200);
    const [line] = await waitForLines(app.logs, { event: 'password_reset', filter: { user_id: user.session.user.id } });
    expect(line?.context).toMatchObject({ revoked_sessions: 2 });

    // Every session is over: refresh tokens, and the access tokens of their families.
    for (const session of [user.session, other.data]) {
      const me = await callApi(app.url, 'auth.me', { protocol, token: session.accessToken });
      expectError(me, { status: 401, code: 'UNAUTHORIZED', reason: 'Session Revoked' });
      const refreshed = await callApi(app.url, 'auth.refresh', {
        protocol,
        input: { refreshToken: session.refreshToken },
      });
      expectError(refreshed, { status: 401, code: 'UNAUTHORIZED', reason: 'Refresh Token Revoked' });
    }
    const oldLogin = await callApi(app.url, 'auth.login', {
      protocol,
      input: { email: user.email, password: user.password },
    });
    expectError(oldLogin, { status: 401, code: 'INVALID_CREDENTIALS' });
    const login = await callApi<AuthSession>(app.url, 'auth.login', {
      protocol,
      input: { email: user.email, password },
    });
    expect(login.status).toBe(200);
    secrets.addSession(login.data);
    // Following the link proved the address too.
    expect(login.data.user.emailVerifiedAt).not.toBeNull();

    const again = await reset(protocol, token);
    expectError(again, { status: 400, code: 'INVALID_TOKEN', reason: 'Reset Token Used' });
    await expectAuthFailureLogged(app.logs, again, 'Reset Token Used');
  });

  it.each(PROTOCOLS)('refuses a voided, an expired and an unknown token with their reasons (%s)', async (protocol) => {
    const user = await registerWithMail(app, { inbox, secrets, label: `void-${protocol}` });
    await requestReset(protocol, user.email);
    const first = linkOf(app, await inbox.waitFor(user.email, { count: 2 }), { secrets, page: 'reset-password' });
    await requestReset(protocol, user.email);
    const second = linkOf(app, await inbox.waitFor(user.email, { count: 3 }), { secrets, page: 'reset-password' });

    const voided = await reset(protocol, first.token);
    expectError(voided, { status: 400, code: 'INVALID_TOKEN', reason: 'Reset Token Revoked' });
    await expectAuthFailureLogged(app.logs, voided, 'Reset Token Revoked');

    await sql`update account_tokens set expires_at = now() - interval '1 second' where user_id = ${user.session.user.id} and purpose = 'reset_password'`.execute(
      app.database.db,
    );
    const expired = await reset(protocol, second.token);
    expectError(expired, { status: 400, code: 'INVALID_TOKEN', reason: 'Reset Token Expired' });
    await expectAuthFailureLogged(app.logs, expired, 'Reset Token Expired');

    // A verification token is not a reset token.
    const wrongKind = await reset(protocol, user.token);
    expectError(wrongKind, { status: 400, code: 'INVALID_TOKEN', reason: 'Unknown Reset Token' });
    await expectAuthFailureLogged(app.logs, wrongKind, 'Unknown Reset Token');

    // Nothing changed: the old password still works and the session lives.
    const me = await callApi(app.url, 'auth.me', { protocol, token: user.session.accessToken });
    expect(me.status).toBe(200);
  });

  it('gives an unknown email the same answer as a known one, in the same time class, and mails nobody', async () => {
    const user = await registerWithMail(app, { inbox, secrets, label: 'timing' });
    const unknown = uniqueEmail('nobody');
    const times: Record<'known' | 'unknown', number[]> = { known: [], unknown: [] };
    const bodies = new Set<string>();
    for (let round = 0; round < 12; round++) {
      for (const [kind, email] of [
        ['known', user.email],
        ['unknown', unknown],
      ] as const) {
        const protocol = round % 2 === 0 ? 'rest' : 'trpc';
        const started = performance.now();
        const res = await requestReset(protocol, email);
        const elapsed = performance.now() - started;
        expect(res.status).toBe(200);
        bodies.add(`${protocol} ${JSON.stringify(withoutRequestId(res.body))}`);
        if (round >= 2) times[kind].push(elapsed); // the first rounds warm up
      }
    }
    // One answer per protocol, whichever the address.
    expect(bodies.size).toBe(2);
    const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;
    const known = median(times.known);
    const unknownMedian = median(times.unknown);
    // The same work either way (the mail goes out after the answer): within 2x of each other,
    // give or take the noise of a shared machine (5 ms).
    expect(unknownMedian).toBeLessThan(known * 2 + 5);
    expect(known).toBeLessThan(unknownMedian * 2 + 5);

    await inbox.waitFor(user.email, { count: 13 });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(inbox.to(unknown)).toEqual([]);
    const requested = app.logs.events('password_reset_requested');
    expect(
      requested.filter((line) => (line.context as { account_found: boolean }).account_found === false),
    ).toHaveLength(12);
  });
});

describe('mail delivery', () => {
  it('retries a send the SMTP server refused, after answering the user', async () => {
    const user = await registerWithMail(app, { inbox, secrets, label: 'retry' });
    inbox.failNext(1);
    const attempts = inbox.attempts;
    const asked = await requestReset('rest', user.email);
    expect(asked.status).toBe(200);
    const mail = await inbox.waitFor(user.email, { count: 2 });
    linkOf(app, mail, { secrets, page: 'reset-password' });
    expect(inbox.attempts - attempts).toBe(2);
    const [failed] = await waitForLines(app.logs, {
      event: 'mail_send_failed',
      filter: { request_id: asked.requestId },
    });
    expect(failed?.reason).toMatch(/451/);
    expect(failed?.context).toMatchObject({ template: 'reset_password', attempt: 1, retry_in_ms: 50 });
    await waitForLines(app.logs, { event: 'mail_sent', filter: { request_id: asked.requestId } });
  });

  it('logs a message it could not send at all, and the user still gets the same answer', async () => {
    const user = await registerWithMail(app, { inbox, secrets, label: 'undeliverable' });
    inbox.failNext(3);
    const asked = await requestReset('trpc', user.email);
    expect(asked.status).toBe(200);
    const [line] = await waitForLines(app.logs, {
      event: 'MailDeliveryError',
      filter: { request_id: asked.requestId },
    });
    expect(line?.level).toBe('ERROR');
    expect(line?.context).toMatchObject({ template: 'reset_password', attempts: 3, to: user.email });
    expect(inbox.to(user.email)).toHaveLength(1);
  });
});

describe('rate limits', () => {
  const limited = useTestApp({ env: { SMTP_URL: inbox.url, RATE_LIMIT_PER_EMAIL: '2', RATE_LIMIT_PER_IP: '4' } });

  it('refuse reset requests per account, then per client, on both protocols', async () => {
    const email = uniqueEmail('limited');
    const call = (protocol: Protocol, address: string) =>
      callApi(limited.app.url, 'auth.requestPasswordReset', { protocol, input: { email: address } });
    expect((await call('rest', email)).status).toBe(200);
    expect((await call('trpc', email)).status).toBe(200);
    const perAccount = await call('rest', email);
    expectError(perAccount, { status: 429, code: 'RATE_LIMITED' });
    expect(perAccount.headers.get('retry-after')).toMatch(/^\d+$/);
    expect((await call('trpc', uniqueEmail('other'))).status).toBe(200);
    const perClient = await call('trpc', uniqueEmail('third'));
    expectError(perClient, { status: 429, code: 'RATE_LIMITED' });
    const [line] = await waitForLines(limited.app.logs, {
      event: 'procedure_call',
      filter: { request_id: perClient.requestId },
    });
    expect(line?.code).toBe('RATE_LIMITED');
  });
});
