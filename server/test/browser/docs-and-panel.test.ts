import type { AuthSession } from '@orders/shared';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appRouter } from '../../src/api/router.ts';
import { insertProducts } from '../seed-products.ts';
import { startTestApp, type TestApp } from '../test-app.ts';
import {
  ACTION_TIMEOUT_MS,
  chromiumMissing,
  cspViolations,
  launchChromium,
  openRecordedContext,
  requestsLeavingLocalhost,
  screenshot,
  type ContextLog,
} from './chromium.ts';
import { exactly, execute, expand, openProcedure, panelProcedurePaths, panelRouter } from './trpc-panel.ts';

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;
const BROWSER_TEST_TIMEOUT_MS = 90_000;

interface OpenApiDocument {
  paths: Record<string, Partial<Record<(typeof HTTP_METHODS)[number], unknown>>>;
}

/** `window.monaco` as the panel's Monaco loader leaves it: enough to set the JSON input. */
interface MonacoGlobal {
  monaco?: { editor: { getModels(): { setValue(value: string): void }[] } };
}

function operationsOf(document: OpenApiDocument): { method: string; path: string }[] {
  return Object.entries(document.paths).flatMap(([path, item]) =>
    HTTP_METHODS.filter((method) => item[method] !== undefined).map((method) => ({ method, path })),
  );
}

function expectOnlyLocalTraffic(log: ContextLog): void {
  expect(log.requests.length).toBeGreaterThan(0);
  expect(requestsLeavingLocalhost(log.requests)).toEqual([]);
  expect(cspViolations(log)).toEqual([]);
}

const suiteTitle = chromiumMissing
  ? `browser: /docs and /panel in Chromium [skipped: ${chromiumMissing}]`
  : 'browser: /docs and /panel in Chromium';

// The default reporter folds a skipped file into one line: say why where it shows.
if (chromiumMissing) console.warn(`browser tests skipped: ${chromiumMissing}`);

