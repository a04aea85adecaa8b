import { spawn, type ChildProcess } from 'node:child_process';
import { ftruncateSync, mkdirSync, openSync, readFileSync, truncateSync } from 'node:fs';
import { startCommand } from '../server/test/start-command.ts';
import type { NodeBinary } from './node-binary.ts';
import { SERVICE, type ServerSpec } from './server-specs.ts';
import { HAS_TASKSET, ROOT, SERVER_LOG_DIR } from './settings.ts';

/** Linux's clock ticks per second, the unit of /proc/<pid>/stat's CPU times. */
export const CLOCK_TICKS = 100;

export interface Running {
  spec: ServerSpec;
  process: ChildProcess;
  url: string;
  /** Where its output goes (see SERVER_LOG_DIR). */
  logFile: string;
}

/** Empties a server's log: it keeps writing at the start (the file is opened for appending). */
export function emptyLog(target: Running): void {
  truncateSync(target.logFile, 0);
}

async function waitUntilAnswering(url: string): Promise<void> {
  for (let tries = 0; tries < 200; tries++) {
    try {
      await fetch(url, { signal: AbortSignal.timeout(500) });
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  throw new Error(`${url} did not answer`);
}

/**
 * Starts `spec` on `port` with the node binary `node` (pinned to core 0 where it can be), its
 * output to <SERVER_LOG_DIR>/<name>-<node version>.log.
 */
async function startServer(spec: ServerSpec, port: number, node: NodeBinary): Promise<Running> {
  mkdirSync(SERVER_LOG_DIR, { recursive: true });
  const logFile = `${SERVER_LOG_DIR}/${spec.name}-${node.version}.log`;
  // Appending, so that `emptyLog` can cut it while the server writes.
  const log = openSync(logFile, 'a');
  ftruncateSync(log, 0);
  // The service runs compiled, exactly as `pnpm start` runs it (V8 flags included); the
  // baselines are single files run through tsx.
  const command =
    spec.script === SERVICE ? [node.path, ...startCommand(ROOT)] : [node.path, '--import', 'tsx', spec.script];
  const child = spawn(
    HAS_TASKSET ? 'taskset' : (command[0] ?? 'node'),
    HAS_TASKSET ? ['-c', '0', ...command] : command.slice(1),
    {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', PORT: String(port), METRICS_PORT: '0', ...spec.env },
      stdio: ['ignore', log, log],
    },
  );
  const url = `http://127.0.0.1:${port}`;
  await waitUntilAnswering(url);
  return { spec, process: child, url, logFile };
}

/** CPU time a process has used (user + system), in clock ticks. */
export function cpuTicks(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return Number(fields[11]) + Number(fields[12]);
}

/** A process's resident set size now and at its peak, in MB. */
export function rssMb(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
}

/** Every server of `specs` on `node`, started one after another on ports from `firstPort`, by name. */
export async function startServers(
  specs: ServerSpec[],
  node: NodeBinary,
  firstPort: number,
): Promise<Map<string, Running>> {
  const running = new Map<string, Running>();
  let port = firstPort;
  for (const spec of specs) running.set(spec.name, await startServer(spec, port++, node));
  return running;
}

export function stopServers(running: Map<string, Running>): void {
  for (const target of running.values()) target.process.kill('SIGTERM');
}
