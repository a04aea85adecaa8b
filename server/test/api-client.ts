import { randomBytes } from 'node:crypto';
import type { AuthSession, ErrorEnvelope } from '@orders/shared';
import { sql } from 'kysely';
import { expect } from 'vitest';
import { digestToken } from '../src/core/security.ts';
import { trpcUrl, waitForLines, type TrpcErrorBody } from './http-client.ts';
import { SECRET_SHAPES } from './log-audit/audit.ts';
import { recordSecret } from './log-audit/records.ts';
import type { LogCapture, LogLine } from './log-capture.ts';
import type { TestApp } from './test-app.ts';

export type Protocol = 'rest' | 'trpc';
export const PROTOCOLS = ['rest', 'trpc'] as const satisfies readonly Protocol[];
export type ApiVersion = 'v1' | 'v2';

interface Route {
  type: 'query' | 'mutation';
  method: 'GET' | 'POST' | 'PATCH';
  /** The REST path under `/api/<version>`; `{name}` takes the input key of that name. */
  path: string;
}

/** The procedures these tests call, with their REST route (as in the API contract table). */
export const ROUTES = {
  'auth.register': { type: 'mutation', method: 'POST', path: '/auth/register' },
  'auth.login': { type: 'mutation', method: 'POST', path: '/auth/login' },
  'auth.refresh': { type: 'mutation', method: 'POST', path: '/auth/refresh' },
  'auth.logout': { type: 'mutation', method: 'POST', path: '/auth/logout' },
  'auth.changePassword': { type: 'mutation', method: 'POST', path: '/auth/change-password' },
  'auth.me': { type: 'query', method: 'GET', path: '/auth/me' },
  'auth.verifyEmail': { type: 'mutation', method: 'POST', path: '/auth/verify-email' },
  'auth.resendVerification': { type: 'mutation', method: 'POST', path: '/auth/resend-verification' },
  'auth.requestPasswordReset': { type: 'mutation', method: 'POST', path: '/auth/request-password-reset' },
  'auth.resetPassword': { type: 'mutation', method: 'POST', path: '/auth/reset-password' },
  'auth.changeEmail': { type: 'mutation', method: 'POST', path: '/auth/change-email' },
  'users.list': { type: 'query', method: 'GET', path: '/users' },
  'users.get': { type: 'query', method: 'GET', path: '/users/{userId}' },
  'users.update': { type: 'mutation', method: 'PATCH', path: '/users/{userId}' },
  'products.list': { type: 'query', method: 'GET', path: '/products' },
  'products.get': { type: 'query', method: 'GET', path: '/products/{productId}' },
  'products.create': { type: 'mutation', method: 'POST', path: '/products' },
  'products.update': { type: 'mutation', method: 'PATCH', path: '/products/{productId}' },
  'orders.create': { type: 'mutation', method: 'POST', path: '/orders/create' },
  'orders.pay': { type: 'mutation', method: 'POST', path: '/orders/{orderId}/pay' },
  'orders.cancel': { type: 'mutation', method: 'POST', path: '/orders/{orderId}/cancel' },
  'orders.get': { type: 'query', method: 'GET', path: '/orders/{orderId}' },
  'orders.payments': { type: 'query', method: 'GET', path: '/orders/{orderId}/payments' },
  'orders.list': { type: 'query', method: 'GET', path: '/orders' },
  'system.ping': { type: 'query', method: 'GET', path: '/system/ping' },
} as const satisfies Record<string, Route>;

export type ProcedureName = keyof typeof ROUTES;

export interface CallOptions {
  protocol: Protocol;
  version?: ApiVersion;
  input?: Record<string, unknown>;
  /** Sent as `Authorization: Bearer <token>`. */
  token?: string;
  headers?: Record<string, string>;
}

/** One answer, whichever protocol gave it. */
export interface ApiResponse<Data = unknown> {
  protocol: Protocol;
  status: number;
  headers: Headers;
  requestId: string | null;
  /** The parsed JSON body, as sent. */
  body: unknown;
  /** The result on success: the REST body, or tRPC's `result.data`. */
  data: Data;
  /** The API's error envelope on failure: the REST body, or tRPC's `error.data` without httpStatus and path. */
  error: ErrorEnvelope | undefined;
}

