import { redactFields } from './redact.ts';
import { currentScope } from './request-context.ts';

/** The line's own keys: always first, never replaced by a caller's field of the same name. */
const RESERVED = new Set(['level', 'timestamp', 'event']);
const LEVEL_NAMES: Record<string, string> = {
  fatal: 'FATAL',
  error: 'ERROR',
  warn: 'WARN',
  info: 'INFO',
  debug: 'DEBUG',
};

/** Lines come many to a millisecond under load: the ISO timestamp is formatted once per millisecond. */
let lastMillis = Number.NaN;
let lastTimestamp = '';
function timestamp(): string {
  const now = Date.now();
  if (now !== lastMillis) {
    lastMillis = now;
    lastTimestamp = new Date(now).toISOString();
  }
  return lastTimestamp;
}

/**
 * One JSON log line: level, timestamp and event first, then the request's context (and the
 * procedure of this async branch), then the caller's fields, redacted; a field may replace a
 * context value (the access line's `status`, say) but not the first three. Built in one
 * object and one `JSON.stringify`: this runs for every line of every request.
 */
export function formatLine(level: string, event: string, fields: Record<string, unknown>): string {
  const line: Record<string, unknown> = {
    level: LEVEL_NAMES[level] ?? level.toUpperCase(),
    timestamp: timestamp(),
    event,
  };
  const scope = currentScope();
  if (scope) {
    const context = scope.context as unknown as Record<string, unknown>;
    for (const key in context) line[key] = context[key];
    if (scope.procedure !== undefined) line.procedure = scope.procedure;
  }
  const safe = redactFields(fields);
  for (const key in safe) {
    if (!RESERVED.has(key)) line[key] = safe[key];
  }
  return JSON.stringify(line);
}
