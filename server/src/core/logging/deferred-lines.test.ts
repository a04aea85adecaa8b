import { Writable } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLogger } from './logger.ts';
import { runWithRequestContext, setRequestUser, type RequestContext } from './request-context.ts';

/** A destination that records each write it receives, as one chunk. */
class ChunkRecorder extends Writable {
  chunks: string[] = [];

  override _write(chunk: Buffer | string, _encoding: BufferEncoding, callback: () => void): void {
    this.chunks.push(chunk.toString());
    callback();
  }

  lines(): Record<string, unknown>[] {
    return this.chunks
      .join('')
      .trimEnd()
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  }
}

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

const anonymousContext = (): RequestContext => ({
  request_id: 'req_held_1',
  method: 'POST',
  path: '/api/v1/orders/create',
  ip: '203.0.113.9',
  user_id: null,
  role: null,
});

afterEach(() => {
  vi.useRealTimers();
});

describe('info lines finished at the end of their turn', () => {
  it('keeps the order of held lines and of a warning or error written between them', async () => {
    const destination = new ChunkRecorder();
    const logger = createLogger({ level: 'debug', destination, buffered: true });
    logger.info('first');
    logger.debug('second');
    logger.error('third');
    logger.info('fourth');
    logger.winston.log('warn', 'fifth', { n: 5 });
    logger.info('sixth');
    await nextTurn();
    expect(destination.lines().map((line) => line.event)).toEqual([
      'first',
      'second',
      'third',
      'fourth',
      'fifth',
      'sixth',
    ]);
  });

  it('writes a line with the time and the user of when it was written, not of when it is finished', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const destination = new ChunkRecorder();
    const logger = createLogger({ level: 'info', destination, buffered: true });
    const context = anonymousContext();
    runWithRequestContext(context, () => {
      vi.setSystemTime(Date.UTC(2026, 11, 4, 12, 0, 0, 1));
      logger.info('before_login', { step: 1 });
      vi.setSystemTime(Date.UTC(2026, 11, 4, 12, 0, 0, 7));
      setRequestUser({ id: 'usr_held', role: 'customer' });
      logger.info('after_login', { step: 2 });
    });
    await nextTurn();
    const [before, after] = destination.lines();
    expect(before).toMatchObject({
      event: 'before_login',
      timestamp: '2026-12-04T12:00:00.001Z',
      user_id: null,
      role: null,
    });
    expect(after).toMatchObject({
      event: 'after_login',
      timestamp: '2026-12-04T12:00:00.007Z',
      user_id: 'usr_held',
      role: 'customer',
    });
    expect(before?.request_id).toBe('req_held_1');
  });

  it('finishes held lines on flush(), before the process may exit', async () => {
    const destination = new ChunkRecorder();
    const logger = createLogger({ level: 'info', destination, buffered: true });
    logger.info('held_until_flush', { n: 1 });
    expect(destination.chunks).toEqual([]);
    await logger.flush();
    expect(destination.lines().map((line) => line.event)).toEqual(['held_until_flush']);
  });

  it('writes the held lines of a turn in the same turn, with one write', async () => {
    const destination = new ChunkRecorder();
    const logger = createLogger({ level: 'info', destination, buffered: true });
    for (let index = 0; index < 10; index++) logger.info('in_one_turn', { index });
    await nextTurn();
    expect(destination.chunks).toHaveLength(1);
    expect(destination.lines().map((line) => line.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('still redacts a held line when it is finished', async () => {
    const destination = new ChunkRecorder();
    const logger = createLogger({ level: 'info', destination, buffered: true });
    logger.info('login_attempt', { email: 'a@example.com', password: 'hunter2-secret' });
    await nextTurn();
    expect(destination.chunks.join('')).not.toContain('hunter2-secret');
    expect(destination.lines()[0]).toMatchObject({ password: '[REDACTED]' });
  });
});
