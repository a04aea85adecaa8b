import type { ServerResponse } from 'node:http';

/**
 * The pages the mailed links open: `/account/verify-email#token=…` and
 * `/account/reset-password#token=…`. The token stays in the fragment, which browsers never
 * send, so it reaches no access log; the page's script reads it, drops it from the address
 * bar, and posts it to the REST API.
 */

const PAGE = (title: string, body: string) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title></head>
<body style="font-family: sans-serif; max-width: 32rem; margin: 3rem auto">
<h1>${title}</h1>
${body}
<p id="result" role="status"></p>
<script src="/account/account.js"></script>
</body></html>
`;

const PAGES: Record<string, string> = {
  '/verify-email': PAGE('Confirm your email address', '<p id="working">Confirming…</p>'),
  '/reset-password': PAGE(
    'Choose a new password',
    `<form id="reset"><label>New password (12 to 128 characters)<br>
<input type="password" name="newPassword" minlength="12" maxlength="128" required autocomplete="new-password"></label>
<p><button type="submit">Set the password</button></p></form>`,
  ),
};

const SCRIPT = `'use strict';
(function () {
  var token = new URLSearchParams(location.hash.slice(1)).get('token') || '';
  history.replaceState(null, '', location.pathname);
  var result = document.getElementById('result');
  function call(path, input) {
    return fetch('/api/v1/auth/' + path, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(input),
    }).then(function (res) {
      return res.json().then(function (body) { return { ok: res.ok, body: body }; });
    }).then(function (answer) {
      result.textContent = answer.ok ? 'Done.' : (answer.body.message || 'Something went wrong');
      return answer.ok;
    });
  }
  var form = document.getElementById('reset');
  if (form) {
    form.addEventListener('submit', function (event) {
      event.preventDefault();
      call('reset-password', { token: token, newPassword: form.elements.newPassword.value }).then(function (ok) {
        if (ok) { form.hidden = true; result.textContent = 'Your password is set; every session was signed out.'; }
      });
    });
  } else {
    call('verify-email', { token: token }).then(function (ok) {
      document.getElementById('working').hidden = true;
      if (ok) result.textContent = 'Your email address is confirmed.';
    });
  }
})();
`;

/** Answers `path` (under /account) when it is one of the pages or their script; false otherwise. */
export function serveAccountPage(res: ServerResponse, path: string): boolean {
  if (path === '/account.js') {
    res.writeHead(200, { 'Content-Type': 'text/javascript; charset=utf-8', 'Cache-Control': 'no-cache' });
    res.end(SCRIPT);
    return true;
  }
  const page = PAGES[path];
  if (page === undefined) return false;
  res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end(page);
  return true;
}
