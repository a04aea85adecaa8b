import type { Input } from './inputs.ts';
import { bool, counts, num, record, text } from './json.ts';
import { held, show, table, tally } from './markdown.ts';
import { notMeasured, paragraphs, source, type Section } from './section.ts';

const TITLE = 'Deployed shape: PgBouncer, three instances, HAProxy';
const AREA = 'Cluster';

/** What each scenario of `pnpm test:cluster` tried, in the order the issue lists them. */
const SCENARIOS: Record<string, string> = {
  stock_race: '200 concurrent orders for a product with stock 50, through HAProxy',
  idempotency_across_instances: 'one Idempotency-Key sent to two instances at once, 20 times',
  refresh_reuse_across_instances: 'a refresh token rotated on one instance, reused on another',
  login_rate_limit_across_instances: '15 failed logins for one email, round robin over the instances',
  rolling_restart: 'rolling restart under load: each instance drained in HAProxy, SIGTERMed, replaced',
  instance_killed: 'one instance SIGKILLed under load, then replaced',
};

function outcome(name: string, figures: Record<string, unknown>): string {
  const answers = tally(counts(figures, 'answers'));
  switch (name) {
    case 'stock_race':
      return `${answers}; paid ${show(num(figures, 'paid_orders'))}, stock left ${show(num(figures, 'stock_left'))}`;
    case 'idempotency_across_instances':
      return `same order to both ${show(num(figures, 'both_answered_the_same_order'))} of ${show(num(figures, 'rounds'))} times; orders made ${show(num(figures, 'orders_in_database'))}`;
    case 'refresh_reuse_across_instances':
      return `reuse answered ${show(num(figures, 'reuse_answer'))}, its successor ${show(num(figures, 'successor_answer'))}; live tokens left ${show(num(figures, 'live_tokens_left'))}`;
    case 'login_rate_limit_across_instances':
      return `${answers}; first refused: attempt ${show(num(figures, 'first_refused_attempt'))}`;
    default: {
      const explanation = text(figures, 'explanation');
      const agrees = bool(figures, 'database_agrees');
      return [
        answers,
        explanation ? `failed requests: ${explanation}` : undefined,
        agrees === undefined ? undefined : `database agrees with clients: ${agrees ? 'yes' : 'no'}`,
        num(figures, 'orders_told_paid') === undefined
          ? undefined
          : `orders told paid ${show(num(figures, 'orders_told_paid'))}, in the database ${show(num(figures, 'orders_in_database'))}`,
        tally(counts(figures, 'failed_placements')) === 'none'
          ? undefined
          : `failed placements in the database: ${tally(counts(figures, 'failed_placements'))}`,
      ]
        .filter(Boolean)
        .join('; ');
    }
  }
}

export function clusterSection(input: Input): Section {
  const scenarios = Object.entries(record(input.data) ?? {}).flatMap(([name, value]) => {
    const figures = record(value);
    return figures ? [{ name, figures }] : [];
  });
  if (scenarios.length === 0) return notMeasured(input, { title: TITLE, area: AREA });
  const rows = scenarios.map(({ name, figures }) => {
    const ok = bool(figures, 'passed');
    return [
      SCENARIOS[name] ?? name.replaceAll('_', ' '),
      show(num(figures, 'instances')),
      show(num(figures, 'requests')),
      show(num(figures, 'failed')),
      show(num(figures, 'explained') ?? (num(figures, 'failed') === 0 ? 0 : undefined)),
      outcome(name, figures),
      ok === undefined ? 'n/a' : ok ? 'yes' : '**no**',
    ];
  });
  const total = (field: string) => scenarios.reduce((sum, { figures }) => sum + (num(figures, field) ?? 0), 0);
  const failing = scenarios.filter(({ figures }) => bool(figures, 'passed') === false).length;
  return {
    title: TITLE,
    summary: {
      area: AREA,
      tried: `${show(scenarios.length)} scenarios, ${show(total('requests'))} requests through PgBouncer (transaction mode) and HAProxy`,
      held: held(failing === 0, `${show(total('failed'))} failed, ${show(total('explained'))} explained`),
    },
    body: paragraphs(
      '`pnpm test:cluster` runs the service as it is deployed: PgBouncer in transaction pooling mode in front of ' +
        'PostgreSQL (`deploy/pgbouncer.ini`, no `ignore_startup_parameters`), three instances of the compiled build ' +
        'pointing at it, and HAProxy in front of them with health checks on `/readyz` (`deploy/haproxy.cfg`). A failed ' +
        'request is one that got no answer or a 5xx; an explained one was in flight on an instance as it was killed.',
      table(['scenario', 'instances', 'requests', 'failed', 'explained', 'what was seen', 'held'], rows),
      source(input),
    ),
  };
}
