import type { AuthSession } from '@orders/shared';
import { expect } from 'vitest';
import { callApi, newPassword, uniqueEmail, type SecretLedger } from './api-client.ts';
import type { SmtpInbox, ReceivedMail } from './smtp-inbox.ts';
import type { TestApp } from './test-app.ts';

/** A mail that carries a link to the app's account pages; its token joins the ledger. */
export function linkOf(
  app: TestApp,
  mail: ReceivedMail,
  { secrets, page }: { secrets: SecretLedger; page: 'verify-email' | 'reset-password' },
) {
  expect(mail.link, mail.text).toBeDefined();
  expect(mail.link?.startsWith(`${app.config.publicUrl}/account/${page}#token=`)).toBe(true);
  expect(mail.html).toContain(mail.link);
  const token = mail.token as string;
  secrets.addAccountToken(token);
  return { link: mail.link as string, token };
}

/** Registers a user over REST and answers them with the token of the verification mail they got. */
export async function registerWithMail(
  app: TestApp,
  { inbox, secrets, label = 'mail' }: { inbox: SmtpInbox; secrets: SecretLedger; label?: string },
) {
  const email = uniqueEmail(label);
  const password = newPassword();
  secrets.add(password);
  const res = await callApi<AuthSession>(app.url, 'auth.register', {
    protocol: 'rest',
    input: { email, password, name: `Test ${label}` },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  secrets.addSession(res.data);
  const mail = await inbox.waitFor(email);
  return { email, password, session: res.data, mail, ...linkOf(app, mail, { secrets, page: 'verify-email' }) };
}
