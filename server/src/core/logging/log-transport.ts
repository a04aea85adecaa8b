import { fstatSync, writeSync } from 'node:fs';
import type { Writable } from 'node:stream';
import winston from 'winston';
import { LEVEL, MESSAGE } from './line-format.ts';

type WriteDone = (error: Error | null | undefined) => void;
/** Written at once past this size, without waiting for the end of the event-loop turn. */
const MAX_PENDING_CHARS = 64 * 1024;

/**
 * A winston transport that gathers the lines of one event-loop turn and writes them with one
 * `write` at its end (or sooner past 64 KB). Writing each line on its own cost a system call
 * per line — synchronous when stdout is a file or a pipe — which was a tenth of a request's
 * time. Lines are never dropped or reordered; `flush()` writes what is pending and resolves
 * once the stream has taken everything written so far.
 *
 * Where the stream is stdout and stdout is a regular file, node's stream for it writes each
 * chunk with `fs.writeSync` (its SyncWriteStream), after copying the text into a new Buffer
 * and through the Writable bookkeeping: a third of the lines' write cost. The pending text is
 * then written with `fs.writeSync` on the descriptor directly, which is what the stream would
 * do, in the same order, with the same failure (a throw). Pipes and sockets take strings
 * without that copy and keep their stream.
 */
export class LineTransport extends winston.transports.Stream {
  /** Set by winston's TransportStream when a Logger pipes to it (its levels, and the Logger for its level). */
  declare levels?: Record<string, number>;
  declare parent?: { level: string } | null;
  private pending = '';
  private scheduled = false;
  private readonly stream: Writable;
  private readonly buffered: boolean;
  private readonly fileDescriptor: number | undefined;

  /** `buffered: false` writes each line at once (an in-memory destination that is read right away). */
  constructor(stream: Writable, { buffered }: { buffered: boolean }) {
    super({ stream });
    this.stream = stream;
    this.buffered = buffered;
    this.fileDescriptor = synchronousFileDescriptor(stream);
  }

  /**
   * winston's Logger hands each info to `write`: the finished line goes to `writeLine` here,
   * filtered as winston's TransportStream filters it (its own level, else the Logger's), without
   * the Writable's bookkeeping and the tick it schedules for each line. A `write` with a
   * callback, or to a transport given a format of its own, takes the Writable's way.
   */
  override write(info: unknown, done?: WriteDone): boolean;
  override write(info: unknown, encoding: BufferEncoding, done?: WriteDone): boolean;
  override write(info: unknown, encodingOrDone?: BufferEncoding | WriteDone, done?: WriteDone): boolean {
    if (encodingOrDone !== undefined || this.format !== undefined) {
      return super.write(info, encodingOrDone as BufferEncoding, done);
    }
    const entry = info as Record<symbol | string, unknown>;
    if (this.silent || (entry.exception === true && !this.handleExceptions)) return true;
    const level = this.level ?? this.parent?.level;
    const levels = this.levels;
    if (level === undefined || levels === undefined || levels[level]! >= levels[entry[LEVEL] as string]!) {
      this.writeLine((entry[MESSAGE] as string | undefined) ?? '');
    }
    return true;
  }

  /** The Writable's way in (`log` of winston's TransportStream): the finished line is under MESSAGE. */
  override log(info: unknown, done: () => void): void {
    this.writeLine((info as Record<symbol, string>)[MESSAGE] ?? '');
    done();
  }

  /** The logger's own entry point: a finished line, without a winston info object around it. */
  writeLine(line: string): void {
    this.pending += `${line}\n`;
    if (!this.buffered || this.pending.length >= MAX_PENDING_CHARS) this.writePending();
    else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.writePending);
    }
  }

  /** Hands the pending lines to the stream now. */
  readonly writePending = (): void => {
    this.scheduled = false;
    if (this.pending === '' || this.stream.destroyed || this.stream.writableEnded) return;
    const chunk = this.pending;
    this.pending = '';
    if (this.fileDescriptor === undefined) this.stream.write(chunk);
    else writeSync(this.fileDescriptor, chunk);
  };

  flush(): Promise<void> {
    this.writePending();
    return new Promise((resolve) => {
      if (this.stream.writableEnded || this.stream.destroyed) resolve();
      else this.stream.write('', () => resolve());
    });
  }
}

/** stdout's descriptor when stdout is a regular file (which node writes synchronously); else undefined. */
export function synchronousFileDescriptor(stream: Writable): number | undefined {
  if (stream !== process.stdout) return undefined;
  try {
    return fstatSync(process.stdout.fd).isFile() ? process.stdout.fd : undefined;
  } catch {
    return undefined; // a closed or odd descriptor: the stream decides
  }
}