describe.skipIf(chromiumMissing !== undefined)(suiteTitle, () => {
  let app: TestApp;
  let browser: Browser;
  let session: AuthSession;
  const productNames = ['Browser Test Lamp', 'Browser Test Chair'];

  beforeAll(async () => {
    app = await startTestApp({ PANEL_ENABLED: 'true' }, { logQueries: false });
    await insertProducts(
      app.database.db,
      productNames.map((name) => ({ name })),
    );
    const response = await fetch(`${app.url}/api/v1/auth/register`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ email: 'panel-user@example.com', password: 'a long enough password', name: 'Panel User' }),
      signal: AbortSignal.timeout(ACTION_TIMEOUT_MS),
    });
    expect(response.status).toBe(200);
    session = (await response.json()) as AuthSession;
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  it(
    '/docs renders every operation of /openapi.json, offline, and Try it out runs GET /api/v1/products',
    async () => {
      const documentResponse = await fetch(`${app.url}/openapi.json`, {
        signal: AbortSignal.timeout(ACTION_TIMEOUT_MS),
      });
      const operations = operationsOf((await documentResponse.json()) as OpenApiDocument);
      expect(operations.length).toBeGreaterThan(0);

      const { context, page, log } = await openRecordedContext(browser);
      try {
        await page.goto(`${app.url}/docs`);
        const blocks = page.locator('.opblock');
        await blocks.first().waitFor({ state: 'visible' });
        await expect.poll(() => blocks.count(), { timeout: ACTION_TIMEOUT_MS }).toBe(operations.length);
        for (const { method, path } of operations) {
          // By the summary's method label: a deprecated operation's block loses its `opblock-<method>` class.
          const block = blocks
            .filter({ has: page.locator(`[data-path="${path}"]`) })
            .filter({ has: page.locator('.opblock-summary-method', { hasText: exactly(method.toUpperCase()) }) });
          await expect(block.count(), `${method} ${path}`).resolves.toBe(1);
        }

        const listProducts = page
          .locator('.opblock.opblock-get')
          .filter({ has: page.locator('[data-path="/v1/products"]') });
        await listProducts.locator('.opblock-summary-control').click();
        await listProducts.getByRole('button', { name: 'Try it out' }).click();
        await listProducts.getByRole('button', { name: 'Execute' }).click();
        const status = listProducts.locator('.live-responses-table tr.response .response-col_status').first();
        await status.waitFor({ state: 'visible' });
        await expect.poll(() => status.innerText(), { timeout: ACTION_TIMEOUT_MS }).toBe('200');
        await expect(listProducts.locator('.request-url').innerText()).resolves.toContain(`${app.url}/api/v1/products`);
        await expect(
          listProducts.locator('.live-responses-table tr.response .response-col_description').first().innerText(),
        ).resolves.toContain(productNames[0] ?? '');
        await screenshot(page, 'docs-try-it-out-v1-products', listProducts.locator('.live-responses-table'));

        expectOnlyLocalTraffic(log);
        expect(log.requests.some((url) => new URL(url).pathname === '/api/v1/products')).toBe(true);
      } finally {
        await context.close();
      }
    },
    BROWSER_TEST_TIMEOUT_MS,
  );

  it(
    '/panel (trpc-ui-zod4) shows the v1 and v2 trees, runs v1.products.list, and v1.auth.me with a Bearer token',
    async () => {
      const { context, page, log } = await openRecordedContext(browser);
      try {
        await page.goto(`${app.url}/panel`);
        const main = page.locator('div.container');
        for (const version of ['v1', 'v2']) {
          await panelRouter(main, version).waitFor({ state: 'visible' });
        }
        expect(await panelProcedurePaths(page)).toEqual(Object.keys(appRouter._def.procedures).sort());
        for (const version of ['v1', 'v2']) {
          const tree = panelRouter(main, version);
          await expand(tree);
          for (const domain of ['auth', 'users', 'products', 'orders']) {
            await expect(panelRouter(tree, domain).isVisible(), `${version}.${domain}`).resolves.toBe(true);
          }
        }
        await screenshot(page, 'panel-trees');

        const list = await openProcedure(page, 'v1.products.list');
        const listResult = await execute(list, 'list');
        await expect.poll(() => listResult.innerText(), { timeout: ACTION_TIMEOUT_MS }).toMatch(/total/);
        const listText = await listResult.innerText();
        for (const name of productNames) expect(listText).toContain(name);
        await screenshot(page, 'panel-v1-products-list', listResult);

        await page.getByRole('button', { name: 'Headers' }).click();
        const headers = page.locator('form', { has: page.locator('h1', { hasText: exactly('Headers') }) });
        await headers.getByRole('button', { name: 'Add' }).click();
        await headers.getByPlaceholder('Enter value for Key').fill('Authorization');
        await headers.getByPlaceholder('Enter value for Value').fill(`Bearer ${session.accessToken}`);
        await headers.getByRole('button', { name: 'Confirm' }).click();
        await headers.waitFor({ state: 'hidden' });

        const me = await openProcedure(page, 'v1.auth.me');
        const meResult = await execute(me, 'me');
        await expect.poll(() => meResult.innerText(), { timeout: ACTION_TIMEOUT_MS }).toContain(session.user.email);
        await expect(meResult.innerText()).resolves.toContain(session.user.id);
        await screenshot(page, 'panel-v1-auth-me', meResult);

        // Raw JSON input: Monaco and its JSON worker, served from /panel/monaco/vs under the page's CSP.
        await list.getByRole('button', { name: 'toggle raw JSON input' }).click();
        await list.locator('.monaco-editor').waitFor({ state: 'visible' });
        await expect
          .poll(
            () => page.evaluate(() => (globalThis as unknown as MonacoGlobal).monaco?.editor.getModels().length ?? 0),
            {
              timeout: ACTION_TIMEOUT_MS,
            },
          )
          .toBe(1);
        await page.evaluate(() =>
          (globalThis as unknown as MonacoGlobal).monaco?.editor.getModels()[0]?.setValue('{ "limit": 1 }'),
        );
        await execute(list, 'list');
        const limit = list.getByTestId('data-key-pairlimit');
        await expect.poll(() => limit.innerText(), { timeout: ACTION_TIMEOUT_MS }).toMatch(/int\s*1$/);
        await expect
          .poll(() => log.requests.some((url) => url.endsWith('/panel/monaco/vs/language/json/jsonWorker.js')), {
            timeout: ACTION_TIMEOUT_MS,
          })
          .toBe(true);
        await screenshot(page, 'panel-v1-products-list-json', limit);

        expectOnlyLocalTraffic(log);
        expect(log.requests.some((url) => url.includes('/trpc/v1.auth.me'))).toBe(true);
      } finally {
        await context.close();
      }
    },
    BROWSER_TEST_TIMEOUT_MS,
  );
});
