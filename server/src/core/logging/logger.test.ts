import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LogCapture } from '../../../test/log-capture.ts';
import { createLogger, type LogLevel, type Logger } from './logger.ts';
import {
  currentScope,
  runInProcedure,
  runWithRequestContext,
  type RequestContext,
  type Scope,
} from './request-context.ts';

const base64url = (text: string) => Buffer.from(text).toString('base64url');
const JWT = `${base64url('{"alg":"HS256","typ":"JWT"}')}.${base64url('{"sub":"usr_1","typ":"access"}')}.c2lnbmF0dXJlLWJ5dGVz`;
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

function requestContext(overrides: Partial<RequestContext> = {}): RequestContext {
  return {
    request_id: 'req_test_1',
    method: 'POST',
    path: '/api/v1/orders',
    ip: '203.0.113.9',
    user_id: 'usr_1',
    role: 'customer',
    ...overrides,
  };
}

function nested(levels: number): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  let current = root;
  for (let level = 0; level < levels; level++) {
    const child: Record<string, unknown> = {};
    current.child = child;
    current = child;
  }
  return root;
}

let capture: LogCapture;
let logger: Logger;

beforeEach(() => {
  capture = new LogCapture();
  logger = createLogger({ level: 'debug', destination: capture });
});

describe('log lines', () => {
  it('writes one JSON object per line', async () => {
    logger.info('first', { note: 'has\na newline' });
    logger.warn('second');
    logger.error('third', { count: 3 });
    await logger.flush();

    expect(capture.text.endsWith('\n')).toBe(true);
    const rawLines = capture.text.split('\n').filter(Boolean);
    expect(rawLines).toHaveLength(3);
    for (const raw of rawLines) {
      const parsed: unknown = JSON.parse(raw);
      expect(typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)).toBe(true);
    }
    expect(capture.lines.map((line) => line.event)).toEqual(['first', 'second', 'third']);
    expect(capture.lines[0]?.note).toBe('has\na newline');
  });

  it('starts every line with level, timestamp and event', async () => {
    logger.info('order_created', { order_id: 'ord_1' });
    await logger.flush();
    const [line] = capture.lines;
    expect(Object.keys(line ?? {}).slice(0, 3)).toEqual(['level', 'timestamp', 'event']);
    expect(line).toMatchObject({ level: 'INFO', event: 'order_created', order_id: 'ord_1' });
  });

  it('writes the level in upper case', async () => {
    logger.debug('d');
    logger.info('i');
    logger.warn('w');
    logger.error('e');
    logger.fatal('f');
    await logger.flush();
    expect(capture.lines.map((line) => line.level)).toEqual(['DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL']);
  });

  it('stamps each line with the current time as ISO 8601 UTC', async () => {
    const before = Date.now();
    logger.info('tick');
    await logger.flush();
    const after = Date.now();
    const timestamp = capture.lines[0]?.timestamp ?? '';
    expect(timestamp).toMatch(ISO_UTC);
    expect(Date.parse(timestamp)).toBeGreaterThanOrEqual(before);
    expect(Date.parse(timestamp)).toBeLessThanOrEqual(after);
  });

  it('keeps the event name exactly as given, whatever the fields are called', async () => {
    logger.warn('payment_declined', { message: 'card declined by issuer', stack: 'not a stack', cause: 'issuer' });
    await logger.flush();
    expect(capture.lines[0]).toMatchObject({
      event: 'payment_declined',
      message: 'card declined by issuer',
      stack: 'not a stack',
      cause: 'issuer',
    });
  });

  it('writes an Error field as name, message, stack and cause', async () => {
    logger.error('unhandled_exception', { error: new Error('boom', { cause: new RangeError('too far') }) });
    await logger.flush();
    const error = capture.lines[0]?.error;
    expect(error).toMatchObject({
      name: 'Error',
      message: 'boom',
      stack: expect.stringContaining('boom') as unknown,
      cause: { name: 'RangeError', message: 'too far' },
    });
  });

  it('writes a BigInt as a string', async () => {
    logger.info('big', { amount: 123_456_789_012_345_678_901_234_567_890n });
    await logger.flush();
    expect(capture.lines[0]?.amount).toBe('123456789012345678901234567890');
  });
});

