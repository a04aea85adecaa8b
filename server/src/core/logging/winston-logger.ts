import type { Writable } from 'node:stream';
import winston from 'winston';
import { DeferredLines } from './deferred-lines.ts';
import { LogEntry, lineFormat } from './line-format.ts';

/** The contract's levels, most severe first, as winston's levels (the line writes them in upper case). */
export const LEVELS = { fatal: 0, error: 1, warn: 2, info: 3, debug: 4 } as const;
export type LogLevel = keyof typeof LEVELS;

/** What winston's Logger keeps of its transports: readable-stream's pipe targets, one or several. */
interface PipeTargets {
  _readableState: { pipes: Writable | Writable[] | null };
}

export interface WinstonLoggerOptions {
  level: LogLevel;
  transports: winston.transport[];
  /**
   * Hold info and debug lines to the end of their event-loop turn (see DeferredLines), then run
   * `afterTurn`. Without it every line is finished as it is written.
   */
  defer?: { afterTurn: () => void };
}

/**
 * The winston Logger every line goes through: the contract's levels, the line format, and the
 * transports (add more with `add`, as winston's users do: each receives every line, finished
 * and redacted, under `info[MESSAGE]`). `drain` finishes the held lines now.
 *
 * Its `write` hands each info to the format and then to every transport's `write` at once.
 * winston's own goes through the Logger's object-mode Transform (its write bookkeeping, a
 * `push`, a `data` event and the pipe's handler per line) before the same transport `write`.
 * On the logger alone, the two lines of a request took 1.12 times the instructions that way
 * (1.36 times with each transport's Writable too), against 1.04 times for this one, over
 * writing them beside winston (docs/PERFORMANCE.md, sixth round). What a transport sees is
 * unchanged: the same info, its level filter and format, its own stream. The Logger's `data`
 * event is not emitted.
 */
export function createWinstonLogger({ level, transports, defer }: WinstonLoggerOptions): {
  logger: winston.Logger;
  drain: () => void;
} {
  const logger = winston.createLogger({ levels: LEVELS, level, format: lineFormat(), transports });
  if (!defer) {
    logger.write = (info: object) => writeToTransports(logger, info);
    return { logger, drain: () => {} };
  }
  const deferred = new DeferredLines((info: object) => writeToTransports(logger, info), defer.afterTurn);
  logger.write = (info: object) => {
    if (info instanceof LogEntry && LEVELS[info.level as LogLevel] >= LEVELS.info) {
      deferred.hold(info);
      return true;
    }
    deferred.drain();
    return writeToTransports(logger, info);
  };
  return { logger, drain: deferred.drain };
}

function writeToTransports(logger: winston.Logger, info: object): boolean {
  if (logger.silent) return true;
  const formatted: unknown = logger.format.transform(info as winston.Logform.TransformableInfo, logger.format.options);
  if (!formatted) return true;
  // winston's `transports` getter reads the same pipe targets, but copies a single one into a new array.
  const { pipes } = (logger as unknown as PipeTargets)._readableState;
  if (Array.isArray(pipes)) {
    for (const transport of pipes) transport.write(formatted);
  } else if (pipes) {
    pipes.write(formatted);
  }
  return true;
}
