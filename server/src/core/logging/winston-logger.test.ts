import { Writable } from 'node:stream';
import { inspect } from 'node:util';
import { beforeEach, describe, expect, it } from 'vitest';
import winston from 'winston';
import { LogCapture } from '../../../test/log-capture.ts';
import { createLogger, type Logger } from './logger.ts';
import { runInProcedure, runWithRequestContext, type RequestContext } from './request-context.ts';

const base64url = (text: string) => Buffer.from(text).toString('base64url');
const JWT = `${base64url('{"alg":"HS256","typ":"JWT"}')}.${base64url('{"sub":"usr_1","typ":"access"}')}.c2lnbmF0dXJlLWJ5dGVz`;
const PASSWORD = 'winston-transport-password-1';

const context = (): RequestContext => ({
  request_id: 'req_winston_1',
  method: 'POST',
  path: '/api/v1/orders/create',
  ip: '203.0.113.9',
  user_id: 'usr_1',
  role: 'customer',
});

/** A destination for a stock transport: everything written to it, as text. */
class TextRecorder extends Writable {
  text = '';

  override _write(chunk: Buffer | string, _encoding: BufferEncoding, callback: () => void): void {
    this.text += chunk.toString();
    callback();
  }
}

/** A transport that keeps the info objects winston hands it, as a log shipper would read them. */
class InfoRecorder extends winston.transports.Stream {
  infos: Record<string | symbol, unknown>[] = [];

  constructor() {
    super({ stream: new TextRecorder() });
  }

  override log(info: Record<string | symbol, unknown>, done: () => void): void {
    this.infos.push(info);
    done();
  }
}

/** The lines a request writes: a debug line, its procedure's lines, secrets in the fields, a warning. */
function writeRequestLines(logger: Logger): void {
  runWithRequestContext(context(), () => {
    logger.debug('db_query', { sql: 'select 1', params: [], duration_ms: 0.07 });
    runInProcedure('v1.orders.create', () => {
      logger.info('auth_success', { user_id: 'usr_1', role: 'customer', auth_method: 'access_token' });
      logger.info('login', {
        body: { email: 'ada@example.com', password: PASSWORD },
        headers: { authorization: `Bearer ${JWT}` },
      });
      logger.warn('db_transaction', { name: 'create_order', outcome: 'rollback', duration_ms: 1.5 });
      logger.info('procedure_call', { procedure: 'v1.orders.create', type: 'mutation', ok: false, code: 'CONFLICT' });
    });
  });
  logger.info('http_request', { status: 409, latency_ms: 2.25 }, { context: context() });
}

const lineLevel = (text: string) => (JSON.parse(text) as { level: string }).level;

let capture: LogCapture;
let logger: Logger;

beforeEach(() => {
  capture = new LogCapture();
  logger = createLogger({ level: 'debug', destination: capture });
});

describe('a stock winston transport beside stdout', () => {
  it('receives every line, added in code, byte for byte as stdout has it, redacted', async () => {
    const recorder = new TextRecorder();
    logger.winston.add(new winston.transports.Stream({ stream: recorder }));
    writeRequestLines(logger);
    await logger.flush();

    expect(capture.lines.map((line) => line.event)).toEqual([
      'db_query',
      'auth_success',
      'login',
      'db_transaction',
      'procedure_call',
      'http_request',
    ]);
    expect(recorder.text).toBe(capture.text);
    expect(recorder.text).not.toContain(PASSWORD);
    expect(recorder.text).not.toContain(JWT);
  });

  it('receives every line when given at creation', async () => {
    const recorder = new TextRecorder();
    const withStream = createLogger({
      level: 'debug',
      destination: capture,
      transports: [new winston.transports.Stream({ stream: recorder })],
    });
    writeRequestLines(withStream);
    await withStream.flush();
    expect(capture.lines).toHaveLength(6);
    expect(recorder.text).toBe(capture.text);
  });

  it('keeps to a level of its own, on the contract levels', async () => {
    const recorder = new TextRecorder();
    logger.winston.add(new winston.transports.Stream({ stream: recorder, level: 'warn' }));
    writeRequestLines(logger);
    logger.error('payment_failed');
    logger.fatal('uncaught_exception');
    await logger.flush();

    const received = recorder.text.split('\n').filter(Boolean);
    expect(received.map(lineLevel)).toEqual(['WARN', 'ERROR', 'FATAL']);
    expect(received).toEqual(
      capture.text.split('\n').filter((line) => ['WARN', 'ERROR', 'FATAL'].includes(line && lineLevel(line))),
    );
  });

  it('is handed an info object with no field of the line but its level and event', async () => {
    const shipper = new InfoRecorder();
    logger.winston.add(shipper);
    writeRequestLines(logger);
    await logger.flush();

    expect(shipper.infos).toHaveLength(6);
    const login = shipper.infos[2] ?? {};
    expect(Object.keys(login)).toEqual(['level', 'message']);
    expect(login).toMatchObject({ level: 'info', message: 'login' });
    expect(login[Symbol.for('level')]).toBe('info');
    expect(login[Symbol.for('message')]).toBe(capture.text.split('\n')[2]);
    expect(inspect(shipper.infos, { depth: null })).not.toContain(PASSWORD);
  });
});

describe("winston's Logger carries the lines", () => {
  it('has the contract levels, and its level decides which lines are written', async () => {
    expect(logger.winston.levels).toEqual({ fatal: 0, error: 1, warn: 2, info: 3, debug: 4 });
    logger.winston.level = 'warn';
    expect(logger.isLevelEnabled('info')).toBe(false);
    logger.info('dropped');
    logger.warn('kept');
    await logger.flush();
    expect(capture.lines.map((line) => [line.level, line.event])).toEqual([['WARN', 'kept']]);
  });

  it("writes the contract's line for winston's own methods, a child logger's included, with the request context", async () => {
    const shipper = new InfoRecorder();
    logger.winston.add(shipper);
    runWithRequestContext(context(), () => {
      logger.winston.info('order_created', { order_id: 'ord_1', password: PASSWORD });
      logger.winston.child({ component: 'sweeper' }).warn('sweep_slow', { duration_ms: 12.5 });
      logger.winston.debug('cache_miss');
    });
    await logger.flush();

    expect(capture.lines).toEqual([
      expect.objectContaining({
        level: 'INFO',
        event: 'order_created',
        request_id: 'req_winston_1',
        order_id: 'ord_1',
        password: '[REDACTED]',
      }),
      expect.objectContaining({
        level: 'WARN',
        event: 'sweep_slow',
        request_id: 'req_winston_1',
        component: 'sweeper',
        duration_ms: 12.5,
      }),
      expect.objectContaining({ level: 'DEBUG', event: 'cache_miss', user_id: 'usr_1' }),
    ]);
    expect(Object.keys(capture.lines[0] ?? {}).slice(0, 3)).toEqual(['level', 'timestamp', 'event']);
    expect(capture.text).not.toContain(PASSWORD);
    expect(shipper.infos.map((info) => info[Symbol.for('message')])).toEqual(capture.text.split('\n').filter(Boolean));
    expect(inspect(shipper.infos, { depth: null })).not.toContain(PASSWORD);
  });
});
