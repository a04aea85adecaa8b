/**
 * One request's story from JSON log lines, as a readable timeline (`pnpm logs`): the lines whose
 * `request_id` or `trace_id` is the one asked for, in order, each with its time since the first,
 * what it says in a few words, and a crash's stack in full.
 */

export type Line = Record<string, unknown>;

/** The keys every request line repeats, shown once in the heading rather than on each line. */
const CONTEXT_KEYS = new Set([
  'level',
  'timestamp',
  'event',
  'request_id',
  'trace_id',
  'span_id',
  'method',
  'path',
  'ip',
  'user_id',
  'role',
  'procedure',
]);

const text = (value: unknown) => (typeof value === 'string' ? value : JSON.stringify(value));
const ms = (value: unknown) => (typeof value === 'number' ? `${value} ms` : '');

/** The few words a line says, by event; any other event shows its own fields. */
function summary(line: Line): string {
  switch (line.event) {
    case 'http_request':
      return `${text(line.method)} ${text(line.path)} -> ${text(line.status)} (${ms(line.latency_ms)})`;
    case 'procedure_call':
      return line.ok === true
        ? `${text(line.procedure)} ok (${ms(line.duration_ms)})`
        : `${text(line.procedure)} ${text(line.code)} ${text(line.status)}: ${text(line.reason)} (${ms(line.duration_ms)})${
            line.context === undefined ? '' : ` ${JSON.stringify(line.context)}`
          }`;
    case 'auth_success':
    case 'auth_failure':
      return `${text(line.reason ?? '')}${line.context === undefined ? '' : ` ${JSON.stringify(line.context)}`}`.trim();
    case 'db_query':
      return `${text(line.sql)} ${JSON.stringify(line.params ?? [])} (${ms(line.duration_ms)})`;
    case 'db_transaction':
      return `${text(line.name)} ${text(line.outcome)} (${ms(line.duration_ms)})${
        line.error === undefined ? '' : ` ${JSON.stringify(line.error)}`
      }`;
    default:
      return JSON.stringify(Object.fromEntries(Object.entries(line).filter(([key]) => !CONTEXT_KEYS.has(key))));
  }
}

/** A crash's stack, indented under its line. */
function stackOf(line: Line): string[] {
  const error = line.error as { stack?: unknown } | undefined;
  const stack = typeof error?.stack === 'string' ? error.stack : undefined;
  return stack === undefined ? [] : stack.split('\n').map((frame) => `      ${frame}`);
}

/** The lines of the request (or trace) `id`, in the order they were written. */
export function linesOf(lines: Iterable<Line>, id: string): Line[] {
  const found: Line[] = [];
  for (const line of lines) if (line.request_id === id || line.trace_id === id) found.push(line);
  return found;
}

/** The timeline of `lines` (one request's, or one trace's: several requests, each headed). */
export function storyOf(lines: Line[]): string {
  if (lines.length === 0) return '';
  const start = Date.parse(text(lines[0]?.timestamp));
  const out: string[] = [];
  let request: unknown;
  for (const line of lines) {
    if (line.request_id !== request) {
      request = line.request_id;
      const who = line.user_id ? ` user ${text(line.user_id)} (${text(line.role)})` : '';
      const trace = line.trace_id ? ` trace ${text(line.trace_id)}` : '';
      out.push(`request ${text(request)}: ${text(line.method)} ${text(line.path)} from ${text(line.ip)}${who}${trace}`);
    }
    const offset = Date.parse(text(line.timestamp)) - start;
    const at = `+${Number.isNaN(offset) ? '?' : offset}ms`.padStart(9);
    const level = text(line.level).padEnd(5);
    const where = line.procedure ? ` [${text(line.procedure)}]` : '';
    out.push(`${at} ${level} ${text(line.event)}${where} ${summary(line)}`);
    out.push(...stackOf(line));
  }
  return `${out.join('\n')}\n`;
}
