import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildStorefront } from '../../../examples/storefront/scripts/build.ts';
import { serveStorefront, type StaticServer } from '../../../examples/storefront/scripts/serve.ts';
import { SecretLedger, registerUser, type TestUser } from '../api-client.ts';
import { insertProducts } from '../seed-products.ts';
import { startTestApp, type TestApp } from '../test-app.ts';
import { ACTION_TIMEOUT_MS, chromiumMissing, launchChromium, openRecordedContext, screenshot } from './chromium.ts';

const BROWSER_TEST_TIMEOUT_MS = 60_000;
const LAMP = { name: 'Storefront Lamp', price_amount: 2450, currency: 'EUR' };

const suiteTitle = chromiumMissing
  ? `browser: examples/storefront in Chromium [skipped: ${chromiumMissing}]`
  : 'browser: examples/storefront in Chromium';

// The default reporter folds a skipped file into one line: say why where it shows.
if (chromiumMissing) console.warn(`browser tests skipped: ${chromiumMissing}`);

/** Signs in through the page's form, as a visitor would. */
async function signIn(page: Page, user: TestUser): Promise<void> {
  await page.getByLabel('Email').fill(user.email);
  await page.getByLabel('Password').fill(user.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/** The text of `#id` once it matches `pattern`, and the pattern's groups. */
async function textMatching(page: Page, id: string, pattern: RegExp): Promise<RegExpMatchArray> {
  const box = page.locator(`#${id}`);
  await expect.poll(() => box.innerText(), { timeout: ACTION_TIMEOUT_MS }).toMatch(pattern);
  const match = (await box.innerText()).match(pattern);
  if (!match) throw new Error(`#${id} no longer matches ${String(pattern)}`);
  return match;
}

describe.skipIf(chromiumMissing !== undefined)(suiteTitle, () => {
  const secrets = new SecretLedger();
  let dir: string;
  let storefront: StaticServer;
  let elsewhere: StaticServer;
  let app: TestApp;
  let shopper: TestUser;
  let browser: Browser;

  beforeAll(async () => {
    // The same page from two origins: the API allows the storefront's only.
    dir = await mkdtemp(join(tmpdir(), 'storefront-'));
    storefront = await serveStorefront({ dir, port: 0 });
    elsewhere = await serveStorefront({ dir, port: 0 });
    app = await startTestApp({ CORS_ORIGINS: storefront.origin }, { logQueries: false });
    await buildStorefront({ apiUrl: `${app.url}/trpc`, outdir: dir });
    await insertProducts(app.database.db, [LAMP]);
    shopper = await registerUser(app, { secrets, label: 'shopper' });
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await storefront?.close();
    await elsewhere?.close();
    if (app) {
      await app.logger.flush();
      secrets.expectNoneIn(app.logs.text);
      await app.close();
    }
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it(
    'signs in, lists products, orders with a per-call key, shows a decline with its request id and kept order, pays it again',
    async () => {
      const { context, page, log } = await openRecordedContext(browser);
      try {
        await page.goto(storefront.origin);
        const signedIn = page.waitForResponse((response) => response.url().includes('/trpc/v1.auth.login'));
        await signIn(page, shopper);
        // The API answered the storefront's origin by name.
        expect((await signedIn).headers()['access-control-allow-origin']).toBe(storefront.origin);
        await expect
          .poll(() => page.locator('#session').innerText(), { timeout: ACTION_TIMEOUT_MS })
          .toBe(`Signed in as Test shopper (${shopper.email})`);
        await page.getByText(`${LAMP.name}, €24.50`).waitFor({ state: 'visible' });

        // A paid order; its call carried a key of its own, which the server kept for it.
        await page.getByLabel('Pay with').selectOption('pm_card_visa');
        const placed = page.waitForResponse((response) => response.url().includes('/trpc/v1.orders.create'));
        await page.getByRole('button', { name: `Buy ${LAMP.name}` }).click();
        const placedResponse = await placed;
        expect(placedResponse.headers()['access-control-allow-origin']).toBe(storefront.origin);
        const keys = placedResponse.request().headers()['idempotency-keys'];
        expect(keys).toMatch(/^\{"0":"[0-9a-f-]{36}"\}$/);
        const [, paidId] = await textMatching(page, 'order', /^Order (ord_\S+): paid, €24\.50$/);
        const keyRow = await app.database.db
          .selectFrom('idempotency_keys')
          .select(['key', 'operation', 'order_id', 'user_id'])
          .where('order_id', '=', paidId ?? '')
          .executeTakeFirst();
        expect(keyRow).toEqual({
          key: (JSON.parse(keys ?? '{}') as Record<string, string>)['0'],
          operation: 'orders.create',
          order_id: paidId,
          user_id: shopper.id,
        });

        // A decline: its message, the request id the server logged it under, and the order it kept.
        await page.getByLabel('Pay with').selectOption('pm_card_chargeDeclinedInsufficientFunds');
        const declined = page.waitForResponse((response) => response.url().includes('/trpc/v1.orders.create'));
        await page.getByRole('button', { name: `Buy ${LAMP.name}` }).click();
        const declinedResponse = await declined;
        expect(declinedResponse.status()).toBe(402);
        const [, requestId, keptId] = await textMatching(
          page,
          'error',
          /^Card declined: insufficient funds\. .*\n+Error PAYMENT_DECLINED, request id (\S+)\n+Kept order (ord_\S+)\s+Pay again\s*$/,
        );
        expect(requestId).toBe(declinedResponse.headers()['x-request-id']);
        expect(keptId).not.toBe(paidId);
        const declineLines = app.logs.events('PaymentGatewayError', { request_id: requestId });
        expect(declineLines.map((line) => (line.context as { order_id?: string }).order_id)).toEqual([keptId]);
        const keptRow = () =>
          app.database.db
            .selectFrom('orders')
            .select(['status', 'user_id'])
            .where('id', '=', keptId ?? '')
            .executeTakeFirst();
        await expect(keptRow()).resolves.toEqual({ status: 'payment_failed', user_id: shopper.id });
        await screenshot(page, 'storefront-declined');

        // Another card, and the kept order is paid.
        await page.getByLabel('Pay with').selectOption('pm_card_visa');
        await page.getByRole('button', { name: 'Pay again' }).click();
        await textMatching(page, 'order', new RegExp(`^Order ${keptId}: paid, €24\\.50$`));
        await expect(page.locator('#error').isHidden()).resolves.toBe(true);
        await expect(keptRow()).resolves.toEqual({ status: 'paid', user_id: shopper.id });
        await screenshot(page, 'storefront-paid-again');

        expect(log.pageErrors).toEqual([]);
        expect(log.consoleErrors.filter((message) => !message.includes('402'))).toEqual([]);
      } finally {
        await context.close();
      }
    },
    BROWSER_TEST_TIMEOUT_MS,
  );

  it(
    'from an origin CORS_ORIGINS does not list, the browser refuses the API and the call never runs',
    async () => {
      const preflight = (origin: string) =>
        fetch(`${app.url}/trpc/v1.auth.login?batch=1`, {
          method: 'OPTIONS',
          headers: {
            Origin: origin,
            'Access-Control-Request-Method': 'POST',
            'Access-Control-Request-Headers': 'content-type, x-request-id',
          },
          signal: AbortSignal.timeout(ACTION_TIMEOUT_MS),
        });
      const allowed = await preflight(storefront.origin);
      expect(allowed.headers.get('access-control-allow-origin')).toBe(storefront.origin);
      expect(allowed.headers.get('access-control-allow-headers')).toMatch(/Idempotency-Keys/);
      const refused = await preflight(elsewhere.origin);
      expect(refused.headers.get('access-control-allow-origin')).toBeNull();

      const loginsBefore = app.logs.events('procedure_call', { procedure: 'v1.auth.login' }).length;
      const { context, page, log } = await openRecordedContext(browser);
      try {
        await page.goto(elsewhere.origin);
        await signIn(page, shopper);
        await textMatching(page, 'error', /^Could not reach the API: Failed to fetch$/);
        expect(log.consoleErrors.join('\n')).toContain(
          `from origin '${elsewhere.origin}' has been blocked by CORS policy`,
        );
        await expect(page.locator('#session').innerText()).resolves.toBe('');
        expect(app.logs.events('procedure_call', { procedure: 'v1.auth.login' })).toHaveLength(loginsBefore);
      } finally {
        await context.close();
      }
    },
    BROWSER_TEST_TIMEOUT_MS,
  );
});