function restRequest(
  baseUrl: string,
  { route, version, input }: { route: Route; version: ApiVersion; input: Record<string, unknown> },
): { url: string; body: string | undefined } {
  const rest = { ...input };
  const path = route.path.replace(/\{(\w+)\}/g, (_match, name: string) => {
    const value = rest[name];
    delete rest[name];
    return encodeURIComponent(String(value));
  });
  const url = new URL(`${baseUrl}/api/${version}${path}`);
  if (route.method === 'GET') {
    for (const [key, value] of Object.entries(rest)) url.searchParams.set(key, String(value));
    return { url: url.toString(), body: undefined };
  }
  return { url: url.toString(), body: JSON.stringify(rest) };
}

/**
 * Calls one procedure over REST (`/api/<version>/...`) or tRPC (`/trpc/<version>.<name>`):
 * a query is a GET with `?input=`, a mutation a POST with the input as its JSON body.
 */
export async function callApi<Data = unknown>(
  baseUrl: string,
  procedure: ProcedureName,
  { protocol, version = 'v1', input, token, headers = {} }: CallOptions,
): Promise<ApiResponse<Data>> {
  const route: Route = ROUTES[procedure];
  const requestHeaders: Record<string, string> = { ...headers };
  if (token !== undefined) requestHeaders.authorization = `Bearer ${token}`;
  let url: string;
  let init: RequestInit;
  if (protocol === 'rest') {
    const request = restRequest(baseUrl, { route, version, input: input ?? {} });
    url = request.url;
    if (request.body !== undefined) requestHeaders['content-type'] = 'application/json';
    init = { method: route.method, headers: requestHeaders, body: request.body };
  } else if (route.type === 'query') {
    url = trpcUrl(baseUrl, `${version}.${procedure}`, input);
    init = { method: 'GET', headers: requestHeaders };
  } else {
    url = trpcUrl(baseUrl, `${version}.${procedure}`);
    requestHeaders['content-type'] = 'application/json';
    init = { method: 'POST', headers: requestHeaders, body: JSON.stringify(input ?? {}) };
  }
  const res = await fetch(url, init);
  const text = await res.text();
  const body: unknown = text === '' ? undefined : JSON.parse(text);
  const ok = res.status < 400;
  let data: unknown;
  let error: ErrorEnvelope | undefined;
  if (protocol === 'rest') {
    if (ok) data = body;
    else error = body as ErrorEnvelope;
  } else if (ok) {
    data = (body as { result: { data: unknown } }).result.data;
  } else {
    const { httpStatus: _httpStatus, path: _path, ...envelope } = (body as TrpcErrorBody).error.data;
    error = envelope;
  }
  return {
    protocol,
    status: res.status,
    headers: res.headers,
    requestId: res.headers.get('x-request-id'),
    body,
    data: data as Data,
    error,
  };
}

/** Asserts a refusal: status, the envelope's code (and reason), and its request id, on either protocol. */
export function expectError(
  res: ApiResponse,
  { status, code, reason }: { status: number; code: string; reason?: string | undefined },
): ErrorEnvelope {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(res.error).toBeDefined();
  const envelope = res.error as ErrorEnvelope;
  expect(envelope.code).toBe(code);
  expect(envelope.request_id).toBe(res.requestId);
  expect(envelope.message).toEqual(expect.any(String));
  if (reason === undefined) {
    expect(envelope).not.toHaveProperty('reason');
  } else {
    expect(envelope.reason).toBe(reason);
  }
  if (res.protocol === 'trpc') {
    expect((res.body as TrpcErrorBody).error.data.httpStatus).toBe(status);
  }
  return envelope;
}

/** The `auth_failure` line(s) a request wrote. */
export async function authFailures(logs: LogCapture, requestId: string | null): Promise<LogLine[]> {
  return waitForLines(logs, { event: 'auth_failure', filter: { request_id: requestId } });
}

