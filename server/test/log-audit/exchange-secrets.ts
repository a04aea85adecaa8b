import { SECRET_SHAPES, type SecretKind } from './audit.ts';
import { recordSecret } from './records.ts';

/**
 * Finds the secrets in what a test sent and received over HTTP, whichever helper or client
 * made the request: passwords in request inputs, tokens in answers, Bearer credentials.
 */

/**
 * Statuses of a request refused before any procedure read its input. Fuzzing sends the same
 * strings (`pm_card_visa`, `../../etc/passwd`) as passwords and as other fields, which are
 * logged by design; only a password or token the server read as one is tracked.
 */
const REFUSED_UNREAD = new Set([400, 404, 405, 413, 415, 431]);

const MAX_DEPTH = 12;

const ACCOUNT_TOKEN = /^[A-Za-z0-9_-]{43}$/;

function keyKind(key: string): SecretKind | undefined {
  const name = key.toLowerCase().replace(/[_-]/g, '');
  if (name.includes('password')) return 'password';
  if (name === 'refreshtoken') return 'refresh_token';
  if (name === 'accesstoken') return 'access_token';
  if (name === 'token') return 'account_token';
  return undefined;
}

/** Every string under a secret-named key (`password`, `refreshToken`, …) at any depth. */
function secretsIn(value: unknown, depth = 0, found: { kind: SecretKind; value: string }[] = []) {
  if (depth > MAX_DEPTH || value === null || typeof value !== 'object') return found;
  for (const [key, child] of Object.entries(value)) {
    const kind = keyKind(key);
    if (kind !== undefined && typeof child === 'string') found.push({ kind, value: child });
    else secretsIn(child, depth + 1, found);
  }
  return found;
}

function parseJson(text: string | undefined | null): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

export interface SentRequest {
  url: string;
  authorization?: string | undefined;
  body?: string | undefined;
}

/** Records the secrets of one request, once its status is known. */
export function recordRequestSecrets({ url, authorization, body }: SentRequest, status: number): void {
  const bearer = /^\s*Bearer\s+(\S+)/i.exec(authorization ?? '')?.[1];
  if (bearer !== undefined && SECRET_SHAPES.jwt.test(bearer)) recordSecret('bearer_token', bearer);
  if (REFUSED_UNREAD.has(status)) return;
  // A tRPC query carries its input in the URL; a mutation, in its body.
  let queryInput: string | null = null;
  try {
    queryInput = new URL(url, 'http://localhost').searchParams.get('input');
  } catch {
    // not a URL this recorder can read
  }
  for (const input of [parseJson(body), parseJson(queryInput)]) {
    for (const secret of secretsIn(input)) {
      // Tokens are JWTs: any other string sent as one is nobody's credential (fuzzing sends
      // `constructor` as a refresh token, and the word is in many lines).
      // A mailed link's token has a shape of its own (43 base64url characters).
      if (
        secret.kind === 'account_token'
          ? !ACCOUNT_TOKEN.test(secret.value)
          : secret.kind !== 'password' && !SECRET_SHAPES.jwt.test(secret.value)
      )
        continue;
      recordSecret(secret.kind, secret.value);
    }
  }
}

/** Records the tokens an answer handed out (an AuthSession, alone or in a tRPC envelope or batch). */
export function recordResponseSecrets(body: string): void {
  for (const secret of secretsIn(parseJson(body))) {
    // A password never comes back; a token always counts.
    if (secret.kind !== 'password') recordSecret(secret.kind, secret.value);
  }
}
