import type { AuthSession } from '@orders/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SecretLedger } from '../../server/test/api-client.ts';
import { startSmtpInbox, type SmtpInbox } from '../../server/test/smtp-inbox.ts';
import { startTestApp, type TestApp } from '../../server/test/test-app.ts';
import { createOrdersClient, isOrdersError } from './index.ts';

let inbox: SmtpInbox;
let app: TestApp;
const secrets = new SecretLedger();

beforeAll(async () => {
  inbox = await startSmtpInbox();
  app = await startTestApp({ SMTP_URL: inbox.url }, { logQueries: false });
});
afterAll(async () => {
  await app.close();
  await inbox.close();
});

describe('the typed client and the account lifecycle', () => {
  it('verifies an email and resets a password, with the refusals narrowed by code and reason', async () => {
    const current: { session?: AuthSession } = {};
    const client = createOrdersClient({ url: `${app.url}/trpc`, getAccessToken: () => current.session?.accessToken });
    secrets.add('a long enough password', 'another long password');
    current.session = await client.v1.auth.register.mutate({
      email: 'lifecycle@example.com',
      password: 'a long enough password',
      name: 'Life',
    });
    secrets.addSession(current.session);
    const verification = (await inbox.waitFor('lifecycle@example.com')).token as string;
    secrets.addAccountToken(verification);
    const user = await client.v2.auth.verifyEmail.mutate({ token: verification });
    expect(user.emailVerifiedAt).toEqual(expect.any(String));

    const accepted = await client.v1.auth.requestPasswordReset.mutate({ email: 'lifecycle@example.com' });
    expect(accepted.accepted).toBe(true);
    const reset = (await inbox.waitFor('lifecycle@example.com', { count: 2 })).token as string;
    secrets.addAccountToken(reset);
    expect(await client.v1.auth.resetPassword.mutate({ token: reset, newPassword: 'another long password' })).toEqual({
      ok: true,
    });
    const reused = await client.v1.auth.resetPassword
      .mutate({ token: reset, newPassword: 'another long password' })
      .catch((error: unknown) => error);
    expect(isOrdersError(reused) && reused.data?.code).toBe('INVALID_TOKEN');
    expect(isOrdersError(reused) && reused.data?.reason).toBe('Reset Token Used');
    secrets.expectNoneIn(app.logs.text);
  });
});
