import { describe, expect, it } from 'vitest';
import { ConfigError, describeConfig, loadConfig } from './config.ts';

const STRONG_SECRET = 'a-production-secret-of-more-than-32-bytes-0123456789';

function problemsFor(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

describe('loadConfig: mail and accounts', () => {
  it.each([
    { variable: 'SMTP_URL', value: 'http://mail.example.com', why: /must be an smtp:\/\/ or smtps:\/\/ URL/ },
    { variable: 'PUBLIC_URL', value: 'ftp://example.com', why: /must be an http:\/\/ or https:\/\/ URL/ },
    { variable: 'PUBLIC_URL', value: 'not a url', why: /must be an http:\/\/ or https:\/\/ URL/ },
    { variable: 'REQUIRE_VERIFIED_EMAIL', value: 'sometimes', why: /must be true or false/ },
    { variable: 'MAIL_FROM', value: 'x', why: />=3/ },
  ])('refuses $variable=$value', ({ variable, value, why }) => {
    const [problem] = problemsFor({ [variable]: value });
    expect(problem).toMatch(new RegExp(`^${variable}: `));
    expect(problem).toMatch(why);
  });

  it('never echoes a bad SMTP_URL, which may carry a password', () => {
    const [problem] = problemsFor({ SMTP_URL: 'http://user:smtp-password-do-not-log@mail' });
    expect(problem).not.toContain('smtp-password-do-not-log');
  });

  it('writes mail to files in development, sends nothing elsewhere, and uses SMTP once it is set', () => {
    expect(loadConfig({}).mail).toMatchObject({ transport: 'files', directory: '.data/mail' });
    expect(loadConfig({ NODE_ENV: 'test', JWT_SECRET: STRONG_SECRET }).mail.transport).toBe('none');
    expect(loadConfig({ NODE_ENV: 'production', JWT_SECRET: STRONG_SECRET }).mail.transport).toBe('none');
    const smtp = loadConfig({ SMTP_URL: 'smtp://mail.internal:2525', MAIL_FROM: 'Shop <shop@example.com>' });
    expect(smtp.mail).toMatchObject({
      transport: 'smtp',
      smtpUrl: 'smtp://mail.internal:2525',
      from: 'Shop <shop@example.com>',
    });
  });

  it("links to the server's own address unless PUBLIC_URL says otherwise (without a trailing slash)", () => {
    expect(loadConfig({}).publicUrl).toBe('http://127.0.0.1:3000');
    expect(loadConfig({ HOST: '::1', PORT: '8080' }).publicUrl).toBe('http://[::1]:8080');
    expect(loadConfig({ PUBLIC_URL: 'https://shop.example.com/' }).publicUrl).toBe('https://shop.example.com');
  });

  it('does not require a verified email to order unless REQUIRE_VERIFIED_EMAIL=true', () => {
    expect(loadConfig({}).accounts.requireVerifiedEmail).toBe(false);
    expect(loadConfig({ REQUIRE_VERIFIED_EMAIL: 'true' }).accounts.requireVerifiedEmail).toBe(true);
  });

  it('never describes the SMTP password', () => {
    const config = loadConfig({ SMTP_URL: 'smtps://mailer:smtp-password-do-not-log@mail.example.com:465' });
    const described = JSON.stringify(describeConfig(config));
    expect(described).not.toContain('smtp-password-do-not-log');
    expect(described).toContain('mail.example.com:465');
  });
});
