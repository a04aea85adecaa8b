import jwt from 'jsonwebtoken';
import { TEST_JWT_SECRET } from './test-app.ts';

/** Tokens made outside the service, as an attacker or a test needs them. */

export const JWT_ISSUER = 'orders-service';
export const JWT_AUDIENCE = 'orders-api';

/** The claims of a valid access token of a session that does not exist, issued now for 15 minutes. */
function validAccessClaims(): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000);
  return {
    typ: 'access',
    role: 'customer',
    sid: 'rtk_FORGED',
    iss: JWT_ISSUER,
    aud: JWT_AUDIENCE,
    iat: now,
    exp: now + 900,
  };
}

/**
 * A JWT made outside the service, for the cases it must refuse. Defaults make a valid
 * access token for `sub` (of a session that does not exist: pass a real one's `sid` for a
 * token the service accepts); every field can be overridden or left out (`undefined`).
 */
export function forgeToken(
  claims: Record<string, unknown>,
  { secret = TEST_JWT_SECRET, algorithm = 'HS256' }: { secret?: string; algorithm?: jwt.Algorithm } = {},
): string {
  const payload = Object.fromEntries(
    Object.entries({ ...validAccessClaims(), ...claims }).filter(([, value]) => value !== undefined),
  );
  return jwt.sign(payload, secret, { algorithm });
}

/** The session (`sid`) an access token the service issued belongs to. */
export function sessionIdOf(accessToken: string): string {
  const claims = jwt.decode(accessToken);
  if (typeof claims !== 'object' || typeof claims?.sid !== 'string')
    throw new Error('not an access token of a session');
  return claims.sid;
}

/** An unsigned token (`alg: none`), built by hand as an attacker would. */
export function unsignedToken(claims: Record<string, unknown>): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const payload = { ...validAccessClaims(), ...claims };
  return `${part({ alg: 'none', typ: 'JWT' })}.${part(payload)}.`;
}
