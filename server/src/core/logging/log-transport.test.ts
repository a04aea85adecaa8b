import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import winston from 'winston';
import { LineTransport } from './log-transport.ts';
import { createLogger } from './logger.ts';

/** A destination that records each write it receives, as one chunk. */
class ChunkRecorder extends Writable {
  chunks: string[] = [];

  override _write(chunk: Buffer | string, _encoding: BufferEncoding, callback: () => void): void {
    this.chunks.push(chunk.toString());
    callback();
  }
}

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

describe('buffered log lines', () => {
  it('writes the lines of one event-loop turn in one write, in order, at the end of the turn', async () => {
    const destination = new ChunkRecorder();
    const logger = createLogger({ level: 'info', destination, buffered: true });
    logger.info('first', { n: 1 });
    logger.info('second', { n: 2 });
    logger.warn('third', { n: 3 });
    expect(destination.chunks).toEqual([]);

    await nextTurn();
    expect(destination.chunks).toHaveLength(1);
    const events = (destination.chunks[0] ?? '')
      .trimEnd()
      .split('\n')
      .map((line) => (JSON.parse(line) as { event: string }).event);
    expect(events).toEqual(['first', 'second', 'third']);
  });

  it('hands pending lines over at once on flush(), as the process does before it exits', async () => {
    const destination = new ChunkRecorder();
    const logger = createLogger({ level: 'info', destination, buffered: true });
    logger.fatal('uncaught_exception', { error: new Error('boom') });
    await logger.flush();
    expect(destination.chunks.join('')).toContain('"event":"uncaught_exception"');
  });

  it('does not hold more than 64 KB: a burst is written while it is logged', () => {
    const destination = new ChunkRecorder();
    const logger = createLogger({ level: 'info', destination, buffered: true });
    for (let index = 0; index < 1_000; index++) logger.info('burst', { index, padding: 'x'.repeat(100) });
    expect(destination.chunks.length).toBeGreaterThan(0);
    expect(destination.chunks.every((chunk) => chunk.length < 64 * 1024 + 1_000)).toBe(true);
  });

  it('writes each line at once when not buffered (a destination read right after a response)', () => {
    const destination = new ChunkRecorder();
    const logger = createLogger({ level: 'info', destination });
    logger.info('one');
    logger.info('two');
    expect(destination.chunks).toHaveLength(2);
  });
});

describe('LineTransport as a winston transport', () => {
  it('writes the line a winston logger formatted', async () => {
    const destination = new ChunkRecorder();
    const transport = new LineTransport(destination, { buffered: false });
    const logger = winston.createLogger({ format: winston.format.json(), transports: [transport] });
    logger.info('order_created', { order_id: 'ord_1' });
    await new Promise((resolve) => setImmediate(resolve));
    await transport.flush();
    const lines = destination.chunks.join('').trimEnd().split('\n');
    expect(lines.map((line) => JSON.parse(line) as unknown)).toEqual([
      { level: 'info', message: 'order_created', order_id: 'ord_1' },
    ]);
  });
});

/** Runs a logger in a child process whose stdout is `stdout`, and returns what it printed there. */
function runLoggerWithStdout(stdout: 'pipe' | number): string {
  const module = (name: string) => JSON.stringify(pathToFileURL(join(import.meta.dirname, name)).href);
  const script = `
    import { createLogger } from ${module('logger.ts')};
    import { synchronousFileDescriptor } from ${module('log-transport.ts')};
    const logger = createLogger({ level: 'info' });
    process.stdout.write('descriptor ' + synchronousFileDescriptor(process.stdout) + '\\n');
    logger.info('first', { n: 1 });
    logger.info('second', { duration_ms: 0.07 });
    setImmediate(() => {
      process.stdout.write('between\\n');
      logger.info('third');
      void logger.flush().then(() => process.stdout.write('done\\n'));
    });
  `;
  const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '--eval', script], {
    stdio: ['ignore', stdout, 'pipe'],
    encoding: 'utf8',
  });
  expect(child.stderr).toBe('');
  return child.stdout ?? '';
}

const printed = (text: string) =>
  text
    .trimEnd()
    .split('\n')
    .map((line) => (line.startsWith('{') ? (JSON.parse(line) as { event: string }).event : line));

describe('stdout as a file', () => {
  it('writes the lines to the file itself, in order with what else the process writes there', () => {
    const folder = mkdtempSync(join(tmpdir(), 'log-stdout-'));
    const file = join(folder, 'stdout.log');
    const descriptor = openSync(file, 'w');
    try {
      runLoggerWithStdout(descriptor);
    } finally {
      closeSync(descriptor);
    }
    const text = readFileSync(file, 'utf8');
    rmSync(folder, { recursive: true });
    expect(printed(text)).toEqual(['descriptor 1', 'first', 'second', 'between', 'third', 'done']);
    expect(text).toContain('"duration_ms":0.07}');
  });

  it('leaves a pipe to its stream', () => {
    expect(printed(runLoggerWithStdout('pipe'))).toEqual([
      'descriptor undefined',
      'first',
      'second',
      'between',
      'third',
      'done',
    ]);
  });
});
