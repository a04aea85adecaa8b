import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';

/** One message the test SMTP server accepted, parsed. */
export interface ReceivedMail {
  to: string[];
  from: string;
  subject: string;
  text: string;
  html: string;
  /** The first link to the app's /account pages in the text, if any. */
  link: string | undefined;
  /** The token after `#token=` in that link. */
  token: string | undefined;
}

const ACCOUNT_LINK = /https?:\/\/\S+\/account\/[a-z-]+#token=([A-Za-z0-9_-]+)/;

/**
 * A real SMTP server in the test process, on a free port of 127.0.0.1, keeping what it receives.
 * `failNext(n)` answers the next n messages with a temporary failure (451), as a busy server would.
 */
export async function startSmtpInbox() {
  const received: ReceivedMail[] = [];
  const waiters: (() => void)[] = [];
  let failures = 0;
  let attempts = 0;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, session, callback) {
      attempts += 1;
      if (failures > 0) {
        failures -= 1;
        stream.resume();
        stream.on('end', () => callback(Object.assign(new Error('Try again later'), { responseCode: 451 })));
        return;
      }
      simpleParser(stream)
        .then((parsed) => {
          const text = parsed.text ?? '';
          const match = ACCOUNT_LINK.exec(text);
          received.push({
            to: session.envelope.rcptTo.map((rcpt) => rcpt.address),
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            subject: parsed.subject ?? '',
            text,
            html: typeof parsed.html === 'string' ? parsed.html : '',
            link: match?.[0],
            token: match?.[1],
          });
          for (const wake of waiters.splice(0)) wake();
          callback();
        })
        .catch((error: unknown) => callback(error as Error));
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.server.address();
  if (address === null || typeof address === 'string') throw new Error('the SMTP server has no port');

  /** The messages to `to` so far. */
  const to = (address_: string) => received.filter((mail) => mail.to.includes(address_));

  return {
    url: `smtp://127.0.0.1:${address.port}`,
    received,
    get attempts() {
      return attempts;
    },
    to,
    failNext(count: number) {
      failures = count;
    },
    /** Waits (up to `timeoutMs`) until `count` messages to `address_` have arrived; answers the last one. */
    async waitFor(address_: string, { count = 1, timeoutMs = 5_000 } = {}): Promise<ReceivedMail> {
      const deadline = Date.now() + timeoutMs;
      while (to(address_).length < count) {
        const left = deadline - Date.now();
        if (left <= 0)
          throw new Error(
            `no mail #${count} to ${address_} within ${timeoutMs} ms (${received.length} received in all)`,
          );
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          waiters.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
      return to(address_)[count - 1] as ReceivedMail;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export type SmtpInbox = Awaited<ReturnType<typeof startSmtpInbox>>;
