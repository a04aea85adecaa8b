import { createHash, createSecretKey, randomUUID, type KeyObject } from 'node:crypto';
import { hash, verify, type Options as Argon2Options } from '@node-rs/argon2';
import type { AuthFailureReason, UserRole } from '@orders/shared';
import jwt from 'jsonwebtoken';

/**
 * OWASP's argon2id recommendation: 19 MiB, 2 iterations, 1 lane. `algorithm: 2` is
 * Argon2id (the package's const enum cannot be imported under verbatimModuleSyntax).
 */
const ARGON2_OPTIONS: Argon2Options = { algorithm: 2, memoryCost: 19_456, timeCost: 2, parallelism: 1 };

export function hashPassword(password: string): Promise<string> {
  return hash(password, ARGON2_OPTIONS);
}

export async function verifyPassword(passwordHash: string, password: string): Promise<boolean> {
  try {
    return await verify(passwordHash, password);
  } catch {
    return false;
  }
}

/** Compared against when the email is unknown, so both login failures cost the same time. */
let dummyHash: Promise<string> | undefined;
export async function burnPasswordCheck(password: string): Promise<void> {
  dummyHash ??= hashPassword('a-password-nobody-has-0000');
  await verifyPassword(await dummyHash, password);
}

/** Refresh tokens are stored as SHA-256 digests: a leaked table grants nothing. */
export function digestToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export type TokenType = 'access' | 'refresh';

export interface AccessClaims {
  sub: string;
  role: UserRole;
  typ: 'access';
  /** The session (refresh token family) the token was issued for: revoking it ends the token too. */
  sid: string;
  exp: number;
  iat: number;
}

export interface RefreshClaims {
  sub: string;
  typ: 'refresh';
  jti: string;
  fam: string;
  exp: number;
  iat: number;
}

export type VerifyResult<Claims> =
  { ok: true; claims: Claims } | { ok: false; reason: AuthFailureReason; detail?: Record<string, unknown> };

const ALGORITHM = 'HS256';

/** Maps jsonwebtoken's errors to the exact reasons of the logging contract. */
function classify(error: unknown): { reason: AuthFailureReason; detail?: Record<string, unknown> } {
  if (error instanceof jwt.TokenExpiredError) {
    return { reason: 'Expired Token', detail: { expired_at: error.expiredAt.toISOString() } };
  }
  if (error instanceof jwt.NotBeforeError) {
    return { reason: 'Token Not Yet Valid', detail: { not_before: error.date.toISOString() } };
  }
  const message = error instanceof Error ? error.message : '';
  if (message === 'invalid signature') return { reason: 'Invalid Signature' };
  if (message === 'invalid algorithm' || message === 'jwt signature is required')
    return { reason: 'Invalid Algorithm' };
  if (message.startsWith('jwt audience invalid')) return { reason: 'Invalid Audience' };
  if (message.startsWith('jwt issuer invalid')) return { reason: 'Invalid Issuer' };
  return { reason: 'Malformed Token' };
}

export interface TokenServiceOptions {
  secret: string;
  issuer: string;
  audience: string;
  accessTokenTtlSeconds: number;
  refreshTokenTtlSeconds: number;
  /** How long a rotated refresh token still gets its successor again (0: never). */
  refreshReuseGraceSeconds: number;
}

/** What a refresh token says; the same claims always sign to the same token. */
export interface RefreshTokenClaims {
  userId: string;
  tokenId: string;
  familyId: string;
  /** Whole seconds, as `iat` and `exp` carry them. */
  issuedAt: Date;
  expiresAt: Date;
}

const epochSeconds = (date: Date) => Math.floor(date.getTime() / 1000);

/**
 * HS256 JWTs with the algorithm pinned and `iss`, `aud`, `typ` and `exp` required. The key
 * is a KeyObject made once: with a string secret jsonwebtoken tries to parse a public key
 * on every verify, about 20 times slower.
 */
export function createTokenService(options: TokenServiceOptions) {
  const key: KeyObject = createSecretKey(Buffer.from(options.secret, 'utf8'));
  const signOptions = { algorithm: ALGORITHM, issuer: options.issuer, audience: options.audience } as const;

  function verifyToken<Claims extends { typ: TokenType; exp: number }>(
    token: string,
    type: TokenType,
  ): VerifyResult<Claims> {
    const header = jwt.decode(token, { complete: true })?.header;
    if (!header) return { ok: false, reason: 'Malformed Token' };
    if (header.alg !== ALGORITHM) return { ok: false, reason: 'Invalid Algorithm', detail: { alg: header.alg } };
    let claims: Claims;
    try {
      claims = jwt.verify(token, key, {
        algorithms: [ALGORITHM],
        issuer: options.issuer,
        audience: options.audience,
        complete: false,
      }) as Claims;
    } catch (error) {
      return { ok: false, ...classify(error) };
    }
    if (typeof claims.exp !== 'number' || typeof (claims as { sub?: unknown }).sub !== 'string') {
      return { ok: false, reason: 'Malformed Token', detail: { missing: 'exp or sub' } };
    }
    if (claims.typ !== type)
      return { ok: false, reason: 'Wrong Token Type', detail: { expected: type, got: claims.typ } };
    return { ok: true, claims };
  }

  return {
    accessTokenTtlSeconds: options.accessTokenTtlSeconds,
    refreshTokenTtlSeconds: options.refreshTokenTtlSeconds,
    refreshReuseGraceSeconds: options.refreshReuseGraceSeconds,

    /** `jti` only makes each token distinct; revocation goes by the session, `sid`. */
    signAccessToken({ user, sessionId }: { user: { id: string; role: UserRole }; sessionId: string }): string {
      return jwt.sign({ role: user.role, typ: 'access', sid: sessionId }, key, {
        ...signOptions,
        subject: user.id,
        expiresIn: options.accessTokenTtlSeconds,
        jwtid: randomUUID(),
      });
    },

    /** The issue and expiry times of a refresh token issued now, in whole seconds. */
    refreshTokenLifetime(): { issuedAt: Date; expiresAt: Date } {
      const issuedAt = Math.floor(Date.now() / 1000);
      return {
        issuedAt: new Date(issuedAt * 1000),
        expiresAt: new Date((issuedAt + options.refreshTokenTtlSeconds) * 1000),
      };
    },

    /**
     * Deterministic: HS256 has no randomness and every claim, `iat` and `exp` included, comes
     * from the arguments, so the same claims give the same string. That lets a retried refresh
     * be answered with the token the first attempt got without keeping the token itself.
     */
    signRefreshToken({ userId, tokenId, familyId, issuedAt, expiresAt }: RefreshTokenClaims): string {
      return jwt.sign(
        { typ: 'refresh', fam: familyId, iat: epochSeconds(issuedAt), exp: epochSeconds(expiresAt) },
        key,
        { ...signOptions, subject: userId, jwtid: tokenId },
      );
    },

    verifyAccessToken(token: string): VerifyResult<AccessClaims> {
      const result = verifyToken<AccessClaims>(token, 'access');
      if (result.ok && typeof result.claims.sid !== 'string') {
        return { ok: false, reason: 'Malformed Token', detail: { missing: 'sid' } };
      }
      return result;
    },
    verifyRefreshToken: (token: string) => verifyToken<RefreshClaims>(token, 'refresh'),
  };
}

export type TokenService = ReturnType<typeof createTokenService>;
