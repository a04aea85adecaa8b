import { createWriteStream, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Writable } from 'node:stream';
import winston from 'winston';
import { formatLine } from './log-line.ts';
import { LineTransport, MESSAGE } from './log-transport.ts';

const LEVELS = { fatal: 0, error: 1, warn: 2, info: 3, debug: 4 } as const;
export type LogLevel = keyof typeof LEVELS;

/** Everything a caller may pass besides the event name; keys are snake_case by contract. */
export type LogFields = Record<string, unknown>;

export interface Logger {
  fatal(event: string, fields?: LogFields): void;
  error(event: string, fields?: LogFields): void;
  warn(event: string, fields?: LogFields): void;
  info(event: string, fields?: LogFields): void;
  debug(event: string, fields?: LogFields): void;
  isLevelEnabled(level: LogLevel): boolean;
  /** Waits until every line written so far has reached its destination. */
  flush(): Promise<void>;
}

/** Hands winston the finished line (see `formatLine`); the fields travel untouched under one key. */
const jsonLine = winston.format((info) => {
  (info as Record<symbol, unknown>)[MESSAGE] = formatLine(info.level, info.message as string, info.fields as LogFields);
  return info;
});

export interface LoggerOptions {
  level: LogLevel;
  /** Also append every line to this file (its folder is created). */
  file?: string | undefined;
  /** Where lines go instead of stdout: tests pass a capturing stream. */
  destination?: Writable;
  /**
   * Gather each event-loop turn's lines into one write (see LineTransport). On by default for
   * stdout and the file; off for a `destination`, which tests read as soon as a response arrives.
   */
  buffered?: boolean;
}

export function createLogger(options: LoggerOptions): Logger {
  const streams: Writable[] = [options.destination ?? process.stdout];
  if (options.file) {
    mkdirSync(dirname(options.file), { recursive: true });
    streams.push(createWriteStream(options.file, { flags: 'a' }));
  }
  const buffered = options.buffered ?? options.destination === undefined;
  const transports = streams.map((stream) => new LineTransport(stream, { buffered }));
  const winstonLogger = winston.createLogger({
    levels: LEVELS,
    level: options.level,
    format: jsonLine(),
    transports,
    exitOnError: false,
  });

  // The fields travel untouched under one key: winston would otherwise copy them (running
  // getters, which may throw) and fold a `message` field into the event name.
  const isLevelEnabled = (level: LogLevel) => LEVELS[level] <= LEVELS[options.level];
  const write = (level: LogLevel) => (event: string, fields?: LogFields) => {
    if (isLevelEnabled(level)) winstonLogger.log({ level, message: event, fields: fields ?? {} });
  };

  return {
    fatal: write('fatal'),
    error: write('error'),
    warn: write('warn'),
    info: write('info'),
    debug: write('debug'),
    isLevelEnabled,
    flush: () => Promise.all(transports.map((transport) => transport.flush())).then(() => undefined),
  };
}
