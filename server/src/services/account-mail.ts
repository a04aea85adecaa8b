import type { MailMessage } from '../core/mail/mailer.ts';

/**
 * The account's messages: small templates, plain text and HTML, whose links point to the
 * service's public URL. A token travels after `#` in its link: browsers never send the
 * fragment to a server, so no access log or proxy on the way sees it.
 */

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text a user wrote (a name, an address), safe inside HTML. */
function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => HTML_ESCAPES[character] ?? character);
}

function layout({
  greeting,
  lines,
  link,
  action,
}: {
  greeting: string;
  lines: string[];
  link?: string;
  action?: string;
}) {
  const text = [
    greeting,
    '',
    ...lines,
    ...(link ? ['', `${action ?? 'Open'}: ${link}`] : []),
    '',
    '— orders-service',
    '',
  ];
  const html = [
    '<!doctype html><html><body style="font-family: sans-serif">',
    `<p>${escapeHtml(greeting)}</p>`,
    ...lines.map((line) => `<p>${escapeHtml(line)}</p>`),
    ...(link
      ? [`<p><a href="${escapeHtml(link)}">${escapeHtml(action ?? 'Open')}</a></p>`, `<p>${escapeHtml(link)}</p>`]
      : []),
    '<p>— orders-service</p></body></html>',
  ];
  return { text: text.join('\n'), html: html.join('\n') };
}

export function accountLink(publicUrl: string, page: 'verify-email' | 'reset-password', token: string): string {
  return `${publicUrl}/account/${page}#token=${token}`;
}

export function verificationMail({ to, name, link }: { to: string; name: string; link: string }): MailMessage {
  return {
    to,
    template: 'verify_email',
    subject: 'Confirm your email address',
    link,
    ...layout({
      greeting: `Hello ${name},`,
      lines: [
        `Please confirm that ${to} is your address. The link works once, for 24 hours.`,
        'If you did not ask for this, ignore this message.',
      ],
      link,
      action: 'Confirm my email address',
    }),
  };
}

export function passwordResetMail({ to, link }: { to: string; link: string }): MailMessage {
  return {
    to,
    template: 'reset_password',
    subject: 'Reset your password',
    link,
    ...layout({
      greeting: 'Hello,',
      lines: [
        'Someone asked to reset the password of the account that uses this address.',
        'The link works once, for one hour; asking again voids it. Resetting signs out every session.',
        'If it was not you, ignore this message: your password stays as it is.',
      ],
      link,
      action: 'Choose a new password',
    }),
  };
}

export function emailChangedMail({ to, name, newEmail }: { to: string; name: string; newEmail: string }): MailMessage {
  return {
    to,
    template: 'email_changed',
    subject: 'Your email address was changed',
    ...layout({
      greeting: `Hello ${name},`,
      lines: [
        `The email address of your account is now ${newEmail}; this address (${to}) no longer signs in.`,
        'If you did not make this change, reset your password at once and contact support.',
      ],
    }),
  };
}
