import { createWriteStream, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Writable } from 'node:stream';
import { formatLine } from './log-line.ts';
import { LineTransport } from './log-transport.ts';
import { currentScope, type Scope } from './request-context.ts';

const LEVELS = { fatal: 0, error: 1, warn: 2, info: 3, debug: 4 } as const;
export type LogLevel = keyof typeof LEVELS;

/** Everything a caller may pass besides the event name; keys are snake_case by contract. */
export type LogFields = Record<string, unknown>;

/**
 * Writes one line. Its request context comes from the async scope it is written in; `scope`
 * names it instead for a line written outside that scope (the access line, written when the
 * response closes).
 */
type WriteLine = (event: string, fields?: LogFields, scope?: Readonly<Scope>) => void;

export interface Logger {
  fatal: WriteLine;
  error: WriteLine;
  warn: WriteLine;
  info: WriteLine;
  debug: WriteLine;
  isLevelEnabled(level: LogLevel): boolean;
  /** Waits until every line written so far has reached its destination. */
  flush(): Promise<void>;
}

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

  // Each line is built once (`formatLine`) and handed to the winston transports as text
  // (`writeLine`; their `log` takes winston's info objects). winston's Logger would carry it
  // there as an info object through two object-mode streams (its own Transform, then each
  // transport's Writable, a tick scheduled by each): about 8 µs a line on the bench machine,
  // more than building it. The fields are never copied (winston would run their getters,
  // which may throw, and fold a `message` field into the event).
  const isLevelEnabled = (level: LogLevel) => LEVELS[level] <= LEVELS[options.level];
  const write =
    (level: LogLevel): WriteLine =>
    (event, fields, scope) => {
      if (!isLevelEnabled(level)) return;
      const line = formatLine({ level, event, fields: fields ?? {} }, scope ?? currentScope());
      for (const transport of transports) transport.writeLine(line);
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
