import { REDACTED, isSecretKey, redact } from './redact.ts';

/**
 * Finds which `$n` placeholders of a Kysely-compiled statement are bound to secret columns
 * (`password_hash`, `token_hash` …), so a SQL log line never carries a hash or a token.
 * Kysely quotes identifiers, so `"col" = $3`, `insert into "t" ("a", "b") values ($1, $2)` and
 * `select $3 as "col"` are the shapes to read.
 */
function secretPlaceholders(text: string): Set<number> {
  const secret = new Set<number>();
  // `"col" = $3`, or every placeholder of `"col" in ($3, $4)`.
  for (const match of text.matchAll(/"([a-z0-9_]+)"\s*(?:(?:=|<>|!=)\s*(\$\d+)|(?:not\s+)?in\s*\(([^)]*)\))/gi)) {
    if (!isSecretKey(match[1] ?? '')) continue;
    for (const placeholder of (match[2] ?? match[3] ?? '').matchAll(/\$(\d+)/g)) secret.add(Number(placeholder[1]));
  }
  // `$3 as "token_hash"`: a value selected under a secret column's name (`insert … select`).
  for (const match of text.matchAll(/\$(\d+)\s+as\s+"([a-z0-9_]+)"/gi)) {
    if (isSecretKey(match[2] ?? '')) secret.add(Number(match[1]));
  }
  const insert = /insert\s+into\s+"[^"]+"\s*\(([^)]*)\)\s*values\s*(.*)$/is.exec(text);
  if (insert) {
    const columns = [...(insert[1] ?? '').matchAll(/"([^"]+)"/g)].map((column) => column[1] ?? '');
    for (const tuple of (insert[2] ?? '').matchAll(/\(([^()]*)\)/g)) {
      const placeholders = (tuple[1] ?? '').split(',').map((item) => item.trim());
      placeholders.forEach((placeholder, index) => {
        const column = columns[index];
        const number = /^\$(\d+)$/.exec(placeholder)?.[1];
        if (column && number && isSecretKey(column)) secret.add(Number(number));
      });
    }
  }
  return secret;
}

export function redactSqlParameters(text: string, parameters: readonly unknown[]): unknown[] {
  if (parameters.length === 0) return [];
  const secret = secretPlaceholders(text);
  return parameters.map((value, index) => (secret.has(index + 1) ? REDACTED : redact(value)));
}
