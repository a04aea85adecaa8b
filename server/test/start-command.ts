import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/**
 * `pnpm build`, run in `root`: compiles the server into `server/dist/`. Answers its exit
 * status and what it wrote to stderr.
 */
export function buildServer(root: string): { status: number | null; stderr: string } {
  const build = spawnSync(process.execPath, ['--import', 'tsx', 'server/src/cli/build.ts'], {
    cwd: root,
    encoding: 'utf8',
  });
  return { status: build.status, stderr: build.stderr };
}

/**
 * The node command `pnpm start` runs after building (its V8 flags included), read from the
 * root package.json, so the tests, the soak and the bench start the server exactly the same way.
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
