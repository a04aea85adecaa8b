import { ORDER_STATUSES } from '@orders/shared';
import { describe, expect, it } from 'vitest';
import { AppError } from '../../core/errors.ts';
import type { OrderStatus } from '../../models/index.ts';
import {
  INITIAL_STATUS,
  TRANSITIONS,
  canTransition,
  changedWhilePaying,
  invalidTransition,
  statusesLeadingTo,
} from './state-machine.ts';

/**
 * DESIGN's order states: `pending_payment -> paid -> refunded`, `pending_payment ->
 * payment_failed -> (pay) -> paid` (paying again holds the stock in pending_payment while the
 * charge runs), `pending_payment | payment_failed -> cancelled`.
 */
const ALLOWED: [OrderStatus, OrderStatus][] = [
  ['pending_payment', 'paid'],
  ['pending_payment', 'payment_failed'],
  ['pending_payment', 'cancelled'],
  ['payment_failed', 'pending_payment'],
  ['payment_failed', 'cancelled'],
  ['paid', 'refunded'],
];

const allowed = new Set(ALLOWED.map(([from, to]) => `${from} -> ${to}`));
const REFUSED = ORDER_STATUSES.flatMap((from) =>
  ORDER_STATUSES.map((to): [OrderStatus, OrderStatus] => [from, to]),
).filter(([from, to]) => !allowed.has(`${from} -> ${to}`));

describe('the order state machine', () => {
  it('starts every order in pending_payment and knows every status', () => {
    expect(INITIAL_STATUS).toBe('pending_payment');
    expect(Object.keys(TRANSITIONS).sort()).toEqual([...ORDER_STATUSES].sort());
  });

  it.each(ALLOWED)('allows %s -> %s', (from, to) => {
    expect(canTransition(from, to)).toBe(true);
    expect(statusesLeadingTo(to)).toContain(from);
  });

  it('refuses every other change, staying put included', () => {
    expect(REFUSED).toHaveLength(ORDER_STATUSES.length ** 2 - ALLOWED.length);
    expect(REFUSED).toEqual(
      expect.arrayContaining([
        ['paid', 'paid'],
        ['paid', 'cancelled'],
        ['paid', 'payment_failed'],
        ['payment_failed', 'paid'],
        ['cancelled', 'paid'],
        ['cancelled', 'cancelled'],
        ['refunded', 'cancelled'],
        ['refunded', 'paid'],
        ['pending_payment', 'refunded'],
      ]),
    );
    for (const [from, to] of REFUSED) {
      expect(canTransition(from, to), `${from} -> ${to}`).toBe(false);
      expect(statusesLeadingTo(to), `${from} -> ${to}`).not.toContain(from);
    }
  });

  it('lets nothing leave cancelled or refunded', () => {
    expect(TRANSITIONS.cancelled).toEqual([]);
    expect(TRANSITIONS.refunded).toEqual([]);
  });

  it('names the conditional update of each target: only those statuses may move to it', () => {
    expect(statusesLeadingTo('paid')).toEqual(['pending_payment']);
    expect(statusesLeadingTo('payment_failed')).toEqual(['pending_payment']);
    expect(statusesLeadingTo('pending_payment')).toEqual(['payment_failed']);
    expect(statusesLeadingTo('cancelled').sort()).toEqual(['payment_failed', 'pending_payment']);
    expect(statusesLeadingTo('refunded')).toEqual(['paid']);
  });

  it('refuses with 409 INVALID_STATE_TRANSITION saying the status and what was asked', () => {
    const refusal = invalidTransition({ id: 'ord_X', status: 'refunded' }, 'cancelled');
    expect(refusal).toBeInstanceOf(AppError);
    expect(refusal).toMatchObject({
      code: 'INVALID_STATE_TRANSITION',
      status: 409,
      message: 'Order ord_X is refunded; it cannot be cancelled',
      context: { order_id: 'ord_X', status: 'refunded', action: 'cancelled' },
    });
    expect(changedWhilePaying('ord_Y')).toMatchObject({
      code: 'INVALID_STATE_TRANSITION',
      status: 409,
      message: 'Order ord_Y changed while it was being paid',
    });
  });
});
