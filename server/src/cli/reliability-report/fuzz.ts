import type { Input } from './inputs.ts';
import { num } from './json.ts';
import { held, show, table } from './markdown.ts';
import { notMeasured, paragraphs, source, type Section } from './section.ts';

const TITLE = 'Bad input: fuzzing';
const AREA = 'Bad input (fuzzing)';

export function fuzzSection(input: Input): Section {
  if (input.data === undefined) return notMeasured(input, { title: TITLE, area: AREA });
  const figures = input.data;
  const rest = num(figures, 'rest');
  const trpc = num(figures, 'trpc');
  const operations = num(figures, 'operations');
  const failures = num(figures, 'failures');
  const total = rest === undefined && trpc === undefined ? undefined : (rest ?? 0) + (trpc ?? 0);
  return {
    title: TITLE,
    summary: {
      area: AREA,
      tried: `${show(total)} inputs (${show(rest)} REST, ${show(trpc)} tRPC) to ${show(operations)} operations`,
      held: held(failures === undefined ? undefined : failures === 0, `${show(failures)} failures`),
    },
    body: paragraphs(
      'Property-based fuzzing (fast-check) of every operation in `openapi.json`, over REST and tRPC, as an ' +
        'admin and as a customer, with adversarial values per field (wrong types, huge and empty strings, ' +
        'unicode, nulls, unknown and prototype keys, SQL and log-injection strings, deep nesting), plus ' +
        'malformed JSON, wrong content types and methods, unknown routes, long URLs, oversized bodies and ' +
        'batches. The rule: every answer is a 4xx with the error envelope, in time (never a 5xx, never a ' +
        'hang), and no row changes.',
      table(
        ['protocol', 'inputs tried'],
        [
          ['REST', show(rest)],
          ['tRPC', show(trpc)],
          ['total', show(total)],
        ],
      ),
      `Operations fuzzed: ${show(operations)}. Inputs that broke the rule: ${show(failures)}.`,
      source(input),
    ),
  };
}
