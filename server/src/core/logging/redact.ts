/**
 * Makes any value safe to log: secrets replaced by `[REDACTED]`, cycles, depth and size
 * bounded, errors turned into plain objects with their stack and cause chain. Never throws.
 */

export const REDACTED = '[REDACTED]';

/**
 * Keys whose values are secrets, at any depth: a key that starts with password/secret
 * (`password_confirmation`), or ends with a secret's name (`accessToken`, `password_hash`,
 * `Authorization`, `set-cookie`, `creditCard`). `tokenType` or `accessTokenTtl` are not secrets.
 */
const SECRET_KEY =
  /^(pass(word|wd|phrase)|secret)|(pass(word|wd|phrase)|secret|token|authori[sz]ation|cookie|api[-_]?key|private[-_]?key|credentials?|hash|cvc|cvv|card|card[-_]?number|pin)$/i;

/**
 * A JWT anywhere in a string (three base64url parts, the first a JSON header), from the first
 * `eyJ` of a run of base64url characters (`%20eyJ…` and `xeyJ…` included).
 *
 * Linear in the text's length: a match may only start where a run starts (the lookbehind), and
 * the run's text up to its first `eyJ` is taken by a lookahead, which never backtracks (what
 * an atomic group does in other engines), then restored by the replacement (`$1`). Searching
 * for `eyJ` at every position instead (`/eyJ[…]{5,}\.…/`) reads the rest of the run again
 * from each one: quadratic, seconds for a text of `eyJ` repeated. A later `eyJ` of the same
 * run matches only where the first one does (it has less of the run after it), so nothing is
 * missed.
 */
const JWT_PATTERN =
  /(?<![A-Za-z0-9_-])(?=([A-Za-z0-9_-]*?)eyJ)\1eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g;
/** An Authorization-style credential inside free text: `Bearer abc…`, `Basic abc…`. */
const SCHEME_CREDENTIAL = /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi;
/** Whether a text may hold such a credential (a cheap test before the replace). */
const SCHEME_WORD = /bearer|basic/i;
/** An argon2 or bcrypt password hash. */
const PASSWORD_HASH = /^\$(argon2(id|i|d)|2[aby])\$/;

export interface RedactLimits {
  maxDepth: number;
  maxStringLength: number;
  maxArrayItems: number;
  maxObjectKeys: number;
}

export const DEFAULT_LIMITS: RedactLimits = {
  maxDepth: 8,
  maxStringLength: 4_000,
  maxArrayItems: 50,
  maxObjectKeys: 100,
};

/**
 * Keys repeat from line to line: each is tested against the pattern once (bounded, for odd
 * callers). A key longer than any the code names is a client's (a logged input's) and is not
 * kept: the first 2,000 such keys would otherwise stay in memory for good, however long.
 */
const secretKeyCache = new Map<string, boolean>();
const SECRET_KEY_CACHE_SIZE = 2_000;
const CACHED_KEY_MAX_LENGTH = 100;

export function isSecretKey(key: string): boolean {
  let secret = secretKeyCache.get(key);
  if (secret === undefined) {
    secret = SECRET_KEY.test(key);
    if (secretKeyCache.size < SECRET_KEY_CACHE_SIZE && key.length <= CACHED_KEY_MAX_LENGTH) {
      secretKeyCache.set(key, secret);
    }
  }
  return secret;
}

/**
 * Whether a text may hold any of the above (one test, for the usual short plain value): a
 * leading `$argon2`/`$2a$`-style prefix, `eyJ` (in any case), `bearer` or `basic`.
 */
const MAY_HOLD_SECRET = /^\$(?:argon2|2[aby]\$)|eyJ|bearer|basic/i;

/**
 * How far past the length kept a long text is still read for secrets: a token that starts
 * before the cut is seen whole (and replaced) if it ends within this many characters after it.
 */
const SCAN_PAST_CUT = 4_096;

