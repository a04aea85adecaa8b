import winston from 'winston';
import { formatLine } from './log-line.ts';
import { currentScope, type Scope } from './request-context.ts';

/** triple-beam's symbols (winston's): the level transports filter on, and the finished line they print. */
export const LEVEL = Symbol.for('level');
export const MESSAGE = Symbol.for('message');
const SPLAT = Symbol.for('splat');

/** Where an entry keeps what the line is made of: symbols of this module, which no format or JSON text sees. */
const FIELDS = Symbol('fields');
const SCOPE = Symbol('scope');
const TIME = Symbol('time');
const USER = Symbol('user');
const ROLE = Symbol('role');

const NO_FIELDS: Readonly<Record<string, unknown>> = Object.freeze({});

/**
 * The winston info object of one line. Its enumerable keys are winston's own, `level` (winston's
 * name for it, `info`) and `message` (the event). The caller's fields and the request's scope,
 * taken when the line is written, wait under symbols until the line format has written the
 * finished line under MESSAGE, and are let go then: a transport that reads the whole object
 * (a shipper, `util.inspect`, which shows symbol keys) finds no unredacted field.
 *
 * One object per line, a class so that every entry has the same shape.
 */
export class LogEntry {
  readonly level: string;
  readonly message: string;
  readonly [LEVEL]: string;
  [MESSAGE]: string | undefined;
  [FIELDS]: Readonly<Record<string, unknown>> | undefined;
  [SCOPE]: Readonly<Scope> | undefined;
  /** When it was written, and the request's user then: the line may be finished later in the turn. */
  readonly [TIME]: number;
  readonly [USER]: string | null | undefined;
  readonly [ROLE]: string | null | undefined;

  // Four parameters, not an options object: that would be a second object per line.
  // eslint-disable-next-line max-params
  constructor(
    level: string,
    event: string,
    fields: Record<string, unknown> | undefined,
    scope: Readonly<Scope> | undefined,
  ) {
    this.level = level;
    this.message = event;
    this[LEVEL] = level;
    this[MESSAGE] = undefined;
    this[FIELDS] = fields;
    this[SCOPE] = scope;
    this[TIME] = Date.now();
    this[USER] = scope?.context.user_id;
    this[ROLE] = scope?.context.role;
  }
}

/** An info object as winston's own methods make it (`logger.log('info', 'event', { ... })`). */
type WinstonInfo = Record<string | symbol, unknown>;

/**
 * The contract's line as a winston format: it writes the finished line (`formatLine`: level,
 * timestamp, event, the request's context, the redacted fields) into `info[MESSAGE]`, which
 * stock transports (Console, File, Stream, daily rotation, shippers) print as it is.
 *
 * An info made by winston's own methods (a child logger, `log(level, message, meta)`) has its
 * fields as keys of its own: the line takes them from there, and its request context from the
 * async scope the format runs in. They are taken off the info, as an entry's are let go.
 */
export const lineFormat = winston.format((info) => {
  const entry = info as unknown as LogEntry | WinstonInfo;
  if (entry instanceof LogEntry) {
    entry[MESSAGE] = formatLine(
      { level: entry[LEVEL], event: entry.message, fields: entry[FIELDS] ?? NO_FIELDS, time: entry[TIME] },
      scopeWhenWritten(entry),
    );
    entry[FIELDS] = undefined;
    entry[SCOPE] = undefined;
  } else {
    const level = typeof entry[LEVEL] === 'string' ? entry[LEVEL] : String(entry.level);
    entry[MESSAGE] = formatLine(
      { level, event: String(entry.message), fields: takeFields(entry), time: Date.now() },
      currentScope(),
    );
  }
  return info;
});

/**
 * The entry's scope with the user the request had when the line was written. A line is finished
 * at the end of its event-loop turn at the latest (see `DeferredLines`), and the request may have
 * learnt its user since: the line keeps the context it was written in.
 */
function scopeWhenWritten(entry: LogEntry): Readonly<Scope> | undefined {
  const scope = entry[SCOPE];
  if (!scope || (scope.context.user_id === entry[USER] && scope.context.role === entry[ROLE])) return scope;
  const context = { ...scope.context, user_id: entry[USER] ?? null, role: entry[ROLE] ?? null };
  return { ...scope, context };
}

/**
 * The keys of a winston info besides its level and message, taken off it (and the arguments they
 * came in). `exception` stays too: transports decide by it whether they take winston's lines of
 * an uncaught exception.
 */
function takeFields(info: WinstonInfo): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  for (const key of Object.keys(info)) {
    if (key === 'level' || key === 'message') continue;
    fields[key] = info[key];
    if (key !== 'exception') delete info[key];
  }
  delete info[SPLAT];
  return fields;
}
