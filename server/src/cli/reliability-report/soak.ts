import type { Input } from './inputs.ts';
import { counts, list, num, record, text } from './json.ts';
import { held, show, table, tally } from './markdown.ts';
import { notMeasured, paragraphs, source, type Section } from './section.ts';

const TITLE = 'Soak';
const AREA = 'Soak (`pnpm test:soak`)';

export function soakSection(input: Input): Section {
  const figures = input.data;
  if (figures === undefined) return notMeasured(input, { title: TITLE, area: AREA });
  const seconds = num(figures, 'config.seconds');
  const rate = num(figures, 'config.rate_per_second');
  const total = num(figures, 'requests.total');
  const unexpected = num(figures, 'requests.unexpected');
  const errorRate = num(figures, 'requests.error_rate');
  const problems = list(figures, 'consistency.problems');
  const exitCode = num(figures, 'server.exit_code');
  const p50 = num(figures, 'latency_ms.p50');
  const p99 = num(figures, 'latency_ms.p99');
  const rss = (field: string) => show(num(figures, `rss_mib.${field}`), ' MiB');
  const ok = unexpected === undefined ? undefined : unexpected === 0 && problems.length === 0 && exitCode === 0;
  const byKind = Object.entries(record(figures, 'requests.by_kind') ?? {}).map(([kind, value]) => [
    kind,
    show(num(value, 'count')),
    tally(counts(value, 'statuses')),
    show(num(value, 'latency_ms.p50')),
    show(num(value, 'latency_ms.p99')),
    show(num(value, 'unexpected')),
  ]);
  const minutes = seconds === undefined ? 'n/a' : seconds % 60 === 0 ? `${seconds / 60} min` : `${seconds} s`;
  return {
    title: TITLE,
    summary: {
      area: AREA,
      tried: `${minutes} of mixed traffic at ${show(rate)} operations/s: ${show(total)} requests`,
      held: held(
        ok,
        `error rate ${show(errorRate)}, p99 ${show(p99, ' ms')}, RSS ${rss('start')} → ${rss('end')}, ${show(problems.length)} consistency problems`,
      ),
    },
    body: paragraphs(
      `The server as production runs it (${text(figures, 'config.server') ?? 'NODE_ENV=production'}), on a fresh ` +
        'PostgreSQL database, under mixed traffic at a fixed rate from simulated customers: browsing, ' +
        'ordering, paying, cancelling (refunds), signing in, and failed authentication. Not part of `pnpm test` ' +
        'or CI; these figures are from its last run, kept in `docs/reliability/soak-latest.json`.',
      table(
        ['figure', 'value'],
        [
          ['measured', text(figures, 'measured_at') ?? 'n/a'],
          ['duration', minutes],
          ['rate', `${show(rate)} operations/s (${show(num(figures, 'requests.per_second'))} requests/s achieved)`],
          ['customers', show(num(figures, 'config.customers'))],
          ['simulated gateway latency', show(num(figures, 'config.gateway_latency_ms'), ' ms')],
          ['requests', show(total)],
          ['**unexpected answers**', `${show(unexpected)} (error rate ${show(errorRate)})`],
          ['latency p50 / p99 / max', `${show(p50)} / ${show(p99)} / ${show(num(figures, 'latency_ms.max'))} ms`],
          ['RSS start / end / peak', `${rss('start')} / ${rss('end')} / ${rss('peak')}`],
          ['RSS growth (whole run)', rss('growth')],
          [
            `RSS growth after the first ${show(num(figures, 'rss_mib.warmup_seconds'))} s (warm-up)`,
            `${rss('growth_after_warmup')} (trend ${show(num(figures, 'rss_mib.trend_mib_per_minute_after_warmup'))} MiB/min)`,
          ],
          ['orders checked at the end', show(num(figures, 'consistency.orders_checked'))],
          ['**consistency problems**', show(problems.length)],
          ['server exit code after SIGTERM', show(exitCode)],
          [
            'server log lines (ERROR by event)',
            `${show(num(figures, 'server.log_lines'))} (${tally(counts(figures, 'server.error_events'))})`,
          ],
          ['unhandled exceptions logged', show(num(figures, 'server.unhandled_exceptions'))],
        ],
      ),
      text(figures, 'requests.expected_refusals_note'),
      table(['kind', 'requests', 'answers', 'p50 ms', 'p99 ms', 'unexpected'], byKind),
      text(figures, 'consistency.rules') && `Checked at the end: ${text(figures, 'consistency.rules')}.`,
      problems.length > 0 && `Problems: ${problems.slice(0, 10).map(String).join('; ')}.`,
      source(input),
    ),
  };
}
