import { readFileSync } from 'node:fs';

/**
 * The node command `pnpm start` runs after building (its V8 flags included), read from the
 * root package.json, so the tests and the bench start the server exactly the same way.
 */
export function startCommand(root: string): string[] {
  const scripts = (JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { scripts: { start: string } }).scripts;
  const run = scripts.start
    .split('&&')
    .map((part) => part.trim())
    .find((part) => part.startsWith('node '));
  if (!run) throw new Error(`no node command in the start script: ${scripts.start}`);
  return run.split(/\s+/).slice(1);
}
