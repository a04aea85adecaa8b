import type { ServerResponse } from 'node:http';

/** Sent on every response: an API answers JSON and is never framed or sniffed. */
const BASE_HEADERS: Record<string, string> = {
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Strict-Transport-Security': 'max-age=31536000; includeSubDomains',
  'Content-Security-Policy': "default-src 'none'; frame-ancestors 'none'",
};

/** /docs loads only its own files; Swagger UI needs inline styles and data: images. */
export const DOCS_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'";

/** /panel is one inline bundle plus Monaco (AMD loader, workers), all served from here. */
export const PANEL_CSP =
  "default-src 'self'; script-src 'self' 'unsafe-inline' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:; connect-src 'self'; frame-ancestors 'none'";

export function setSecurityHeaders(res: ServerResponse): void {
  for (const name in BASE_HEADERS) res.setHeader(name, BASE_HEADERS[name] ?? '');
}

/** /account pages: their own script, which calls the API here; nothing else. */
export const ACCOUNT_PAGES_CSP =
  "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";
