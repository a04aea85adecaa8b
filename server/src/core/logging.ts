import { createWriteStream, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Writable } from 'node:stream';
import winston from 'winston';
import { redact } from './redact.ts';
import { currentProcedure, currentRequestContext } from './request-context.ts';

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

const MESSAGE = Symbol.for('message');

/**
 * Builds the whole line in one pass: level, timestamp and event first, then the request's
 * context, then the caller's fields, all redacted. One JSON object, one line.
 */
const jsonLine = winston.format((info) => {
  const { level, message, fields } = info;
  const procedure = currentProcedure();
  const line: Record<string, unknown> = {
    level: undefined,
    timestamp: undefined,
    event: undefined,
    ...currentRequestContext(),
    ...(procedure === undefined ? {} : { procedure }),
    ...(redact(fields) as Record<string, unknown>),
  };
  // Set last so no caller field can replace them; their keys stay first in the line.
  line.level = level.toUpperCase();
  line.timestamp = new Date().toISOString();
  line.event = message;
  (info as Record<symbol, unknown>)[MESSAGE] = JSON.stringify(line);
  return info;
});

export interface LoggerOptions {
  level: LogLevel;
  /** Also append every line to this file (its folder is created). */
  file?: string | undefined;
  /** Where lines go instead of stdout: tests pass a capturing stream. */
  destination?: Writable;
}

export function createLogger(options: LoggerOptions): Logger {
  const streams: Writable[] = [options.destination ?? process.stdout];
  if (options.file) {
    mkdirSync(dirname(options.file), { recursive: true });
    streams.push(createWriteStream(options.file, { flags: 'a' }));
  }
  const winstonLogger = winston.createLogger({
    levels: LEVELS,
    level: options.level,
    format: jsonLine(),
    transports: streams.map((stream) => new winston.transports.Stream({ stream })),
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
    flush: () =>
      Promise.all(
        streams.map(
          (stream) =>
            new Promise<void>((resolve) => {
              if (stream.writableEnded || stream.destroyed) {
                resolve();
                return;
              }
              stream.write('', () => resolve());
            }),
        ),
      ).then(() => undefined),
  };
}
