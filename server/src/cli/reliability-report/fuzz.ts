import type { Input } from './inputs.ts';
import { num, record, text } from './json.ts';
import { held, show, table } from './markdown.ts';
import { notMeasured, paragraphs, source, type Section } from './section.ts';

const TITLE = 'Bad input: fuzzing';
const AREA = 'Bad input (fuzzing)';

/** The kinds of input the fuzzer sends, as the test names them, in the report's words. */
const KINDS: [name: string, label: string][] = [
  ['unknown_key', 'bad values and an unknown key'],
  ['long_key', 'a 10-100 KB unknown key of pattern text'],
  ['hostile_text', 'a valid input with NUL or an unpaired surrogate in one text field'],
  ['long_path', 'a 10 KB path of pattern text'],
];

/** The event loop's figures: the budget, and the longest hold a batch of requests made. */
function eventLoop(figures: unknown) {
  const loop = record(figures, 'event_loop');
  return {
    budget: num(loop, 'budget_ms'),
    longest: num(loop, 'longest_hold_ms'),
    during: text(loop, 'longest_hold_while'),
    concurrency: num(loop, 'concurrency'),
  };
}

export function fuzzSection(input: Input): Section {
  if (input.data === undefined) return notMeasured(input, { title: TITLE, area: AREA });
  const figures = input.data;
  const rest = num(figures, 'rest');
  const trpc = num(figures, 'trpc');
  const operations = num(figures, 'operations');
  const failures = num(figures, 'failures');
  const total = rest === undefined && trpc === undefined ? undefined : (rest ?? 0) + (trpc ?? 0);
  const loop = eventLoop(figures);
  const withinBudget = loop.longest === undefined || loop.budget === undefined ? undefined : loop.longest < loop.budget;
  const kindRows = KINDS.map(([name, label]) => [
    label,
    show(num(figures, `kinds.rest.${name}`)),
    show(num(figures, `kinds.trpc.${name}`)),
  ]);
  return {
    title: TITLE,
    summary: {
      area: AREA,
      tried: `${show(total)} inputs (${show(rest)} REST, ${show(trpc)} tRPC) to ${show(operations)} operations`,
      held: held(
        failures === undefined ? undefined : failures === 0 && withinBudget !== false,
        `${show(failures)} failures` +
          (loop.longest === undefined ? '' : `, longest event-loop hold ${show(loop.longest, ' ms')}`),
      ),
    },
    body: paragraphs(
      'Property-based fuzzing (fast-check) of every operation in `openapi.json`, over REST and tRPC, as an ' +
        'admin and as a customer, with adversarial values per field (wrong types, huge and empty strings, ' +
        'unicode, nulls, unknown and prototype keys, SQL and log-injection strings, deep nesting), unknown keys ' +
        'and paths of 10-100 KB of text shaped to make a pattern backtrack (`eyJ`, `Bearer `, `$argon2` ' +
        'repeated), valid inputs with one text field holding a code point PostgreSQL cannot store (NUL, an ' +
        'unpaired surrogate), plus malformed JSON, wrong content types and methods, unknown routes, long URLs, ' +
        'oversized bodies and batches. The rule: every answer is a 4xx with the error envelope, in time (never ' +
        'a 5xx, never a hang), no row changes, and no request holds the event loop past the budget (the app ' +
        'runs in the test process; a hold is how late a 5 ms timer was, at most the CPU time spent meanwhile).',
      table(
        ['protocol', 'inputs tried'],
        [
          ['REST', show(rest)],
          ['tRPC', show(trpc)],
          ['total', show(total)],
        ],
      ),
      record(figures, 'kinds') !== undefined && table(['kind of input', 'REST', 'tRPC'], kindRows),
      `Operations fuzzed: ${show(operations)}. Inputs that broke the rule: ${show(failures)}.`,
      loop.longest !== undefined &&
        `Longest event-loop hold: ${show(loop.longest, ' ms')} (budget ${show(loop.budget, ' ms')}), while ` +
          `answering ${loop.during ?? 'n/a'}, ${show(loop.concurrency)} requests at a time.`,
      source(input),
    ),
  };
}
