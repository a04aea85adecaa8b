import { createHash } from 'node:crypto';

/**
 * The suite-wide log audit: scans log text for the secrets the tests handled (exact
 * values) and for secret-shaped strings whoever made them (JWTs, argon2 hashes, Bearer
 * credentials), and checks every `http_request` line against the log contract.
 */

/** Most specific first: a value recorded under two kinds is reported under the first. */
export const SECRET_KINDS = [
  'password_hash',
  'access_token',
  'refresh_token',
  'refresh_token_digest',
  'account_token',
  'account_token_digest',
  'signing_secret',
  'stripe_secret_key',
  'stripe_webhook_secret',
  'password',
  'bearer_token',
] as const;
export type SecretKind = (typeof SECRET_KINDS)[number];

export interface TrackedSecret {
  kind: SecretKind;
  value: string;
}

/**
 * Shorter values are not tracked: a 3-character "password" occurs in any log by chance.
 * Every password the API accepts has at least 12 characters.
 */
export const MIN_SECRET_LENGTH = 8;

/** What a line must carry besides level, timestamp and event (DESIGN.md, logging contract). */
export const HTTP_REQUEST_FIELDS = ['method', 'path', 'status', 'latency_ms', 'ip', 'request_id', 'user_id'] as const;
const LINE_FIELDS = ['level', 'timestamp', 'event'] as const;
/** `user_id` is null for anonymous requests; every other field has a value. */
const NULLABLE_FIELDS = new Set<string>(['user_id']);

/** Secrets nobody recorded still have a shape. `[REDACTED]` never matches any of them. */
export const SECRET_SHAPES = {
  jwt: /eyJ[A-Za-z0-9_-]{2,}\.eyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*/,
  argon2_hash: /\$argon2(?:id|i|d)\$/,
  // A credential, not prose ("Bearer authentication"): at least one digit or punctuation mark.
  bearer_credential: /\bBearer\s+(?=[A-Za-z]*[0-9\-._~+/])[A-Za-z0-9\-._~+/]{8,}/,
  // Stripe's secret and restricted keys, and webhook signing secrets; publishable keys are public.
  stripe_key: /\b(?:sk|rk)_(?:test|live)_[A-Za-z0-9]{8,}/,
  stripe_webhook_secret: /\bwhsec_[A-Za-z0-9+/=]{8,}/,
} as const;
export type SecretShape = keyof typeof SECRET_SHAPES;

export interface Finding {
  source: string;
  /** 1-based line number within the source. */
  line: number;
  event: string | undefined;
  /** A tracked secret's kind, or the shape that matched. */
  found: SecretKind | SecretShape;
  /** The start of the value, never the whole of it: the report must not leak it either. */
  preview: string;
}

export interface ContractViolation {
  source: string;
  line: number;
  event: string | undefined;
  missing: string[];
}

export interface AuditReport {
  passed: boolean;
  files: number;
  lines_audited: number;
  lines_not_json: number;
  http_request_lines: number;
  secrets_tracked: Record<SecretKind, number> & { total: number };
  /** Values recorded but too short to search for without false alarms. */
  secrets_too_short_to_track: number;
  secrets_found: number;
  found_by_kind: Partial<Record<SecretKind | SecretShape, number>>;
  lines_missing_contract_fields: number;
  findings: Finding[];
  contract_violations: ContractViolation[];
  not_json_examples: { source: string; line: number; preview: string }[];
}

const EXAMPLES_KEPT = 25;
const WINDOW = 8;
const BASE = 0x01000193;
/** BASE^(WINDOW-1) in 32-bit arithmetic: what the character leaving the window weighed. */
const LEAVING_WEIGHT = Array.from({ length: WINDOW - 1 }).reduce<number>((power) => Math.imul(power, BASE), 1);

function windowHash(text: string, start: number): number {
  let hash = 0;
  for (let offset = 0; offset < WINDOW; offset++) hash = (Math.imul(hash, BASE) + text.charCodeAt(start + offset)) | 0;
  return hash;
}

function preview(value: string): string {
  return `${value.slice(0, 4)}… (${value.length} chars)`;
}

interface Pattern {
  text: string;
  kind: SecretKind;
}

/**
 * Every tracked value and what it looks like inside a JSON line: a `"` or `\` in a password
 * is escaped there. A refresh token's stored digest is tracked with the token.
 */
function patternsOf(secrets: Iterable<TrackedSecret>) {
  const rank = (kind: SecretKind) => SECRET_KINDS.indexOf(kind);
  const byValue = new Map<string, SecretKind>();
  let tooShort = 0;
  const add = (kind: SecretKind, value: string) => {
    if (value.length < MIN_SECRET_LENGTH) {
      tooShort += 1;
      return;
    }
    const known = byValue.get(value);
    if (known === undefined || rank(kind) < rank(known)) byValue.set(value, kind);
  };
  for (const { kind, value } of secrets) {
    add(kind, value);
    if (kind === 'refresh_token') add('refresh_token_digest', createHash('sha256').update(value).digest('hex'));
  }
  const counts = Object.fromEntries(SECRET_KINDS.map((kind) => [kind, 0])) as Record<SecretKind, number>;
  const patterns: Pattern[] = [];
  for (const [value, kind] of byValue) {
    counts[kind] += 1;
    patterns.push({ text: value, kind });
    const escaped = JSON.stringify(value).slice(1, -1);
    if (escaped !== value) patterns.push({ text: escaped, kind });
  }
  return { patterns, counts, tooShort, total: byValue.size };
}

