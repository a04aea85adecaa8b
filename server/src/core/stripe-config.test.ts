import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  STARTUP_TIMEOUT_MS,
  cleanUpServers,
  databaseEnv,
  newTestDatabase,
  spawnServer,
  startServer,
} from '../../test/server-process.ts';
import {
  TEST_SECRET_KEY,
  TEST_WEBHOOK_SECRET,
  startStripeServer,
  type StripeServer,
} from '../../test/stripe/stripe-server.ts';
import { ConfigError, describeConfig, loadConfig } from './config.ts';

/** The Stripe gateway's configuration: checked at boot, its secrets never shown. */

const BASE = { NODE_ENV: 'test', JWT_SECRET: 'a-test-secret-of-more-than-32-bytes-0123456789' };

function problemsFor(env: Record<string, string>): string[] {
  try {
    loadConfig({ ...BASE, ...env });
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('accepted');
}

describe('loadConfig: the payment gateway', () => {
  it('keeps the simulated gateway by default, reconciling every 60 s what is pending past 300 s', () => {
    const config = loadConfig(BASE);
    expect(config.paymentGateway.kind).toBe('simulated');
    expect(config.paymentReconcile).toEqual({ intervalSeconds: 60, afterSeconds: 300 });
    expect(config.stripeWebhookSecret).toBeUndefined();
  });

  it('reads the Stripe variables, with Stripe’s API as the default address', () => {
    const config = loadConfig({ ...BASE, PAYMENT_GATEWAY: 'stripe', STRIPE_SECRET_KEY: TEST_SECRET_KEY });
    expect(config.paymentGateway).toEqual({
      kind: 'stripe',
      timeoutMs: 5000,
      stripe: { secretKey: TEST_SECRET_KEY, apiUrl: 'https://api.stripe.com' },
    });
  });

  it('refuses PAYMENT_GATEWAY=stripe without STRIPE_SECRET_KEY', () => {
    expect(problemsFor({ PAYMENT_GATEWAY: 'stripe' })).toEqual([
      'STRIPE_SECRET_KEY: is required when PAYMENT_GATEWAY is stripe (an sk_test_… key for test mode)',
    ]);
  });

  it.each([
    ['STRIPE_SECRET_KEY', 'pk_test_publishableKey123', 'must be a Stripe secret key (sk_test_… or sk_live_…)'],
    ['STRIPE_WEBHOOK_SECRET', 'not-a-signing-secret', 'must be a Stripe webhook signing secret (whsec_…)'],
  ])('refuses a %s of the wrong kind without echoing it', (name, value, message) => {
    const problems = problemsFor({ PAYMENT_GATEWAY: 'stripe', STRIPE_SECRET_KEY: TEST_SECRET_KEY, [name]: value });
    expect(problems).toEqual([`${name}: ${message}`]);
    expect(problems.join('\n')).not.toContain(value);
  });

  it.each([
    [
      'STRIPE_API_URL',
      'ftp://example.com',
      'must be an http(s):// URL like https://api.stripe.com (got "ftp://example.com")',
    ],
    ['PAYMENT_RECONCILE_INTERVAL_SECONDS', '-1', 'Too small: expected number to be >=0 (got "-1")'],
  ])('refuses %s=%s', (name, value, message) => {
    expect(problemsFor({ [name]: value })).toEqual([`${name}: ${message}`]);
  });

  it('never describes the secret key or the webhook secret', () => {
    const config = loadConfig({
      ...BASE,
      PAYMENT_GATEWAY: 'stripe',
      STRIPE_SECRET_KEY: TEST_SECRET_KEY,
      STRIPE_WEBHOOK_SECRET: TEST_WEBHOOK_SECRET,
    });
    const described = JSON.stringify(describeConfig(config));
    expect(described).not.toContain(TEST_SECRET_KEY);
    expect(described).not.toContain(TEST_WEBHOOK_SECRET);
    expect(described).toContain('"apiUrl":"https://api.stripe.com"');
  });
});

describe('the real server on PAYMENT_GATEWAY=stripe', { timeout: STARTUP_TIMEOUT_MS + 10_000 }, () => {
  let stripe: StripeServer;
  beforeAll(async () => {
    stripe = await startStripeServer();
  });
  afterAll(() => stripe.close());
  afterEach(cleanUpServers);

  it('starts against a Stripe-compatible server, its keys kept out of the log', async () => {
    const server = await startServer({
      ...databaseEnv(await newTestDatabase()),
      PAYMENT_GATEWAY: 'stripe',
      STRIPE_SECRET_KEY: TEST_SECRET_KEY,
      STRIPE_WEBHOOK_SECRET: TEST_WEBHOOK_SECRET,
      STRIPE_API_URL: stripe.url,
    });
    const loaded = await server.waitForLine({ event: 'config_loaded' });
    expect(loaded.config).toMatchObject({
      paymentGateway: { kind: 'stripe', stripe: { secretKey: '[REDACTED]', apiUrl: stripe.url } },
      stripeWebhookSecret: '[REDACTED]',
    });
    expect(server.stdout()).not.toContain(TEST_SECRET_KEY);
    const unsigned = await fetch(`${server.url}/webhooks/stripe`, { method: 'POST', body: '{}' });
    expect(unsigned.status).toBe(400);
  });

  it('refuses to start without STRIPE_SECRET_KEY', async () => {
    const server = spawnServer({ PAYMENT_GATEWAY: 'stripe', STRIPE_API_URL: stripe.url });
    expect(await server.exited).toEqual({ code: 1, signal: null });
    expect(server.stderr()).toContain('STRIPE_SECRET_KEY: is required when PAYMENT_GATEWAY is stripe');
  });
});
