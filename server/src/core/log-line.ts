import { isoNow } from './clock.ts';
import { redactFields } from './redact.ts';
import type { RequestContext, Scope } from './request-context.ts';

/** The line's own keys: always first, never replaced by a caller's field of the same name. */
const RESERVED = new Set(['level', 'timestamp', 'event']);
/** The request context's keys, in the order every line writes them. */
const CONTEXT_KEYS = [
  'request_id',
  'method',
  'path',
  'ip',
  'user_id',
  'role',
] as const satisfies (keyof RequestContext)[];
const CONTEXT_KEY_SET = new Set<string>(CONTEXT_KEYS);

/** Whether the line already writes `key` before the caller's fields (such a field is merged in place). */
function writtenBefore(key: string, scope: Readonly<Scope> | undefined): boolean {
  if (RESERVED.has(key)) return true;
  if (!scope) return false;
  return CONTEXT_KEY_SET.has(key) || (key === 'procedure' && scope.procedure !== undefined);
}

/** What the line writes from `scope` under a context key or `procedure`. */
function valueInScope(scope: Readonly<Scope>, key: string): unknown {
  return key === 'procedure' ? scope.procedure : scope.context[key as keyof RequestContext];
}

function without(fields: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  const kept: Record<string, unknown> = {};
  for (const key in fields) if (!keys.includes(key)) kept[key] = fields[key];
  return kept;
}

const LEVEL_NAMES: Record<string, string> = {
  fatal: 'FATAL',
  error: 'ERROR',
  warn: 'WARN',
  info: 'INFO',
  debug: 'DEBUG',
};

/** A context's part of the line, with the user it was written for. */
interface ContextText {
  text: string;
  userId: string | null;
  role: string | null;
}

/** Where a context keeps its text: a symbol, so neither `for…in` nor JSON sees it. */
const TEXT = Symbol('contextText');
type WithText = RequestContext & { [TEXT]?: ContextText };

/**
 * `,"request_id":…,"role":…` for a context. Every line of a request writes the same context,
 * which changes only when the request learns its user (`setRequestUser`): the text is kept on
 * the context with the user it was made for, and made again when that changed.
 */
function contextText(context: WithText): string {
  const cached = context[TEXT];
  if (cached && cached.userId === context.user_id && cached.role === context.role) return cached.text;
  let text = '';
  for (const key of CONTEXT_KEYS) {
    const value = context[key];
    if (value !== undefined) text += `,"${key}":${JSON.stringify(value)}`;
  }
  context[TEXT] = { text, userId: context.user_id, role: context.role };
  return text;
}

const levelName = (level: string) => LEVEL_NAMES[level] ?? level.toUpperCase();

/**
 * One JSON log line: level, timestamp and event first, then the request's context (and the
 * procedure of this async branch) from `scope`, then the caller's fields, redacted. A field
 * may replace a context value (the access line's `status`, say) but not the first three.
 *
 * This runs for every line of every request, so the usual line is written as text: the
 * context's values and the fields each go through `JSON.stringify`, and no object is built
 * for the line. A field named like a context key takes `mergedLine`, which builds the object,
 * unless it holds the value the context writes anyway.
 */
export function formatLine(
  { level, event, fields }: { level: string; event: string; fields: Record<string, unknown> },
  scope: Readonly<Scope> | undefined,
): string {
  const safe = redactFields(fields);
  // A field repeating what the line writes anyway (`auth_success`'s user) is left out; a first
  // field repeating the procedure (`procedure_call`'s) is written instead of the scope's, in
  // the same place, as the procedure is the last thing written before the fields.
  let repeated: string[] | undefined;
  let procedureFirst = false;
  let first = true;
  for (const key in safe) {
    if (writtenBefore(key, scope)) {
      if (!scope || RESERVED.has(key) || safe[key] !== valueInScope(scope, key)) {
        return mergedLine({ level, event, scope }, safe);
      }
      if (first && key === 'procedure') procedureFirst = true;
      else (repeated ??= []).push(key);
    }
    first = false;
  }
  let line = `{"level":"${levelName(level)}","timestamp":"${isoNow()}","event":${JSON.stringify(event)}`;
  if (scope) {
    line += contextText(scope.context);
    if (scope.procedure !== undefined && !procedureFirst) line += `,"procedure":${JSON.stringify(scope.procedure)}`;
  }
  const rest = JSON.stringify(repeated ? without(safe, repeated) : safe);
  return rest === '{}' ? `${line}}` : `${line},${rest.slice(1)}`;
}

/** The same line built as one object, for fields that share a name with a context key. */
function mergedLine(
  { level, event, scope }: { level: string; event: string; scope: Readonly<Scope> | undefined },
  safe: Record<string, unknown>,
): string {
  const line: Record<string, unknown> = { level: levelName(level), timestamp: isoNow(), event };
  if (scope) {
    for (const key of CONTEXT_KEYS) if (scope.context[key] !== undefined) line[key] = scope.context[key];
    if (scope.procedure !== undefined) line.procedure = scope.procedure;
  }
  for (const key in safe) {
    if (!RESERVED.has(key)) line[key] = safe[key];
  }
  return JSON.stringify(line);
}