/** Asserts the one `auth_failure` line of a request and its exact reason. */
export async function expectAuthFailureLogged(logs: LogCapture, res: ApiResponse, reason: string): Promise<LogLine> {
  const lines = await authFailures(logs, res.requestId);
  expect(lines.map((line) => line.reason)).toEqual([reason]);
  const line = lines[0] as LogLine;
  expect(line.level).toBe('WARN');
  return line;
}

/**
 * Every secret a test file handled, to prove at its end that none of them reached a log.
 * Each also goes to the suite-wide log audit (a JWT as a bearer token, anything else as a password).
 */
export class SecretLedger {
  private readonly secrets = new Set<string>();

  add(...values: (string | undefined)[]): void {
    for (const value of values) {
      if (value === undefined || value === '') continue;
      this.secrets.add(value);
      recordSecret(SECRET_SHAPES.jwt.test(value) ? 'bearer_token' : 'password', value);
    }
  }

  /** A session's tokens, and the digest the refresh token is stored as. */
  addSession(session: Pick<AuthSession, 'accessToken' | 'refreshToken'>): void {
    const digest = digestToken(session.refreshToken);
    for (const value of [session.accessToken, session.refreshToken, digest]) this.secrets.add(value);
    recordSecret('access_token', session.accessToken);
    recordSecret('refresh_token', session.refreshToken);
    recordSecret('refresh_token_digest', digest);
  }

  /** A mailed link's one-time token, and the digest it is stored as. */
  addAccountToken(token: string): void {
    const digest = digestToken(token);
    this.secrets.add(token);
    this.secrets.add(digest);
    recordSecret('account_token', token);
    recordSecret('account_token_digest', digest);
  }

  get size(): number {
    return this.secrets.size;
  }

  /** Asserts that no secret, and no argon2id hash at all, appears in `text`. */
  expectNoneIn(text: string): void {
    expect(text.length).toBeGreaterThan(0);
    const leaked = [...this.secrets].filter((secret) => text.includes(secret));
    expect(leaked).toEqual([]);
    expect(text).not.toContain('$argon2id$');
  }
}

export function uniqueEmail(label: string): string {
  return `${label}-${randomBytes(5).toString('hex')}@example.com`;
}

export function newPassword(): string {
  return `correct-horse-${randomBytes(8).toString('hex')}`;
}

export interface TestUser {
  id: string;
  email: string;
  password: string;
  session: AuthSession;
  accessToken: string;
  refreshToken: string;
}

/**
 * Registers a user through the API (REST) and records their password and tokens in `secrets`.
 * `role: 'admin'` then promotes them in the database, as an operator would.
 */
export async function registerUser(
  app: TestApp,
  {
    secrets,
    label = 'user',
    role = 'customer',
    headers,
  }: { secrets: SecretLedger; label?: string; role?: 'customer' | 'admin'; headers?: Record<string, string> },
): Promise<TestUser> {
  const email = uniqueEmail(label);
  const password = newPassword();
  secrets.add(password);
  const res = await callApi<AuthSession>(app.url, 'auth.register', {
    protocol: 'rest',
    input: { email, password, name: `Test ${label}` },
    ...(headers ? { headers } : {}),
  });
  if (res.status !== 200) throw new Error(`register failed: ${res.status} ${JSON.stringify(res.body)}`);
  secrets.addSession(res.data);
  if (role === 'admin') await setRole(app, res.data.user.id, 'admin');
  return {
    id: res.data.user.id,
    email,
    password,
    session: res.data,
    accessToken: res.data.accessToken,
    refreshToken: res.data.refreshToken,
  };
}

export async function setRole(app: TestApp, userId: string, role: 'customer' | 'admin'): Promise<void> {
  await sql`update users set role = ${role} where id = ${userId}`.execute(app.database.db);
}

export { JWT_AUDIENCE, JWT_ISSUER, forgeToken, sessionIdOf, unsignedToken } from './forged-tokens.ts';

/** A body with its request ids taken out, to compare two answers that must not differ otherwise. */
export function withoutRequestId(body: unknown): unknown {
  return JSON.parse(JSON.stringify(body), (key: string, value: unknown) =>
    key === 'request_id' ? undefined : value,
  ) as unknown;
}