describe('request context', () => {
  it('adds the request fields to lines written inside runWithRequestContext', async () => {
    runWithRequestContext(requestContext(), () => {
      logger.info('inside');
    });
    await logger.flush();
    expect(capture.lines[0]).toMatchObject({
      event: 'inside',
      request_id: 'req_test_1',
      method: 'POST',
      path: '/api/v1/orders',
      ip: '203.0.113.9',
      user_id: 'usr_1',
      role: 'customer',
    });
  });

  it('follows the request through awaits, timers and promise chains', async () => {
    await runWithRequestContext(requestContext({ request_id: 'req_async' }), async () => {
      await sleep(2);
      logger.info('after_await');
      await new Promise<void>((resolve) => {
        setTimeout(() => {
          logger.info('in_timer');
          resolve();
        }, 2);
      });
      await Promise.resolve().then(() => logger.info('in_then'));
      await new Promise<void>((resolve) => {
        setImmediate(() => {
          logger.info('in_immediate');
          resolve();
        });
      });
    });
    await logger.flush();
    expect(capture.lines.map((line) => [line.event, line.request_id])).toEqual([
      ['after_await', 'req_async'],
      ['in_timer', 'req_async'],
      ['in_then', 'req_async'],
      ['in_immediate', 'req_async'],
    ]);
  });

  it('keeps concurrent requests apart', async () => {
    const handle = (requestId: string, delays: number[]) =>
      runWithRequestContext(requestContext({ request_id: requestId }), async () => {
        for (const [step, delay] of delays.entries()) {
          await sleep(delay);
          logger.info('step', { step, expected: requestId });
        }
      });
    await Promise.all([handle('req_a', [5, 1, 7]), handle('req_b', [1, 6, 1]), handle('req_c', [3, 3, 3])]);
    await logger.flush();
    expect(capture.lines).toHaveLength(9);
    for (const line of capture.lines) expect(line.request_id).toBe(line.expected);
  });

  it('shows what the request learned later, such as the user after sign-in', async () => {
    const context = requestContext({ user_id: null, role: null });
    await runWithRequestContext(context, async () => {
      logger.info('before_auth');
      context.user_id = 'usr_9';
      context.role = 'admin';
      await sleep(1);
      logger.info('after_auth');
    });
    await logger.flush();
    expect(capture.events('before_auth')[0]).toMatchObject({ user_id: null, role: null });
    expect(capture.events('after_auth')[0]).toMatchObject({ user_id: 'usr_9', role: 'admin' });
  });

  it('names the procedure of each concurrent call, the first in the request scope itself', async () => {
    const scopes: (Readonly<Scope> | undefined)[] = [];
    await runWithRequestContext(requestContext(), async () => {
      const requestScope = currentScope();
      const call = (procedure: string, delays: number[]) =>
        runInProcedure(procedure, async () => {
          scopes.push(currentScope());
          for (const delay of delays) {
            await sleep(delay);
            logger.info('step', { expected: procedure });
          }
        });
      await Promise.all([call('v1.a', [4, 1]), call('v1.b', [1, 4]), call('v1.c', [2, 2])]);
      // A single call, the usual request, runs in the request's scope: no second scope per call.
      expect(scopes[0]).toBe(requestScope);
      expect(new Set(scopes).size).toBe(3);
    });
    await logger.flush();
    expect(capture.events('step')).toHaveLength(6);
    for (const line of capture.events('step')) {
      expect(line).toMatchObject({ procedure: line.expected, request_id: 'req_test_1' });
    }
  });

  it('writes a line in a scope it is given, outside any (the access line on close)', async () => {
    const context = requestContext();
    logger.info('response_closed', { status: 200 }, { context });
    await logger.flush();
    expect(capture.events('response_closed')[0]).toMatchObject({
      request_id: 'req_test_1',
      user_id: 'usr_1',
      status: 200,
    });
    expect(capture.events('response_closed')[0]).not.toHaveProperty('procedure');
  });

  it('adds no request fields outside a request, even after one ran', async () => {
    logger.info('before');
    await runWithRequestContext(requestContext(), async () => {
      await sleep(1);
      logger.info('during');
    });
    logger.info('after');
    await logger.flush();
    for (const event of ['before', 'after']) {
      const line = capture.events(event)[0] ?? {};
      for (const field of ['request_id', 'method', 'path', 'ip', 'user_id', 'role']) {
        expect(line).not.toHaveProperty(field);
      }
    }
    expect(capture.events('during')[0]).toHaveProperty('request_id', 'req_test_1');
  });

  it('writes the request context once, in a fixed order, then the fields', async () => {
    runWithRequestContext(requestContext(), () => {
      logger.info('procedure_call', { procedure: 'v1.products.get', ok: true, code: null, note: undefined });
      // A field named like a context key is merged in place: still one key each.
      logger.info('auth_success', { user_id: 'usr_2', role: 'admin', auth_method: 'access_token' });
    });
    await logger.flush();
    const [plain, merged] = capture.text.split('\n');
    const keysOf = (raw: string | undefined) => [...(raw ?? '').matchAll(/"([a-z_]+)":/g)].map((match) => match[1]);
    const context = ['request_id', 'method', 'path', 'ip', 'user_id', 'role'];
    expect(keysOf(plain)).toEqual(['level', 'timestamp', 'event', ...context, 'procedure', 'ok', 'code']);
    expect(keysOf(merged)).toEqual(['level', 'timestamp', 'event', ...context, 'auth_method']);
    expect(capture.lines[1]).toMatchObject({ user_id: 'usr_2', role: 'admin' });
  });

  it('writes a field once when it repeats what the context writes', async () => {
    runWithRequestContext(requestContext(), () =>
      runInProcedure('v1.products.get', () => {
        logger.info('procedure_call', { procedure: 'v1.products.get', ok: true });
        logger.info('auth_success', { user_id: 'usr_1', role: 'customer', auth_method: 'access_token' });
      }),
    );
    await logger.flush();
    const keysOf = (raw: string | undefined) => [...(raw ?? '').matchAll(/"([a-z_]+)":/g)].map((match) => match[1]);
    const context = ['request_id', 'method', 'path', 'ip', 'user_id', 'role', 'procedure'];
    const [call, auth] = capture.text.split('\n');
    expect(keysOf(call)).toEqual(['level', 'timestamp', 'event', ...context, 'ok']);
    expect(keysOf(auth)).toEqual(['level', 'timestamp', 'event', ...context, 'auth_method']);
    expect(capture.lines[1]).toMatchObject({ user_id: 'usr_1', role: 'customer', procedure: 'v1.products.get' });
  });

  it('lets explicit fields win over the request context', async () => {
    runWithRequestContext(requestContext(), () => {
      logger.info('http_request', { user_id: 'usr_explicit', path: '/api/v1/other', status: 200, latency_ms: 1.5 });
    });
    await logger.flush();
    expect(capture.lines[0]).toMatchObject({
      request_id: 'req_test_1',
      user_id: 'usr_explicit',
      path: '/api/v1/other',
      status: 200,
    });
  });
});

