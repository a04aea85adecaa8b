import type Stripe from 'stripe';

let loading: Promise<typeof Stripe> | undefined;

/**
 * The Stripe SDK, loaded on first call and kept: only a process that charges through Stripe or
 * verifies its webhooks pays for it in memory. The callers start it at boot, when
 * their configuration names Stripe, and await it where they use it.
 */
export function loadStripeSdk(): Promise<typeof Stripe> {
  loading ??= import('stripe').then((module) => module.default);
  return loading;
}

/**
 * Starts loading the SDK now, ahead of its first use. A failure is not lost: the first use
 * awaits the same promise and meets it there.
 */
export function preloadStripeSdk(): void {
  loadStripeSdk().catch(() => undefined);
}