/**
 * Rabin-Karp over an 8-character window: one pass over the text finds every tracked value,
 * however many thousands there are (a substring search per value would not finish in time).
 */
function createSecretMatcher(patterns: Pattern[]) {
  const byHash = new Map<number, Pattern[]>();
  for (const pattern of patterns) {
    const hash = windowHash(pattern.text, 0);
    const bucket = byHash.get(hash);
    if (bucket) bucket.push(pattern);
    else byHash.set(hash, [pattern]);
  }
  return (text: string): Pattern[] => {
    const found: Pattern[] = [];
    if (byHash.size === 0 || text.length < WINDOW) return found;
    let hash = windowHash(text, 0);
    for (let start = 0; ; start++) {
      const bucket = byHash.get(hash);
      if (bucket) for (const pattern of bucket) if (text.startsWith(pattern.text, start)) found.push(pattern);
      const next = start + WINDOW;
      if (next >= text.length) return found;
      hash = (Math.imul(hash - Math.imul(text.charCodeAt(start), LEAVING_WEIGHT), BASE) + text.charCodeAt(next)) | 0;
    }
  };
}

function missingFields(line: Record<string, unknown>): string[] {
  const required: readonly string[] =
    line.event === 'http_request' ? [...LINE_FIELDS, ...HTTP_REQUEST_FIELDS] : LINE_FIELDS;
  return required.filter((field) => {
    const value = line[field];
    return value === undefined || (value === null && !NULLABLE_FIELDS.has(field));
  });
}

export function createLogAudit(secrets: Iterable<TrackedSecret>) {
  const { patterns, counts, tooShort, total } = patternsOf(secrets);
  const findSecrets = createSecretMatcher(patterns);
  const report: AuditReport = {
    passed: true,
    files: 0,
    lines_audited: 0,
    lines_not_json: 0,
    http_request_lines: 0,
    secrets_tracked: { ...counts, total },
    secrets_too_short_to_track: tooShort,
    secrets_found: 0,
    found_by_kind: {},
    lines_missing_contract_fields: 0,
    findings: [],
    contract_violations: [],
    not_json_examples: [],
  };

  const found = (finding: Finding) => {
    report.secrets_found += 1;
    report.found_by_kind[finding.found] = (report.found_by_kind[finding.found] ?? 0) + 1;
    if (report.findings.length < EXAMPLES_KEPT) report.findings.push(finding);
  };

  function auditLine(source: string, lineNumber: number, text: string): void {
    report.lines_audited += 1;
    let parsed: Record<string, unknown> | undefined;
    try {
      const value: unknown = JSON.parse(text);
      if (value !== null && typeof value === 'object' && !Array.isArray(value))
        parsed = value as Record<string, unknown>;
    } catch {
      // counted below
    }
    const event = typeof parsed?.event === 'string' ? parsed.event : undefined;
    const where = { source, line: lineNumber, event };
    for (const pattern of findSecrets(text)) found({ ...where, found: pattern.kind, preview: preview(pattern.text) });
    for (const [shape, regex] of Object.entries(SECRET_SHAPES) as [SecretShape, RegExp][]) {
      const match = regex.exec(text);
      if (match) found({ ...where, found: shape, preview: preview(match[0]) });
    }
    if (!parsed) {
      report.lines_not_json += 1;
      if (report.not_json_examples.length < EXAMPLES_KEPT)
        report.not_json_examples.push({ source, line: lineNumber, preview: preview(text) });
      return;
    }
    if (event === 'http_request') report.http_request_lines += 1;
    const missing = missingFields(parsed);
    if (missing.length > 0) {
      report.lines_missing_contract_fields += 1;
      if (report.contract_violations.length < EXAMPLES_KEPT) report.contract_violations.push({ ...where, missing });
    }
  }

  const sources = new Set<string>();
  return {
    /**
     * Audits text of one source, one JSON log line per line; a large file comes in pieces
     * cut at line ends, `firstLine` numbering each piece's lines where the last one stopped.
     * Returns the number of lines the text held.
     */
    auditText(source: string, text: string, firstLine = 1): number {
      if (!sources.has(source)) {
        sources.add(source);
        report.files += 1;
      }
      const lines = text.split('\n');
      if (lines.at(-1) === '') lines.pop();
      for (const [index, line] of lines.entries()) if (line !== '') auditLine(source, firstLine + index, line);
      return lines.length;
    },
    report(): AuditReport {
      report.passed =
        report.secrets_found === 0 && report.lines_missing_contract_fields === 0 && report.lines_not_json === 0;
      return report;
    },
  };
}