export function redactString(text: string, limits: RedactLimits = DEFAULT_LIMITS): string {
  if (text.length <= limits.maxStringLength && !MAY_HOLD_SECRET.test(text)) return text;
  if (PASSWORD_HASH.test(text)) return REDACTED;
  // Only what can be kept is read: the patterns are linear, but a megabyte would still cost
  // milliseconds per line for text that is cut off anyway.
  const scanned = text.length - limits.maxStringLength > SCAN_PAST_CUT;
  let safe = scanned ? text.slice(0, limits.maxStringLength + SCAN_PAST_CUT) : text;
  if (safe.includes('eyJ')) safe = safe.replace(JWT_PATTERN, `$1${REDACTED}`);
  if (SCHEME_WORD.test(safe)) safe = safe.replace(SCHEME_CREDENTIAL, `$1 ${REDACTED}`);
  const length = safe.length + (scanned ? text.length - limits.maxStringLength - SCAN_PAST_CUT : 0);
  if (length > limits.maxStringLength) {
    safe = `${safe.slice(0, limits.maxStringLength)}…[truncated ${length - limits.maxStringLength} chars]`;
  }
  return safe;
}

function errorToObject(error: Error): Record<string, unknown> {
  const plain: Record<string, unknown> = { name: error.name, message: error.message, stack: error.stack };
  for (const [key, value] of Object.entries(error)) plain[key] ??= value;
  if (error.cause !== undefined) plain.cause = error.cause;
  return plain;
}

/** A value `redact` returns as it is, without a walk: null, a number, a boolean, undefined, or a text without secrets. */
export function isSafeScalar(value: unknown): boolean {
  switch (typeof value) {
    case 'string':
      return redactString(value) === value;
    case 'number':
    case 'boolean':
    case 'undefined':
      return true;
    case 'object':
      return value === null;
    case 'bigint':
    case 'function':
    case 'symbol':
      return false;
  }
}

export function redact(value: unknown, limits: RedactLimits = DEFAULT_LIMITS): unknown {
  const seen = new WeakSet<object>();

  const walk = (current: unknown, depth: number): unknown => {
    switch (typeof current) {
      case 'string':
        return redactString(current, limits);
      case 'number':
      case 'boolean':
      case 'undefined':
        return current;
      case 'bigint':
        return current.toString();
      case 'symbol':
        return current.toString();
      case 'function':
        return `[Function ${current.name || 'anonymous'}]`;
      case 'object':
        break;
    }
    if (current === null) return null;
    const object = current;
    if (seen.has(object)) return '[Circular]';
    if (depth >= limits.maxDepth) return '[Truncated: too deep]';
    if (object instanceof Date) return Number.isNaN(object.getTime()) ? 'Invalid Date' : object.toISOString();
    if (Buffer.isBuffer(object)) return `[Buffer ${object.length} bytes]`;
    if (object instanceof URL) return redactString(object.toString(), limits);
    seen.add(object);
    try {
      if (Array.isArray(object)) {
        const items = object.slice(0, limits.maxArrayItems).map((item) => walk(item, depth + 1));
        if (object.length > limits.maxArrayItems) items.push(`[…${object.length - limits.maxArrayItems} more]`);
        return items;
      }
      if (object instanceof Map) return walk(Object.fromEntries(object), depth);
      if (object instanceof Set) return walk([...object], depth);
      const source = object instanceof Error ? errorToObject(object) : object;
      const result: Record<string, unknown> = {};
      let count = 0;
      for (const key of Object.keys(source)) {
        if (count++ >= limits.maxObjectKeys) {
          result['…'] = `${Object.keys(source).length - limits.maxObjectKeys} more keys`;
          break;
        }
        const child = readProperty(source, key);
        result[key] = isSecretKey(key) && child !== undefined && child !== null ? REDACTED : walk(child, depth + 1);
      }
      return result;
    } finally {
      seen.delete(object);
    }
  };

  return walk(value, 0);
}

/** A getter that throws must not break logging. */
function readProperty(source: object, key: string): unknown {
  try {
    return (source as Record<string, unknown>)[key];
  } catch (error) {
    return `[Unreadable: ${error instanceof Error ? error.message : 'getter threw'}]`;
  }
}
