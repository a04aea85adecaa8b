import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core';

/** Debian's Chromium (`apt-get install chromium`); playwright-core never downloads a browser here. */
export const CHROMIUM_PATH = '/usr/bin/chromium';

/** Why the browser tests cannot run on this machine, or undefined when they can. */
export const chromiumMissing = existsSync(CHROMIUM_PATH)
  ? undefined
  : `${CHROMIUM_PATH} is missing: apt-get install chromium`;

/**
 * Headless, and no traffic of Chromium's own (component updates, sync, field trials): on a
 * machine without outside network those connections only fail and slow every start.
 */
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-quic',
  '--no-first-run',
  '--disable-component-update',
  '--disable-sync',
];

/** Every wait in a browser test is bounded by these. */
export const ACTION_TIMEOUT_MS = 10_000;
export const NAVIGATION_TIMEOUT_MS = 15_000;

/** Screenshots go to the git-ignored test-results folder at the repository root. */
export const SCREENSHOT_DIR = join(import.meta.dirname, '..', '..', '..', 'test-results', 'browser');

/** Launches Debian's Chromium with a fresh, temporary profile (Playwright's default). */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, timeout: 30_000 });
}

/**
 * Writes `<name>.png` under SCREENSHOT_DIR: the viewport with `reveal` scrolled into it (pages
 * that scroll inside their own panes), or the full page.
 */
export async function screenshot(page: Page, name: string, reveal?: Locator): Promise<void> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  await reveal?.scrollIntoViewIfNeeded();
  await page.screenshot({
    path: join(SCREENSHOT_DIR, `${name}.png`),
    fullPage: reveal === undefined,
    timeout: ACTION_TIMEOUT_MS,
  });
}

/** What the pages of one browser context did: every request URL, console errors, page errors. */
export interface ContextLog {
  requests: string[];
  consoleErrors: string[];
  pageErrors: string[];
}

/** A new context whose every request (pages and their workers), console error and page error is recorded. */
export async function openRecordedContext(
  browser: Browser,
): Promise<{ context: BrowserContext; page: Page; log: ContextLog }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  context.setDefaultTimeout(ACTION_TIMEOUT_MS);
  context.setDefaultNavigationTimeout(NAVIGATION_TIMEOUT_MS);
  const log: ContextLog = { requests: [], consoleErrors: [], pageErrors: [] };
  context.on('request', (request) => log.requests.push(request.url()));
  context.on('console', (message) => {
    if (message.type() === 'error') log.consoleErrors.push(message.text());
  });
  context.on('weberror', (webError) => log.pageErrors.push(webError.error().message));
  const page = await context.newPage();
  return { context, page, log };
}

const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** The requested URLs whose host is not this machine (`data:` needs no host; `blob:` is judged by its origin). */
export function requestsLeavingLocalhost(urls: readonly string[]): string[] {
  return urls.filter((url) => {
    if (url.startsWith('data:')) return false;
    const target = new URL(url.startsWith('blob:') ? url.slice('blob:'.length) : url);
    return !LOCAL_HOSTS.has(target.hostname);
  });
}

/** Console and page errors that report a Content Security Policy violation. */
export function cspViolations(log: ContextLog): string[] {
  return [...log.consoleErrors, ...log.pageErrors].filter((message) =>
    /content.security.policy|\bCSP\b/i.test(message),
  );
}