describe('secrets never reach the output', () => {
  it('redacts secrets passed in fields at any depth and inside text', async () => {
    const secrets = {
      password: 'plain-password-123',
      passwordHash: '$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo',
      refreshToken: 'opaque-refresh-token-value',
      authorization: 'Bearer bearer-credential-value',
      cookie: 'session=cookie-value-xyz',
      api_key: 'sk_live_api_key_value',
      card: '4242424242424242',
    };
    runWithRequestContext(requestContext(), () => {
      logger.info('login', {
        body: { email: 'ada@example.com', password: secrets.password },
        user: { passwordHash: secrets.passwordHash },
        tokens: [{ accessToken: JWT, refreshToken: secrets.refreshToken, tokenType: 'Bearer' }],
        headers: { authorization: secrets.authorization, cookie: secrets.cookie, 'x-request-id': 'req_test_1' },
        config: { api_key: secrets.api_key },
        payment: { card: secrets.card },
        note: `forwarded ${JWT} and Bearer free-text-credential`,
        list: ['ok', JWT],
      });
    });
    await logger.flush();

    for (const secret of [...Object.values(secrets), JWT, 'free-text-credential', 'bearer-credential-value']) {
      expect(capture.text).not.toContain(secret);
    }
    expect(capture.text).toContain('[REDACTED]');
    expect(capture.lines[0]).toMatchObject({
      body: { email: 'ada@example.com', password: '[REDACTED]' },
      tokens: [{ tokenType: 'Bearer' }],
      headers: { 'x-request-id': 'req_test_1' },
    });
  });

  it('redacts a secret in an error message', async () => {
    logger.error('unhandled_exception', { error: new Error(`jwt malformed: ${JWT}`) });
    await logger.flush();
    expect(capture.text).not.toContain(JWT);
  });
});

