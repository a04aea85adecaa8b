import type { Locator, Page } from 'playwright-core';
import { ACTION_TIMEOUT_MS } from './chromium.ts';

/*
 * Finding one's way in trpc-ui-zod4's page. Its tree is nested blocks: a router is a
 * `div.bg-routerBg` whose header button holds an h2 with its name; a procedure is a
 * `div.bg-queryBg` or `div.bg-mutationBg` whose header holds a `span.text-lg`. Each block's
 * first child `div` is its body, hidden until the header is clicked.
 */

/** A regular expression that matches `text` and nothing more. */
export const exactly = (text: string) => new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);

/** A router's block, found by its name below `scope`. */
export function panelRouter(scope: Locator, name: string): Locator {
  return scope
    .locator('div.bg-routerBg')
    .filter({ has: scope.page().locator('h2', { hasText: exactly(name) }) })
    .first();
}

/** A procedure's block, found by its name below `scope`. */
export function panelProcedure(scope: Locator, name: string): Locator {
  return scope
    .locator('div.bg-queryBg, div.bg-mutationBg')
    .filter({ has: scope.page().locator('span.text-lg', { hasText: exactly(name) }) })
    .first();
}

/** Opens a block of the panel's tree unless it is open already (its header button toggles it). */
export async function expand(block: Locator): Promise<void> {
  if (!(await block.locator('xpath=./div').isVisible())) await block.locator('xpath=./button').click();
  await block.locator('xpath=./div').waitFor({ state: 'visible', timeout: ACTION_TIMEOUT_MS });
}

/** Opens `v1.products.list` (say) in the panel's main area and returns its block. */
export async function openProcedure(page: Page, path: string): Promise<Locator> {
  const names = path.split('.');
  const procedureName = names.pop() ?? path;
  let scope = page.locator('div.container');
  for (const name of names) {
    scope = panelRouter(scope, name);
    await expand(scope);
  }
  const procedure = panelProcedure(scope, procedureName);
  await expand(procedure);
  return procedure;
}

/** Runs the procedure as shown, waits for the panel's "Response (…)" heading and returns the response's pane. */
export async function execute(procedure: Locator, name: string): Promise<Locator> {
  await procedure.getByRole('button', { name: `Execute ${name}` }).click();
  const response = procedure.locator('h2', { hasText: /^Response \(/ });
  await response.waitFor({ state: 'visible', timeout: ACTION_TIMEOUT_MS });
  return procedure.locator('xpath=./div/div[last()]');
}

/** The dotted paths of every procedure the panel shows, read from the nesting of its blocks. */
export async function panelProcedurePaths(page: Page): Promise<string[]> {
  const blocks = page.locator('div.container').locator('div.bg-queryBg, div.bg-mutationBg');
  const paths: string[] = [];
  for (let index = 0, count = await blocks.count(); index < count; index++) {
    const block = blocks.nth(index);
    const routers = await block
      .locator('xpath=ancestor::div[contains(@class, "bg-routerBg")]/button//h2')
      .allTextContents();
    const name = await block.locator('xpath=./button//span[contains(@class, "text-lg")]').textContent();
    paths.push([...routers, name ?? ''].join('.'));
  }
  return paths.sort();
}
