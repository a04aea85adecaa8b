import type { Input } from './inputs.ts';
import { num, record } from './json.ts';
import { held, show, table } from './markdown.ts';
import { notMeasured, paragraphs, source, type Section } from './section.ts';

const TITLE = 'Payments across crashes';
const AREA = 'SIGKILL while the gateway holds a charge';
const GATEWAYS = ['simulated', 'stripe'] as const;

/** The figures of server/src/payment-crash.test.ts, one part per gateway. */
export function paymentCrashSection(input: Input): Section {
  const parts = GATEWAYS.map((gateway) => [gateway, record(input.data, gateway)] as const).filter(
    (part): part is readonly [(typeof GATEWAYS)[number], Record<string, unknown>] => part[1] !== undefined,
  );
  if (parts.length === 0) return notMeasured(input, { title: TITLE, area: AREA });
  const sum = (field: string) => parts.reduce((total, [, figures]) => total + (num(figures, field) ?? 0), 0);
  const crashes = sum('crashes_injected');
  const checked = sum('orders_checked');
  const bad = sum('lost') + sum('doubled') + sum('stuck') + sum('wrong_status') + sum('stock_not_returned');
  const row = (label: string, field: string, unit = '') => [
    label,
    ...parts.map(([, figures]) => show(num(figures, field), unit)),
  ];
  return {
    title: TITLE,
    summary: {
      area: AREA,
      tried: `${show(crashes)} crashes, ${show(checked)} orders checked (${parts.map(([name]) => name).join(', ')})`,
      held: held(bad === 0, `${show(sum('lost'))} lost, ${show(sum('doubled'))} doubled, ${show(sum('stuck'))} stuck`),
    },
    body: paragraphs(
      'The real server process places orders (two that succeed, one declined) and is killed with SIGKILL while ' +
        'the gateway holds their charges: taken, not yet answered. It is restarted on the same database; its ' +
        'reconciler (PAYMENT_RECONCILE_AFTER_SECONDS=2, PAYMENT_RECONCILE_INTERVAL_SECONDS=1) must settle every ' +
        'order within the grace period plus one interval: paid with exactly one charge kept at the gateway, or ' +
        'payment_failed with its stock back. The Stripe runs use the suite’s Stripe-compatible server.',
      'A charge the gateway takes after its caller timed out (an attempt recorded failed, its order ' +
        'payment_failed) is settled by the same reconciler: refunded, unless the order was paid again under the ' +
        'same key; server/src/services/orders/reconcile.test.ts and stripe-payments.test.ts check it on both gateways.',
      table(
        ['figure', ...parts.map(([name]) => name)],
        [
          row('crashes injected', 'crashes_injected'),
          row('orders checked', 'orders_checked'),
          row('charges that succeeded', 'charges_expected_paid'),
          row('declines', 'declines_expected_failed'),
          row('**lost** (charged, not paid)', 'lost'),
          row('**doubled** (charged twice)', 'doubled'),
          row('**stuck** (still pending_payment)', 'stuck'),
          row('wrong status or charge count', 'wrong_status'),
          row('stock units not given back', 'stock_not_returned'),
          row('slowest settling after a restart', 'max_settle_ms', ' ms'),
          row('allowed (grace + interval + gateway hold + start-up slack)', 'settle_deadline_ms', ' ms'),
        ],
      ),
      source(input),
    ),
  };
}
