/**
 * Errors that mean "the database cannot be reached right now" rather than "this query is
 * wrong": the client gets 503 DATABASE_UNAVAILABLE (retry later), not 500.
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

export function isDatabaseUnavailable(error: unknown): boolean {
  for (let current = error, depth = 0; current instanceof Error && depth < 5; current = current.cause, depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && (UNREACHABLE_CODES.has(code) || UNAVAILABLE_SQLSTATE.test(code))) return true;
    if (UNREACHABLE_MESSAGES.some((message) => current instanceof Error && current.message.includes(message)))
      return true;
    if (current instanceof AggregateError && current.errors.some(isDatabaseUnavailable)) return true;
  }
  return false;
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
