import { sql } from 'kysely';
import { afterAll, beforeAll, expect } from 'vitest';
import type { PaymentGateway } from '../src/services/payment-gateway/index.ts';
import { SecretLedger, registerUser, type TestUser } from './api-client.ts';
import { startTestApp, type TestApp } from './test-app.ts';

export interface TestAppOptions<Name extends string> {
  /** Configuration variables, as a .env file would set them. */
  env?: Record<string, string>;
  /** The users to register (in this order) before the tests, by name; the name labels their email. */
  users?: Record<Name, 'customer' | 'admin'>;
  /** The ledger their passwords and tokens join; pass one to share it between the apps of a file. */
  secrets?: SecretLedger;
  /** Replaces the payment gateway PAYMENT_GATEWAY names (to count or stall charges). */
  gateway?: PaymentGateway;
  /** Whether every database query is logged (on unless told). */
  logQueries?: boolean;
  /** Shortens the server's request timeout. */
  requestTimeoutMs?: number;
  /** Shortens the waits between mail retries. */
  mailRetryDelaysMs?: readonly number[];
  /** Checks to run after the tests, before the app closes; it closes even when they fail. */
  afterTests?: (fixture: TestAppFixture<Name>) => void | Promise<void>;
}

export interface TestAppFixture<Name extends string> {
  app: TestApp;
  users: Record<Name, TestUser>;
  secrets: SecretLedger;
}

/**
 * No order may wait in pending_payment longer than the reconciler's grace period plus one
 * interval: past that, a crash left it and nothing settled it.
 */
async function expectNoPaymentLeftPending(app: TestApp): Promise<void> {
  const { afterSeconds, intervalSeconds } = app.config.paymentReconcile;
  const stuck = await app.database.db
    .selectFrom('orders')
    .select(['id', 'updated_at'])
    .where('status', '=', 'pending_payment')
    .where('updated_at', '<', sql<Date>`now() - make_interval(secs => ${afterSeconds + intervalSeconds})`)
    .execute();
  expect(stuck, 'orders left in pending_payment past the grace period plus one interval').toEqual([]);
}

/**
 * A value that exists only once `beforeAll` has run, usable under its name from the start:
 * every read goes to the current value, and a read before then says what went wrong.
 */
function filledLater<Value extends object>(name: string, current: () => Value | undefined): Value {
  const value = (): Value => {
    const filled = current();
    if (filled === undefined) throw new Error(`${name} exists once beforeAll has run: use it inside a test or hook`);
    return filled;
  };
  return new Proxy({} as Value, {
    get: (_target, key) => Reflect.get(value(), key),
    has: (_target, key) => Reflect.has(value(), key),
    ownKeys: () => Reflect.ownKeys(value()),
    getOwnPropertyDescriptor: (_target, key) => Reflect.getOwnPropertyDescriptor(value(), key),
  });
}

/**
 * The app of a test file (or of the `describe` it is called in): registers a `beforeAll` that
 * starts the real app on a fresh migrated database and registers `users`, and an `afterAll` that
 * proves none of the ledger's secrets reached the app's log, then closes it (which checks every
 * REST answer against openapi.json). The handles it returns fill in when `beforeAll` has run.
 *
 * @example
 * const { app, users: { alice, admin } } = useTestApp({ users: { alice: 'customer', admin: 'admin' } });
 */
export function useTestApp<const Name extends string = never>(
  options: TestAppOptions<Name> = {},
): TestAppFixture<Name> {
  const { env = {}, users: roles, secrets = new SecretLedger(), afterTests, ...start } = options;
  let started: TestApp | undefined;
  const registered = new Map<string, TestUser>();
  const names = Object.keys(roles ?? {}) as Name[];
  const fixture: TestAppFixture<Name> = {
    app: filledLater('app', () => started),
    users: Object.fromEntries(
      names.map((name) => [name, filledLater(`user ${name}`, () => registered.get(name))]),
    ) as Record<Name, TestUser>,
    secrets,
  };

  beforeAll(async () => {
    started = await startTestApp(env, start);
    for (const name of names) {
      const role = (roles as Record<Name, 'customer' | 'admin'>)[name];
      registered.set(name, await registerUser(started, { secrets, label: name, role }));
    }
  });

  afterAll(async () => {
    if (started === undefined) return;
    try {
      await started.logger.flush();
      await afterTests?.(fixture);
      secrets.expectNoneIn(started.logs.text);
      await expectNoPaymentLeftPending(started);
    } finally {
      await started.close();
    }
  });

  return fixture;
}
