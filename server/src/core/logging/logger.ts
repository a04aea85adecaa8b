import { createWriteStream, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Writable } from 'node:stream';
import { trace } from '@opentelemetry/api';
import type winston from 'winston';
import { LogEntry } from './line-format.ts';
import { LineTransport } from './log-transport.ts';
import { currentScope, type Scope } from './request-context.ts';
import { createWinstonLogger, LEVELS, type LogLevel } from './winston-logger.ts';

export type { LogLevel };

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
  /** Has `listener` see every line's event and fields, at any level, before it is written (metrics). */
  tap(listener: LineTap | undefined): void;
  /** Waits until every line written so far has reached stdout (or `destination`) and the file. */
  flush(): Promise<void>;
  /**
   * The winston Logger that carries every line: `logger.winston.add(transport)` adds a
   * destination (rotation, a log shipper), which receives each line finished and redacted under
   * `info[MESSAGE]`, as stock transports print it.
   */
  readonly winston: winston.Logger;
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
  /** More winston transports beside stdout (or `destination`) and the file. */
  transports?: winston.transport[];
}

/**
 * A traced request's line names the span active where it is written (a procedure's, a SQL
 * statement's), or else the request's HTTP server span. Taken now: the line is formatted later.
 */
function withActiveSpan(scope: Readonly<Scope>): Readonly<Scope> {
  const active = trace.getActiveSpan()?.spanContext();
  const spanId = active?.traceId === scope.context.trace_id ? active?.spanId : undefined;
  return spanId === undefined ? scope : { context: scope.context, procedure: scope.procedure, span_id: spanId };
}

/** What `Logger.tap` calls for every line written, whatever the level (metrics count events). */
export type LineTap = (event: string, fields: LogFields | undefined) => void;

export function createLogger(options: LoggerOptions): Logger {
  const streams: Writable[] = [options.destination ?? process.stdout];
  if (options.file) {
    mkdirSync(dirname(options.file), { recursive: true });
    streams.push(createWriteStream(options.file, { flags: 'a' }));
  }
  const buffered = options.buffered ?? options.destination === undefined;
  const lineTransports = streams.map((stream) => new LineTransport(stream, { buffered }));
  const { logger, drain } = createWinstonLogger({
    level: options.level,
    transports: [...lineTransports, ...(options.transports ?? [])],
    // The lines a turn's requests write are finished together at its end, where the buffered
    // transports wrote them already; a destination read at once gets each line as it comes.
    defer: buffered ? { afterTurn: () => lineTransports.forEach((transport) => transport.writePending()) } : undefined,
  });

  // A line below the Logger's level (winston's `level`, which may be changed) is not built at
  // all: a transport's own level narrows what it receives, it cannot widen it. The fields go to
  // winston under a symbol of the entry, never copied (winston would run their getters, which
  // may throw, and fold a `message` field into the event).
  const isLevelEnabled = (level: LogLevel) => LEVELS[level] <= LEVELS[logger.level as LogLevel];
  let tap: LineTap | undefined;
  const write =
    (level: LogLevel): WriteLine =>
    (event, fields, scope) => {
      if (tap !== undefined) tap(event, fields);
      if (!isLevelEnabled(level)) return;
      const current = scope ?? currentScope();
      // Only a traced request's context has a trace id (tracing on): untraced lines pay this check.
      const traced = scope === undefined && current !== undefined && current.context.trace_id !== undefined;
      logger.write(new LogEntry(level, event, fields, traced ? withActiveSpan(current) : current));
    };

  return {
    fatal: write('fatal'),
    error: write('error'),
    warn: write('warn'),
    info: write('info'),
    debug: write('debug'),
    isLevelEnabled,
    tap: (listener) => {
      tap = listener;
    },
    flush: () => {
      drain();
      return Promise.all(lineTransports.map((transport) => transport.flush())).then(() => undefined);
    },
    winston: logger,
  };
}
