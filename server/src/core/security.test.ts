import jwt from 'jsonwebtoken';
import { describe, expect, it } from 'vitest';
import { forgeToken, unsignedToken } from '../../test/api-client.ts';
import { TEST_JWT_SECRET } from '../../test/test-app.ts';
import {
  burnPasswordCheck,
  createTokenService,
  digestToken,
  hashPassword,
  verifyPassword,
  type TokenService,
} from './security.ts';

const OPTIONS = {
  secret: TEST_JWT_SECRET,
  issuer: 'orders-service',
  audience: 'orders-api',
  accessTokenTtlSeconds: 900,
  refreshTokenTtlSeconds: 30 * 86_400,
  refreshReuseGraceSeconds: 10,
};

const tokens: TokenService = createTokenService(OPTIONS);
const ADA = { user: { id: 'usr_ADA', role: 'customer' }, sessionId: 'rtk_SESSION' } as const;
const refreshClaims = (tokenId: string, familyId: string) => ({
  userId: 'usr_ADA',
  tokenId,
  familyId,
  ...tokens.refreshTokenLifetime(),
});
const now = () => Math.floor(Date.now() / 1000);

describe('passwords', () => {
  it('hashes with argon2id at the OWASP parameters, salted', async () => {
    const first = await hashPassword('correct horse battery staple');
    const second = await hashPassword('correct horse battery staple');
    expect(first.startsWith('$argon2id$')).toBe(true);
    expect(first).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(first).not.toContain('correct horse');
    expect(second).not.toBe(first);
  });

  it('verifies the right password and refuses any other', async () => {
    const hash = await hashPassword('correct horse battery staple');
    expect(await verifyPassword(hash, 'correct horse battery staple')).toBe(true);
    expect(await verifyPassword(hash, 'correct horse battery stapl')).toBe(false);
    expect(await verifyPassword(hash, 'Correct horse battery staple')).toBe(false);
    expect(await verifyPassword(hash, '')).toBe(false);
  });

  it('answers false, without throwing, for a hash that is not one', async () => {
    expect(await verifyPassword('not-a-hash', 'whatever')).toBe(false);
    expect(await verifyPassword('', 'whatever')).toBe(false);
  });

  it('burns a password check for unknown emails without failing', async () => {
    await expect(burnPasswordCheck('anything at all')).resolves.toBeUndefined();
  });
});

