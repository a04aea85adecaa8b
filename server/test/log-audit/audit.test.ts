import { createHash } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { describe, expect, it } from 'vitest';
import { hashPassword } from '../../src/core/security.ts';
import { createLogAudit, type TrackedSecret } from './audit.ts';

/** The suite-wide log audit's own check: it finds what is planted, and nothing in clean lines. */

const SIGNING_KEY = 'audit-test-signing-key-that-is-long-enough';
const password = 'correct-horse-battery-staple';
const accessToken = jwt.sign({ typ: 'access', sub: 'usr_1' }, SIGNING_KEY, { expiresIn: 900 });
const refreshToken = jwt.sign({ typ: 'refresh', sub: 'usr_1', fam: 'fam_1' }, SIGNING_KEY, { expiresIn: 3600 });
const passwordHash = await hashPassword(password);

const tracked: TrackedSecret[] = [
  { kind: 'password', value: password },
  { kind: 'access_token', value: accessToken },
  { kind: 'refresh_token', value: refreshToken },
  { kind: 'password_hash', value: passwordHash },
];

function line(fields: Record<string, unknown>): string {
  return JSON.stringify({ level: 'INFO', timestamp: '2026-11-26T12:00:00.000Z', event: 'something', ...fields });
}

function httpRequestLine(overrides: Record<string, unknown> = {}): string {
  return line({
    event: 'http_request',
    request_id: 'req_1',
    method: 'GET',
    path: '/api/v1/products',
    ip: '127.0.0.1',
    user_id: null,
    role: null,
    status: 200,
    latency_ms: 1.5,
    ...overrides,
  });
}

function audit(lines: string[], secrets: TrackedSecret[] = tracked) {
  const logAudit = createLogAudit(secrets);
  logAudit.auditText('planted.ndjson', `${lines.join('\n')}\n`);
  return logAudit.report();
}

describe('log audit', () => {
  it('passes clean lines: redacted values, an anonymous http_request line', () => {
    const report = audit([
      line({ event: 'auth_success', user_id: 'usr_1', password: '[REDACTED]', token: '[REDACTED]' }),
      httpRequestLine(),
      httpRequestLine({ user_id: 'usr_1', role: 'customer', status: 401 }),
    ]);
    expect(report).toMatchObject({
      passed: true,
      files: 1,
      lines_audited: 3,
      http_request_lines: 2,
      secrets_found: 0,
      lines_missing_contract_fields: 0,
      lines_not_json: 0,
    });
    // The refresh token brings its stored digest along.
    expect(report.secrets_tracked).toMatchObject({
      password: 1,
      access_token: 1,
      refresh_token: 1,
      refresh_token_digest: 1,
      password_hash: 1,
      total: 5,
    });
  });

  it('finds a planted password, access token, refresh token, its digest and a password hash, wherever they sit', () => {
    const digest = createHash('sha256').update(refreshToken).digest('hex');
    const report = audit([
      line({ event: 'login', input: { email: 'a@example.com', password } }),
      line({ event: 'sql', params: [passwordHash] }),
      line({ event: 'refresh', note: `token=${refreshToken}` }),
      line({ event: 'auth', header: accessToken }),
      line({ event: 'stored', value: digest }),
      `${password}`,
    ]);
    expect(report.passed).toBe(false);
    const found = report.findings.map((finding) => [finding.event, finding.found]);
    expect(found).toEqual(
      expect.arrayContaining([
        ['login', 'password'],
        ['sql', 'password_hash'],
        ['sql', 'argon2_hash'],
        ['refresh', 'refresh_token'],
        ['refresh', 'jwt'],
        ['auth', 'access_token'],
        ['auth', 'jwt'],
        ['stored', 'refresh_token_digest'],
        [undefined, 'password'],
      ]),
    );
    // The report shows where, never the secret itself.
    expect(JSON.stringify(report)).not.toContain(password);
    expect(JSON.stringify(report)).not.toContain(refreshToken);
    expect(report.lines_not_json).toBe(1);
  });

  it('finds a password as JSON escapes it inside a line', () => {
    const quoted = 'pass"word\\with-escapes';
    const report = audit([line({ event: 'echo', value: `said ${quoted}` })], [{ kind: 'password', value: quoted }]);
    expect(report.findings.map((finding) => finding.found)).toEqual(['password']);
  });

  it('finds secret-shaped strings nobody recorded: a JWT, an argon2 hash, a Bearer credential', () => {
    const stranger = jwt.sign({ sub: 'usr_2' }, 'another-key-that-nobody-recorded-anywhere');
    const report = audit(
      [
        line({ event: 'a', value: stranger }),
        line({ event: 'b', value: '$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$aGFzaA' }),
        line({ event: 'c', header: 'Bearer abcdefgh12345678' }),
        line({ event: 'd', header: 'Bearer [REDACTED]' }),
        line({ event: 'e', message: 'Bearer authentication required', challenge: 'Bearer realm="orders-api"' }),
      ],
      [],
    );
    expect(report.findings.map((finding) => [finding.event, finding.found])).toEqual([
      ['a', 'jwt'],
      ['b', 'argon2_hash'],
      ['c', 'bearer_credential'],
    ]);
  });

  it('reports http_request lines without a contract field, and lines without level, timestamp or event', () => {
    const { latency_ms: _latency, ...withoutLatency } = JSON.parse(httpRequestLine()) as Record<string, unknown>;
    const report = audit([
      JSON.stringify(withoutLatency),
      httpRequestLine({ ip: null }),
      JSON.stringify({ event: 'bare' }),
    ]);
    expect(report.lines_missing_contract_fields).toBe(3);
    expect(report.contract_violations.map((violation) => violation.missing)).toEqual([
      ['latency_ms'],
      ['ip'],
      ['level', 'timestamp'],
    ]);
    expect(report.passed).toBe(false);
  });

  it('ignores values too short to search for, and counts them', () => {
    const report = audit([line({ event: 'x', value: 'abc' })], [{ kind: 'password', value: 'abc' }]);
    expect(report).toMatchObject({ secrets_found: 0, secrets_too_short_to_track: 1, passed: true });
  });

  it('numbers lines across pieces of one file', () => {
    const logAudit = createLogAudit(tracked);
    const next = logAudit.auditText('big.ndjson', `${line({})}\n${line({})}\n`);
    logAudit.auditText('big.ndjson', `${line({ event: 'leak', password })}\n`, 1 + next);
    expect(logAudit.report()).toMatchObject({ files: 1, lines_audited: 3 });
    expect(logAudit.report().findings[0]).toMatchObject({ source: 'big.ndjson', line: 3, event: 'leak' });
  });
});
