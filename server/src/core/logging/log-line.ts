import { isoAt } from '../clock.ts';
import { flat, jsonString, jsonValue } from './json-text.ts';
import { DEFAULT_LIMITS, isSafeScalar, isSecretKey, redact } from './redact.ts';
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

/** What a cache of texts made per name keeps at most (names are the code's own; bounded, for odd callers). */
const KEPT_PER_CACHE = 2_000;

/** `make` is a module-level function of the name: a closure per call would be an allocation per line. */
function kept<Value>(cache: Map<string, Value>, name: string, make: (name: string) => Value): Value {
  let value = cache.get(name);
  if (value === undefined) {
    value = make(name);
    if (cache.size < KEPT_PER_CACHE) cache.set(name, value);
  }
  return value;
}

/**
 * A field's key as the line writes it: its `,"key":` text, and what the line writes under that
 * key before the fields (its own keys, the context's, the procedure), if anything, and whether
 * it names a secret. Each key is looked at once.
 */
interface FieldKey {
  text: string;
  before: 'line' | 'context' | 'procedure' | null;
  /** Whether its value is a secret (redacted whatever it holds). */
  secret: boolean;
}
const fieldKeys = new Map<string, FieldKey>();

const describeKey = (key: string): FieldKey => ({
  text: flat([',', jsonString(key), ':']),
  before: RESERVED.has(key) ? 'line' : CONTEXT_KEY_SET.has(key) ? 'context' : key === 'procedure' ? 'procedure' : null,
  secret: isSecretKey(key),
});
const fieldKey = (key: string) => kept(fieldKeys, key, describeKey);

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
 * `,"procedure":"v1.orders.get"` by procedure (both the code's own names).
 */
const eventTexts = new Map<string, string>();
const procedureTexts = new Map<string, string>();
const makeEventText = (event: string) => flat(['","event":', jsonString(event)]);
const makeProcedureText = (procedure: string) => flat([',"procedure":', jsonString(procedure)]);
const eventText = (event: string) => kept(eventTexts, event, makeEventText);
const procedureText = (procedure: string) => kept(procedureTexts, procedure, makeProcedureText);

/** `{"level":…,"timestamp":…,"event":…`: what every line starts with. */
const lineHead = ({ level, event, time }: LineHead) => lineStart(level) + isoAt(time) + eventText(event);

/** What a line starts with: its level, its event, and when it was written (milliseconds since the epoch). */
interface LineHead {
  level: string;
  event: string;
  time: number;
}

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
  // In CONTEXT_KEYS' order, written out: a loop over the keys would read each through a
  // generic lookup. Flat, because every line of the request copies it (see `flat`).
  const text = flat([
    ',"request_id":',
    jsonString(context.request_id),
    context.trace_id === undefined ? '' : `,"trace_id":${jsonString(context.trace_id)}`,
    ',"method":',
    jsonString(context.method),
    ',"path":',
    jsonString(context.path),
    ',"ip":',
    jsonString(context.ip),
    ',"user_id":',
    jsonValue(context.user_id) ?? 'null',
    ',"role":',
    jsonValue(context.role) ?? 'null',
  ]);
  context[TEXT] = { text, userId: context.user_id, role: context.role };
  return text;
}

/** `,"span_id":…` of a traced request's line: the span active where it was written, else the request's. */
function spanText(scope: Readonly<Scope>): string {
  const spanId = scope.span_id ?? scope.context.span_id;
  return spanId === undefined ? '' : `,"span_id":${jsonString(spanId)}`;
}

/** What `fieldsText` gives when a field would replace what the line writes before the fields. */
const MERGE = Symbol('merge');

/**
 * `,"key":value…` for the fields, in their order. A field repeating what the line writes before
 * the fields is left out (written once, in the line's place for it); one that would replace it
 * gives MERGE.
 *
 * `asGiven` fields come as the caller passed them: a line's fields are usually a few numbers,
 * booleans and short texts under ordinary keys, which the redaction would leave as they are,
 * so they are checked here in the same pass, and any other field gives undefined (the caller
 * then redacts them all and asks again).
 */
function fieldsText(
  fields: Record<string, unknown>,
  scope: Readonly<Scope> | undefined,
  asGiven: boolean,
): string | typeof MERGE | undefined {
  const keys = Object.keys(fields);
  if (asGiven && keys.length > DEFAULT_LIMITS.maxObjectKeys) return undefined;
  let text = '';
  for (const key of keys) {
    const known = fieldKey(key);
    const value = fields[key];
    if (asGiven && (known.secret || !isSafeScalar(value))) return undefined;
    if (known.before !== null && writtenBefore(known, scope)) {
      if (!scope || known.before === 'line' || value !== valueInScope(scope, key)) return MERGE;
      continue;
    }
    const json = jsonValue(value);
    if (json !== undefined) text += known.text + json;
  }
  return text;
}

/** The fields' text as given, or undefined when they need redacting (a getter that throws included). */
function givenFieldsText(fields: Record<string, unknown>, scope: Readonly<Scope> | undefined) {
  try {
    return fieldsText(fields, scope, true);
  } catch {
    return undefined;
  }
}

/**
 * One JSON log line: level, timestamp and event first, then the request's context (and the
 * procedure of this async branch) from `scope`, then the caller's fields, redacted. A field
 * may replace a context value (the access line's `status`, say) but not the first three.
 *
 * This runs for every line of every request, so the usual line is written as text, piece by
 * piece (`jsonValue`), and no object is built for it. A field that would replace what the line
 * writes before the fields takes `mergedLine`.
 */
export function formatLine(
  line: LineHead & { fields: Record<string, unknown> },
  scope: Readonly<Scope> | undefined,
): string {
  const given = givenFieldsText(line.fields, scope);
  if (typeof given === 'string') return writtenLine(line, scope, given);
  const safe = redact(line.fields) as Record<string, unknown>;
  const text = fieldsText(safe, scope, false);
  return typeof text === 'string' ? writtenLine(line, scope, text) : mergedLine(line, scope, safe);
}

/** The usual line: its head, the scope's context and procedure, then the fields' text. */
function writtenLine(head: LineHead, scope: Readonly<Scope> | undefined, fieldsText: string): string {
  let line = lineHead(head);
  if (scope) {
    line += contextText(scope.context);
    if (scope.procedure !== undefined) line += procedureText(scope.procedure);
    if (scope.context.trace_id !== undefined) line += spanText(scope);
  }
  return `${line}${fieldsText}}`;
}

/**
 * The same line for fields that replace what the line writes before them: the context's and the
 * procedure's values are gathered in order, a field takes its key's place, and the line's own
 * three keys stay first and are not replaced (a Map keeps that order; an object would put a
 * field named like an integer, `"0"`, before them).
 */
function mergedLine(head: LineHead, scope: Readonly<Scope> | undefined, safe: Record<string, unknown>): string {
  const values = new Map<string, unknown>();
  if (scope) {
    for (const key of CONTEXT_KEYS) {
      values.set(key, scope.context[key]);
      if (key === 'request_id' && scope.context.trace_id !== undefined) values.set('trace_id', scope.context.trace_id);
    }
    if (scope.procedure !== undefined) values.set('procedure', scope.procedure);
    if (scope.context.trace_id !== undefined) values.set('span_id', scope.span_id ?? scope.context.span_id);
  }
  for (const key in safe) {
    if (!RESERVED.has(key)) values.set(key, safe[key]);
  }
  let line = lineHead(head);
  for (const [key, value] of values) {
    const json = jsonValue(value);
    if (json !== undefined) line += fieldKey(key).text + json;
  }
  return `${line}}`;
}
