/**
 * Errors that mean "the database cannot be reached right now" rather than "this query is
 * wrong": the client gets 503 DATABASE_UNAVAILABLE (retry later), not 500.
 *
 * Only what the database layer threw counts (`markDatabaseError`, applied to everything the
 * Kysely driver rejects with, see database-driver.ts): the same codes come from elsewhere too,
 * a client that hangs up mid-body makes the request stream fail with ECONNRESET, and that is
 * not an outage.
 */
const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);
/** SQLSTATE classes 08 (connection exception), 57P0x (server shutting down), 57014 (statement timeout), 53300 (too many connections). */
const UNAVAILABLE_SQLSTATE = /^(08...|57P0.|57014|53300)$/;
const UNREACHABLE_MESSAGES = [
  'Connection terminated',
  'timeout exceeded when trying to connect',
  'Client has encountered a connection error',
  'Connection ended unexpectedly',
  'Client was closed and is not queryable',
];
/** How far down a cause chain an error is looked for. */
const MAX_DEPTH = 5;

/** What the database layer threw: identities only, so an error is neither changed nor kept alive. */
const fromDatabase = new WeakSet<object>();

/** Records that the database layer threw `error`; returns it, to be thrown on. */
export function markDatabaseError(error: unknown): unknown {
  if (typeof error === 'object' && error !== null) fromDatabase.add(error);
  return error;
}

/** Whether the database layer threw `error` or one of its causes (an error wrapping a database error). */
function databaseErrorIn(error: unknown): Error | undefined {
  for (
    let current = error, depth = 0;
    current instanceof Error && depth < MAX_DEPTH;
    current = current.cause, depth++
  ) {
    if (fromDatabase.has(current)) return current;
  }
  return undefined;
}

/** Whether an error of the database layer (or one of its causes) says the server is out of reach. */
function saysUnreachable(error: unknown): boolean {
  for (
    let current = error, depth = 0;
    current instanceof Error && depth < MAX_DEPTH;
    current = current.cause, depth++
  ) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && (UNREACHABLE_CODES.has(code) || UNAVAILABLE_SQLSTATE.test(code))) return true;
    if (UNREACHABLE_MESSAGES.some((message) => current instanceof Error && current.message.includes(message)))
      return true;
    if (current instanceof AggregateError && current.errors.some(saysUnreachable)) return true;
  }
  return false;
}

export function isDatabaseUnavailable(error: unknown): boolean {
  const databaseError = databaseErrorIn(error);
  return databaseError !== undefined && saysUnreachable(databaseError);
}

/**
 * SQLSTATE 22021 (character_not_in_repertoire: NUL, or bytes that are not UTF-8) and 22P05
 * (untranslatable_character: `\u0000` in JSON): text the client sent that PostgreSQL cannot
 * store. The input schemas refuse it first; this catches any text that reaches a query another way.
 */
const UNSTORABLE_TEXT_SQLSTATE = new Set(['22021', '22P05']);

export function isUnstorableText(error: unknown): boolean {
  for (let current = error, depth = 0; current instanceof Error && depth < 5; current = current.cause, depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && UNSTORABLE_TEXT_SQLSTATE.has(code)) return true;
  }
  return false;
}

/** Whether PostgreSQL refused a write for a unique index (23505): another row took the value first. */
export function isUniqueViolation(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === '23505';
}

/** Whether PostgreSQL refused a write for the CHECK constraint `constraint` (23514). */
export function isCheckViolation(error: unknown, constraint: string): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code, constraint: violated } = error as { code?: unknown; constraint?: unknown };
  return code === '23514' && violated === constraint;
}
