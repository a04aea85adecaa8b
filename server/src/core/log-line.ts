import { isoNow } from './clock.ts';
import { flat, jsonString, jsonValue } from './json-text.ts';
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

/**
 * A field's key as the line writes it: its `,"key":` text, and what the line writes under that
 * key before the fields (its own keys, the context's, the procedure), if anything. Field keys
 * are the code's own names: each is looked at once (bounded, for odd callers).
 */
interface FieldKey {
  text: string;
  before: 'line' | 'context' | 'procedure' | null;
}
const fieldKeys = new Map<string, FieldKey>();
const FIELD_KEYS_KEPT = 2_000;

function fieldKey(key: string): FieldKey {
  let known = fieldKeys.get(key);
  if (known === undefined) {
    known = {
      text: flat([',', jsonString(key), ':']),
      before: RESERVED.has(key)
        ? 'line'
        : CONTEXT_KEY_SET.has(key)
          ? 'context'
          : key === 'procedure'
            ? 'procedure'
            : null,
    };
    if (fieldKeys.size < FIELD_KEYS_KEPT) fieldKeys.set(key, known);
  }
  return known;
}

/** Whether this line writes the key before the caller's fields (such a field is merged in place). */
function writtenBefore({ before }: FieldKey, scope: Readonly<Scope> | undefined): boolean {
  if (before === 'line') return true;
  if (!scope) return false;
  return before === 'context' || (before === 'procedure' && scope.procedure !== undefined);
}

/** What the line writes from `scope` under a context key or `procedure`. */
function valueInScope(scope: Readonly<Scope>, key: string): unknown {
  return key === 'procedure' ? scope.procedure : scope.context[key as keyof RequestContext];
}

const LEVEL_NAMES: Record<string, string> = {
  fatal: 'FATAL',
  error: 'ERROR',
  warn: 'WARN',
  info: 'INFO',
  debug: 'DEBUG',
};
const levelName = (level: string) => LEVEL_NAMES[level] ?? level.toUpperCase();

/** `{"level":"INFO","timestamp":"` for each level, made once. */
const LINE_STARTS: Record<string, string> = Object.fromEntries(
  Object.keys(LEVEL_NAMES).map((level) => [level, flat(['{"level":"', levelName(level), '","timestamp":"'])]),
);
const lineStart = (level: string) => LINE_STARTS[level] ?? `{"level":${jsonString(levelName(level))},"timestamp":"`;

/**
 * The texts lines repeat, kept by what they write: `","event":"procedure_call"` by event and
 * `,"procedure":"v1.orders.get"` by procedure (both the code's own names; bounded, for odd callers).
 */
const eventTexts = new Map<string, string>();
const procedureTexts = new Map<string, string>();
const TEXTS_KEPT = 2_000;

function keptText(texts: Map<string, string>, key: string, make: (key: string) => string): string {
  let text = texts.get(key);
  if (text === undefined) {
    text = make(key);
    if (texts.size < TEXTS_KEPT) texts.set(key, text);
  }
  return text;
}
const eventText = (event: string) => flat(['","event":', jsonString(event)]);
const procedureText = (procedure: string) => flat([',"procedure":', jsonString(procedure)]);

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
    const value = jsonValue(context[key]);
    if (value !== undefined) text += `,"${key}":${value}`;
  }
  context[TEXT] = { text, userId: context.user_id, role: context.role };
  return text;
}

/**
 * One JSON log line: level, timestamp and event first, then the request's context (and the
 * procedure of this async branch) from `scope`, then the caller's fields, redacted. A field
 * may replace a context value (the access line's `status`, say) but not the first three.
 *
 * This runs for every line of every request, so the usual line is written as text, piece by
 * piece (`jsonValue`), and no object is built for it. A field that repeats what the line writes
 * before the fields (`auth_success`'s user, `procedure_call`'s procedure) is written once, in
 * the line's place for it; a field that would replace such a value takes `mergedLine`, which
 * builds the object.
 */
export function formatLine(
  { level, event, fields }: { level: string; event: string; fields: Record<string, unknown> },
  scope: Readonly<Scope> | undefined,
): string {
  const safe = redactFields(fields);
  let fieldsText = '';
  for (const key in safe) {
    const known = fieldKey(key);
    const value = safe[key];
    if (known.before !== null && writtenBefore(known, scope)) {
      if (!scope || known.before === 'line' || value !== valueInScope(scope, key)) {
        return mergedLine({ level, event, scope }, safe);
      }
      continue;
    }
    const json = jsonValue(value);
    if (json !== undefined) fieldsText += known.text + json;
  }
  let line = lineStart(level) + isoNow() + keptText(eventTexts, event, eventText);
  if (scope) {
    line += contextText(scope.context);
    if (scope.procedure !== undefined) line += keptText(procedureTexts, scope.procedure, procedureText);
  }
  return `${line}${fieldsText}}`;
}

/**
 * The same line for fields that replace what the line writes before them: the context's and the
 * procedure's values are gathered in order, a field takes its key's place, and the line's own
 * three keys stay first and are not replaced (a Map keeps that order; an object would put a
 * field named like an integer, `"0"`, before them).
 */
function mergedLine(
  { level, event, scope }: { level: string; event: string; scope: Readonly<Scope> | undefined },
  safe: Record<string, unknown>,
): string {
  const values = new Map<string, unknown>();
  if (scope) {
    for (const key of CONTEXT_KEYS) values.set(key, scope.context[key]);
    if (scope.procedure !== undefined) values.set('procedure', scope.procedure);
  }
  for (const key in safe) {
    if (!RESERVED.has(key)) values.set(key, safe[key]);
  }
  let line = lineStart(level) + isoNow() + keptText(eventTexts, event, eventText);
  for (const [key, value] of values) {
    const json = jsonValue(value);
    if (json !== undefined) line += fieldKey(key).text + json;
  }
  return `${line}}`;
}
