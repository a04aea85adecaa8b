import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { capturedLogger, testConfig } from '../../../test/test-app.ts';
import { startSmtpInbox } from '../../../test/smtp-inbox.ts';
import { waitForLines } from '../../../test/http-client.ts';
import { createWorkTracker } from '../work-tracker.ts';
import { createMailer, type MailMessage } from './mailer.ts';

const message: MailMessage = {
  to: 'ada@example.com',
  subject: 'Confirm your email address',
  text: 'Open: http://127.0.0.1:3000/account/verify-email#token=abc',
  html: '<p><a href="http://127.0.0.1:3000/account/verify-email#token=abc">Open</a></p>',
  template: 'verify_email',
  link: 'http://127.0.0.1:3000/account/verify-email#token=abc',
};

const folders: string[] = [];
afterAll(() => {
  for (const folder of folders) rmSync(folder, { recursive: true, force: true });
});

function setUp(env: Record<string, string>) {
  const config = testConfig(env);
  const { logs, logger } = capturedLogger(config);
  const work = createWorkTracker();
  const printed: string[] = [];
  return { config, logs, logger, work, printed };
}

describe('createMailer', () => {
  it('in development without SMTP, writes each message under the mail folder and prints its link', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'mail-'));
    folders.push(directory);
    const { config, logs, logger, work, printed } = setUp({ NODE_ENV: 'development' });
    expect(config.mail.transport).toBe('files');
    const mailer = createMailer({
      config: { ...config.mail, directory: join(directory, 'mail') },
      logger,
      work,
      printLink: (line) => printed.push(line),
    });
    mailer.send(message);
    expect(await work.drained(5_000)).toEqual({ drained: true, active: 0 });
    const files = readdirSync(join(directory, 'mail'));
    expect(files).toEqual([expect.stringMatching(/-verify_email-[0-9a-f]{6}\.eml$/)]);
    const eml = readFileSync(join(directory, 'mail', files[0] as string), 'utf8');
    expect(eml).toMatch(/^Subject: Confirm your email address$/m);
    expect(eml).toMatch(/^To: ada@example\.com$/m);
    expect(eml).toContain('multipart/alternative');
    expect(printed).toEqual([`mail to ada@example.com (Confirm your email address): ${message.link}\n`]);
    const [sent] = logs.events('mail_sent');
    expect(sent?.context).toMatchObject({ template: 'verify_email', to: 'ada@example.com', attempt: 1 });
    expect(logs.text).not.toContain('token=abc');
  });

  it('without SMTP outside development, sends nothing and says so in the log', async () => {
    const { config, logs, logger, work } = setUp({});
    expect(config.mail.transport).toBe('none');
    createMailer({ config: config.mail, logger, work }).send(message);
    await work.drained(1_000);
    const [line] = logs.events('mail_not_sent');
    expect(line).toMatchObject({ level: 'WARN', reason: 'No SMTP_URL is configured' });
    expect(logs.text).not.toContain('token=abc');
  });

  it('keeps shutdown waiting for a send in flight (it goes on retrying) until it is delivered', async () => {
    const inbox = await startSmtpInbox();
    try {
      const { config, logs, logger, work } = setUp({ SMTP_URL: inbox.url });
      inbox.failNext(1);
      createMailer({ config: config.mail, logger, work, retryDelaysMs: [300] }).send(message);
      expect(work.active).toBe(1);
      const drained = await work.drained(5_000);
      expect(drained).toEqual({ drained: true, active: 0 });
      expect(inbox.to('ada@example.com')).toHaveLength(1);
      await waitForLines(logs, { event: 'mail_sent' });
      expect(logs.events('mail_send_failed')).toHaveLength(1);
    } finally {
      await inbox.close();
    }
  });
});
