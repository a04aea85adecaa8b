import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type nodemailer from 'nodemailer';
import type { Config } from '../config.ts';
import type { Logger } from '../logging/logger.ts';
import type { WorkTracker } from '../work-tracker.ts';

/** One message, plain text and HTML. `link` is the one link it carries (development prints it). */
export interface MailMessage {
  to: string;
  subject: string;
  text: string;
  html: string;
  /** What kind of message it is, for the log (`verify_email`, `reset_password`, …). */
  template: string;
  link?: string | undefined;
}

export interface Mailer {
  /**
   * Sends in the background: call it after the transaction that made the message true has
   * committed. Never throws; a failed attempt is retried, and every outcome is logged (never
   * the message's text, which carries a token). Shutdown waits for sends in flight.
   */
  send(message: MailMessage): void;
}

export interface MailerOptions {
  config: Config['mail'];
  logger: Logger;
  work: WorkTracker;
  /** The waits before each retry; their number is the number of retries. */
  retryDelaysMs?: readonly number[];
  /** Where development prints each message's link (stderr). */
  printLink?: (line: string) => void;
}

const DEFAULT_RETRY_DELAYS_MS = [500, 2_000, 5_000] as const;

type Deliver = (message: MailMessage) => Promise<{ messageId?: string; file?: string }>;

/**
 * nodemailer's transport, made at the first send: a process that sends no mail never loads
 * nodemailer. A failure is not kept: the next attempt tries again.
 */
function transportAtFirstSend<Transport>(make: (mailer: typeof nodemailer) => Transport): () => Promise<Transport> {
  let made: Promise<Transport> | undefined;
  return () =>
    (made ??= import('nodemailer').then(
      (module) => make(module.default),
      (error: unknown) => {
        made = undefined;
        throw error;
      },
    ));
}

function smtpDelivery(config: Config['mail'], smtpUrl: string): Deliver {
  const transport = transportAtFirstSend((mailer) =>
    mailer.createTransport(
      {
        url: smtpUrl,
        // A stuck server must not hold a send (and shutdown) for nodemailer's 10 minutes.
        connectionTimeout: 10_000,
        greetingTimeout: 10_000,
        socketTimeout: 20_000,
      },
      { from: config.from },
    ),
  );
  return async (message) => {
    const sender = await transport();
    const info = await sender.sendMail({
      to: message.to,
      subject: message.subject,
      text: message.text,
      html: message.html,
    });
    return { messageId: info.messageId };
  };
}

/** Development without SMTP: each message as an .eml file, its link printed for whoever runs the server. */
function fileDelivery(config: Config['mail'], printLink: (line: string) => void): Deliver {
  const transport = transportAtFirstSend((mailer) =>
    mailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' }),
  );
  return async (message) => {
    const sender = await transport();
    const info = await sender.sendMail({
      from: config.from,
      to: message.to,
      subject: message.subject,
      text: message.text,
      html: message.html,
    });
    await mkdir(config.directory, { recursive: true });
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    const file = join(config.directory, `${stamp}-${message.template}-${randomBytes(3).toString('hex')}.eml`);
    await writeFile(file, info.message);
    if (message.link !== undefined) printLink(`mail to ${message.to} (${message.subject}): ${message.link}\n`);
    return { messageId: info.messageId, file };
  };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * The service's mail: SMTP when `SMTP_URL` is set; in development without it, files under
 * `.data/mail/`; elsewhere nothing is sent and each message is logged as `mail_not_sent`.
 */
export function createMailer({
  config,
  logger,
  work,
  retryDelaysMs = DEFAULT_RETRY_DELAYS_MS,
  printLink = (line) => process.stderr.write(line),
}: MailerOptions): Mailer {
  const deliver: Deliver | undefined =
    config.transport === 'smtp' && config.smtpUrl !== undefined
      ? smtpDelivery(config, config.smtpUrl)
      : config.transport === 'files'
        ? fileDelivery(config, printLink)
        : undefined;

  async function sendWithRetries(message: MailMessage): Promise<void> {
    const about = { template: message.template, to: message.to };
    if (deliver === undefined) {
      logger.warn('mail_not_sent', { reason: 'No SMTP_URL is configured', context: about });
      return;
    }
    for (let attempt = 1; ; attempt++) {
      try {
        const sent = await deliver(message);
        logger.info('mail_sent', { context: { ...about, attempt, message_id: sent.messageId, file: sent.file } });
        return;
      } catch (error) {
        const reason = error instanceof Error ? error.message.slice(0, 500) : String(error).slice(0, 500);
        const retryInMs = retryDelaysMs[attempt - 1];
        if (retryInMs === undefined) {
          logger.error('MailDeliveryError', { reason, context: { ...about, attempts: attempt } });
          return;
        }
        logger.warn('mail_send_failed', { reason, context: { ...about, attempt, retry_in_ms: retryInMs } });
        await sleep(retryInMs);
      }
    }
  }

  return {
    send(message) {
      void work.track(sendWithRetries(message));
    },
  };
}