describe('logging never throws', () => {
  it('logs a circular value', async () => {
    const order: Record<string, unknown> = { id: 'ord_1' };
    order.self = order;
    expect(() => logger.info('circular', { order })).not.toThrow();
    await logger.flush();
    expect(capture.lines[0]).toMatchObject({ event: 'circular', order: { id: 'ord_1', self: '[Circular]' } });
  });

  it('logs a 10,000-level deep value, capped', async () => {
    expect(() => logger.info('deep', { value: nested(10_000) })).not.toThrow();
    await logger.flush();
    expect(capture.lines).toHaveLength(1);
    expect(capture.text).toContain('[Truncated: too deep]');
    expect(capture.text.length).toBeLessThan(2_000);
  });

  it('logs a huge string, truncated', async () => {
    logger.info('huge', { body: 'y'.repeat(2_000_000) });
    await logger.flush();
    expect(capture.text.length).toBeLessThan(10_000);
    expect(capture.text).toContain('truncated');
  });

  it('logs fields with a getter that throws', async () => {
    const fields = {
      order_id: 'ord_1',
      get total(): number {
        throw new Error('lazy total failed');
      },
    };
    expect(() => logger.info('getter', fields)).not.toThrow();
    await logger.flush();
    expect(capture.lines[0]).toMatchObject({ event: 'getter', order_id: 'ord_1' });
  });
});

describe('level filtering', () => {
  const writeAll = (target: Logger) => {
    target.debug('d');
    target.info('i');
    target.warn('w');
    target.error('e');
    target.fatal('f');
  };

  const cases: { level: LogLevel; kept: string[] }[] = [
    { level: 'debug', kept: ['d', 'i', 'w', 'e', 'f'] },
    { level: 'info', kept: ['i', 'w', 'e', 'f'] },
    { level: 'warn', kept: ['w', 'e', 'f'] },
    { level: 'error', kept: ['e', 'f'] },
    { level: 'fatal', kept: ['f'] },
  ];

  it.each(cases)('at $level keeps $kept', async ({ level, kept }) => {
    const filtered = createLogger({ level, destination: capture });
    writeAll(filtered);
    await filtered.flush();
    expect(capture.lines.map((line) => line.event)).toEqual(kept);
  });

  it('answers isLevelEnabled the same way', () => {
    const atInfo = createLogger({ level: 'info', destination: capture });
    expect(atInfo.isLevelEnabled('debug')).toBe(false);
    expect(atInfo.isLevelEnabled('info')).toBe(true);
    expect(atInfo.isLevelEnabled('fatal')).toBe(true);
  });
});

describe('LOG_FILE', () => {
  let folder: string;

  beforeEach(async () => {
    folder = await mkdtemp(join(tmpdir(), 'orders-log-'));
  });
  afterEach(async () => {
    await rm(folder, { recursive: true, force: true });
  });

  it('has every line in the file once flush() resolves, in a folder it creates', async () => {
    const file = join(folder, 'nested', 'logs', 'orders.log');
    const fileLogger = createLogger({ level: 'info', file, destination: capture });
    for (let index = 0; index < 2_000; index++) fileLogger.info('line', { index, padding: 'z'.repeat(100) });
    fileLogger.debug('dropped');
    await fileLogger.flush();

    const written = await readFile(file, 'utf8');
    const lines = written.split('\n').filter(Boolean);
    expect(lines).toHaveLength(2_000);
    expect(lines.map((line) => (JSON.parse(line) as { index: number }).index)).toEqual(
      Array.from({ length: 2_000 }, (_, index) => index),
    );
    expect(written).toBe(capture.text);
  });

  it('appends to an existing file', async () => {
    const file = join(folder, 'orders.log');
    await writeFile(file, '{"event":"earlier"}\n');
    const fileLogger = createLogger({ level: 'info', file, destination: capture });
    fileLogger.info('later');
    await fileLogger.flush();
    const lines = (await readFile(file, 'utf8')).split('\n').filter(Boolean);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toBe('{"event":"earlier"}');
    expect(lines[1]).toContain('"event":"later"');
  });

  it('keeps secrets out of the file too', async () => {
    const file = join(folder, 'orders.log');
    const fileLogger = createLogger({ level: 'info', file, destination: capture });
    fileLogger.info('login', { password: 'file-password-secret', token: JWT });
    await fileLogger.flush();
    const written = await readFile(file, 'utf8');
    expect(written).not.toContain('file-password-secret');
    expect(written).not.toContain(JWT);
  });
});
