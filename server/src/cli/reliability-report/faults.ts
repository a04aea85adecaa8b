import type { Input } from './inputs.ts';
import { bool, counts, list, num, record, text } from './json.ts';
import { held, show, table, tally } from './markdown.ts';
import { notMeasured, paragraphs, source, type Section } from './section.ts';

const TITLE = 'Faults: the database cut off in the middle of order flows';
const AREA = 'Database faults';
const LISTED_ORDERS = 15;

/** An answer while the database was gone that is neither an outcome nor "retry later". */
function badAnswer(label: string): boolean {
  return label === 'no answer' || (/^5\d\d/.test(label) && !label.startsWith('503 DATABASE_UNAVAILABLE'));
}

export function faultsSection(input: Input): Section {
  const figures = input.data;
  if (figures === undefined) return notMeasured(input, { title: TITLE, area: AREA });
  if (bool(figures, 'measured') === false) {
    const why = text(figures, 'skipped_reason');
    return notMeasured(input, {
      title: TITLE,
      area: AREA,
      reason: `the fault tests were skipped${why ? ` (${why})` : ''}`,
    });
  }
  const faults = counts(figures, 'faults');
  const injected = faults.reduce((sum, [, count]) => sum + count, 0);
  const survived = num(figures, 'faults_survived');
  const during = counts(figures, 'statuses_during_faults');
  const inconsistencies = num(figures, 'inconsistencies');
  const ordersChecked = num(figures, 'orders_checked');
  const maxLatency = num(figures, 'max_latency_ms_during_faults');
  const ok =
    inconsistencies === undefined
      ? undefined
      : inconsistencies === 0 && !during.some(([label]) => badAnswer(label)) && (survived ?? injected) === injected;
  const unexplained = list(figures, 'orders_without_client_id').map((entry) => record(entry) ?? {});
  const scenarios = list(figures, 'scenarios').map((entry) => record(entry) ?? {});
  return {
    title: TITLE,
    summary: {
      area: AREA,
      tried: `${show(injected)} faults (${tally(faults)}), ${show(num(figures, 'requests_during_faults'))} requests during them`,
      held: held(
        ok,
        `${show(survived)} survived without a restart, ${show(inconsistencies)} inconsistencies in ${show(ordersChecked)} orders, slowest answer while cut ${show(maxLatency, ' ms')}`,
      ),
    },
    body: paragraphs(
      'The app reaches PostgreSQL through a TCP proxy in the test process, which cuts every connection (and ' +
        'refuses new ones) while orders are in flight: a charge held at the payment gateway while the ' +
        'connection goes, and a burst of concurrent orders over both protocols through a cut. Afterwards the ' +
        'database must agree with every answer the clients got and with what the gateway charged: every order ' +
        'a client was told about exists once, every other order is explained, a retry with the same ' +
        'Idempotency-Key makes no second order, stock equals its initial amount minus what pending and paid ' +
        'orders hold, and payments match order statuses.',
      table(
        ['figure', 'value'],
        [
          ['faults injected', `${show(injected)} (${tally(faults)})`],
          ['survived without a restart', show(survived)],
          ['requests during the faults', show(num(figures, 'requests_during_faults'))],
          ['answers during the faults', tally(during)],
          ['slowest answer during the faults', show(maxLatency, ' ms')],
          ['requests retried after restore', show(num(figures, 'requests_retried_after_restore'))],
          ['answers to the retries', tally(counts(figures, 'statuses_after_restore'))],
          ['orders checked', show(ordersChecked)],
          ['**inconsistencies found**', show(inconsistencies)],
        ],
      ),
      scenarios.length > 0 && '### Scenarios',
      table(
        ['scenario', 'requests', 'orders', 'answers'],
        scenarios.map((scenario) => [
          text(scenario, 'name') ?? '?',
          show(num(scenario, 'requests')),
          show(num(scenario, 'orders')),
          tally(counts(scenario, 'statuses')),
        ]),
      ),
      unexplained.length > 0 && '### Orders written while their request failed',
      unexplained.length > 0 &&
        'Orders no client was given the id of, other than declined ones (whose 402 names no order), each with the request that explains it:',
      table(
        ['order', 'status then', 'status in the end', 'explained by'],
        unexplained
          .slice(0, LISTED_ORDERS)
          .map((entry) => [
            `\`${text(entry, 'order_id') ?? '?'}\``,
            text(entry, 'status') ?? '',
            text(entry, 'status_in_the_end') ?? '',
            text(entry, 'explained_by') ?? '',
          ]),
      ),
      unexplained.length > LISTED_ORDERS &&
        `… and ${show(unexplained.length - LISTED_ORDERS)} more, in \`${input.file}\`.`,
      source(input),
    ),
  };
}