describe('digestToken', () => {
  it('is a stable SHA-256 hex digest that differs per token', () => {
    expect(digestToken('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(digestToken('abc')).toBe(digestToken('abc'));
    expect(digestToken('abd')).not.toBe(digestToken('abc'));
  });
});

describe('token service', () => {
  it('round-trips an access token with its claims', () => {
    const token = tokens.signAccessToken({ user: { id: 'usr_ADA', role: 'admin' }, sessionId: 'rtk_SESSION' });
    const result = tokens.verifyAccessToken(token);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.claims).toMatchObject({ sub: 'usr_ADA', role: 'admin', typ: 'access', sid: 'rtk_SESSION' });
    expect(result.claims.exp - result.claims.iat).toBe(900);
    const decoded = jwt.decode(token, { complete: true });
    expect(decoded?.header.alg).toBe('HS256');
    expect(decoded?.payload).toMatchObject({ iss: 'orders-service', aud: 'orders-api' });
  });

  it('round-trips a refresh token with its id and family', () => {
    const token = tokens.signRefreshToken(refreshClaims('rtk_ONE', 'rtk_FAMILY'));
    const result = tokens.verifyRefreshToken(token);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.claims).toMatchObject({ sub: 'usr_ADA', typ: 'refresh', jti: 'rtk_ONE', fam: 'rtk_FAMILY' });
    expect(result.claims.exp - result.claims.iat).toBe(30 * 86_400);
  });

  it('signs the same refresh token again from the same claims, and another for another id', () => {
    const claims = refreshClaims('rtk_ONE', 'rtk_FAMILY');
    const token = tokens.signRefreshToken(claims);
    expect(tokens.signRefreshToken({ ...claims })).toBe(token);
    expect(tokens.signRefreshToken({ ...claims, tokenId: 'rtk_TWO' })).not.toBe(token);
    const later = new Date(claims.issuedAt.getTime() + 1000);
    expect(tokens.signRefreshToken({ ...claims, issuedAt: later })).not.toBe(token);
  });

  it('gives every access token its own id, so two signed in one second differ', () => {
    expect(tokens.signAccessToken(ADA)).not.toBe(tokens.signAccessToken(ADA));
  });

  it('accepts a token signed elsewhere with the same secret as a string (the KeyObject is the same key)', () => {
    const result = tokens.verifyAccessToken(forgeToken({ sub: 'usr_ADA', sid: 'rtk_SESSION' }));
    expect(result).toMatchObject({ ok: true, claims: { sub: 'usr_ADA', typ: 'access', sid: 'rtk_SESSION' } });
  });

  const refusals: { name: string; token: () => string; reason: string; as?: 'access' | 'refresh' }[] = [
    { name: 'not a JWT', token: () => 'not.a.jwt', reason: 'Malformed Token' },
    { name: 'an empty string', token: () => '', reason: 'Malformed Token' },
    {
      name: 'another secret',
      token: () => forgeToken({ sub: 'usr_ADA' }, { secret: 'x'.repeat(40) }),
      reason: 'Invalid Signature',
    },
    {
      name: 'a tampered payload',
      token: () => tamper(tokens.signAccessToken(ADA)),
      reason: 'Invalid Signature',
    },
    {
      name: 'expired',
      token: () => forgeToken({ sub: 'usr_ADA', iat: now() - 100, exp: now() - 10 }),
      reason: 'Expired Token',
    },
    {
      name: 'not yet valid',
      token: () => forgeToken({ sub: 'usr_ADA', nbf: now() + 60 }),
      reason: 'Token Not Yet Valid',
    },
    { name: 'HS384', token: () => forgeToken({ sub: 'usr_ADA' }, { algorithm: 'HS384' }), reason: 'Invalid Algorithm' },
    { name: 'HS512', token: () => forgeToken({ sub: 'usr_ADA' }, { algorithm: 'HS512' }), reason: 'Invalid Algorithm' },
    { name: 'alg none', token: () => unsignedToken({ sub: 'usr_ADA' }), reason: 'Invalid Algorithm' },
    { name: 'another audience', token: () => forgeToken({ sub: 'usr_ADA', aud: 'other' }), reason: 'Invalid Audience' },
    { name: 'no audience', token: () => forgeToken({ sub: 'usr_ADA', aud: undefined }), reason: 'Invalid Audience' },
    { name: 'another issuer', token: () => forgeToken({ sub: 'usr_ADA', iss: 'other' }), reason: 'Invalid Issuer' },
    { name: 'no issuer', token: () => forgeToken({ sub: 'usr_ADA', iss: undefined }), reason: 'Invalid Issuer' },
    { name: 'no expiry', token: () => forgeToken({ sub: 'usr_ADA', exp: undefined }), reason: 'Malformed Token' },
    { name: 'no subject', token: () => forgeToken({ sub: undefined }), reason: 'Malformed Token' },
    { name: 'no session', token: () => forgeToken({ sub: 'usr_ADA', sid: undefined }), reason: 'Malformed Token' },
    { name: 'no type', token: () => forgeToken({ sub: 'usr_ADA', typ: undefined }), reason: 'Wrong Token Type' },
    {
      name: 'a refresh token as an access token',
      token: () => tokens.signRefreshToken(refreshClaims('rtk_ONE', 'rtk_F')),
      reason: 'Wrong Token Type',
    },
    {
      name: 'an access token as a refresh token',
      token: () => tokens.signAccessToken(ADA),
      reason: 'Wrong Token Type',
      as: 'refresh',
    },
  ];

  it.each(refusals)('refuses $name: $reason', ({ token, reason, as = 'access' }) => {
    const result = as === 'access' ? tokens.verifyAccessToken(token()) : tokens.verifyRefreshToken(token());
    expect(result).toMatchObject({ ok: false, reason });
  });

  it('verifies 1000 tokens quickly through the KeyObject made once', () => {
    const token = tokens.signAccessToken(ADA);
    let accepted = 0;
    for (let index = 0; index < 1000; index++) if (tokens.verifyAccessToken(token).ok) accepted++;
    expect(accepted).toBe(1000);
  });
});

/** The same header and signature over another payload: a role escalation attempt. */
function tamper(token: string): string {
  const [header, payload, signature] = token.split('.');
  const claims = JSON.parse(Buffer.from(payload ?? '', 'base64url').toString()) as Record<string, unknown>;
  const forged = Buffer.from(JSON.stringify({ ...claims, role: 'admin' })).toString('base64url');
  return `${header}.${forged}.${signature}`;
}
