import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { recordProcessOutput, recordSecret } from './log-audit/records.ts';
import type { LogLine } from './log-capture.ts';
import { TEST_JWT_SECRET } from './test-app.ts';
import { createTestDatabase, type TestDatabase } from './test-database.ts';
import { REPO_ROOT } from './test-results.ts';

/**
 * The real server in its own process, run from its sources (`node --import tsx
 * server/src/main.ts`, the code `pnpm build` compiles for `pnpm start`; embedded-start.test.ts
 * starts the compiled build), configured by environment variables, observed through its
 * stdout, its log file, its exit code and the network. Its stdout also goes to the suite's
 * log audit.
 */

/** A fresh PGlite database can take tens of seconds to create on a busy machine. */
export const STARTUP_TIMEOUT_MS = 90_000;
export const SHUTDOWN_TIMEOUT_MS = 15_000;

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ServerProcess {
  child: ChildProcess;
  pid: number;
  /** Every JSON line written to stdout so far. */
  lines: LogLine[];
  /** Every stdout line as printed, JSON or not. */
  stdout(): string;
  stderr(): string;
  exited: Promise<Exit>;
  /** The first line (after the `skip` first matching ones) that matches, waiting for it if need be. */
  waitForLine(what: Partial<LogLine>, options?: { skip?: number; timeoutMs?: number }): Promise<LogLine>;
}

const running = new Set<ServerProcess>();
const temporaryFolders: string[] = [];
const testDatabases: TestDatabase[] = [];

/** For `afterEach`: kills every server still running (workers too), drops databases, removes folders. */
export async function cleanUpServers(): Promise<void> {
  for (const server of running) {
    // Workers (node:cluster) leave with their primary, but are not left to chance.
    const pids = [
      server.pid,
      ...server.lines.filter((line) => line.event === 'worker_started').map((line) => line.worker_pid),
    ];
    for (const pid of pids) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await server.exited;
  }
  running.clear();
  for (const testDatabase of testDatabases.splice(0)) await testDatabase.drop();
  for (const folder of temporaryFolders.splice(0)) rmSync(folder, { recursive: true, force: true });
}

/** A folder removed by `cleanUpServers`. */
export function temporaryFolder(): string {
  const folder = mkdtempSync(join(tmpdir(), 'orders-main-test-'));
  temporaryFolders.push(folder);
  return folder;
}

/** A fresh database dropped by `cleanUpServers`. */
export async function newTestDatabase(): Promise<TestDatabase> {
  const testDatabase = await createTestDatabase();
  testDatabases.push(testDatabase);
  return testDatabase;
}

/** The variables that point the server at a test database and have it migrated at start. */
export function databaseEnv(testDatabase: TestDatabase): Record<string, string> {
  return testDatabase.url === undefined
    ? { PGLITE_DIR: testDatabase.pgliteDir ?? '', MIGRATE_ON_START: 'true' }
    : { DATABASE_URL: testDatabase.url, MIGRATE_ON_START: 'true' };
}

function matches(line: LogLine, what: Partial<LogLine>): boolean {
  return Object.entries(what).every(([key, value]) => line[key] === value);
}

/**
 * Starts the server with only the given environment (no `.env` value can leak in: every
 * variable that matters is set, empty meaning unset). `preload` modules are imported
 * before the server, after tsx (`node --import tsx --import <preload>`).
 */
export function spawnServer(env: Record<string, string>, { preload = [] }: { preload?: string[] } = {}): ServerProcess {
  const imports = ['tsx', ...preload].flatMap((module) => ['--import', module]);
  const child = spawn(process.execPath, [...imports, 'server/src/main.ts'], {
    cwd: REPO_ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      NODE_ENV: 'test',
      HOST: '127.0.0.1',
      PORT: '0',
      JWT_SECRET: TEST_JWT_SECRET,
      LOG_LEVEL: 'info',
      DATABASE_URL: '',
      WEB_CONCURRENCY: '',
      // A test that wants the periodic sweep turns it on.
      SWEEP_INTERVAL_SECONDS: '0',
      // Servers run side by side: a test that wants /metrics names a port (0 picks one).
      METRICS_PORT: '0',
      OTEL_EXPORTER_OTLP_ENDPOINT: '',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  recordSecret('signing_secret', env.JWT_SECRET ?? TEST_JWT_SECRET);
  recordSecret('stripe_secret_key', env.STRIPE_SECRET_KEY);
  recordSecret('stripe_webhook_secret', env.STRIPE_WEBHOOK_SECRET);
  recordProcessOutput(child.stdout);
  const lines: LogLine[] = [];
  const newLine = new EventEmitter();
  let stdout = '';
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  createInterface({ input: child.stdout }).on('line', (text) => {
    stdout += `${text}\n`;
    try {
      const line = JSON.parse(text) as LogLine;
      lines.push(line);
      newLine.emit('line');
    } catch {
      stderr += `[stdout] ${text}\n`;
    }
  });
  const exited = new Promise<Exit>((resolve) => {
    child.once('exit', (code, signal) => {
      newLine.emit('exit');
      resolve({ code, signal });
    });
  });

  const server: ServerProcess = {
    child,
    pid: child.pid ?? -1,
    lines,
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    waitForLine: (what, { skip = 0, timeoutMs = 10_000 } = {}) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const found = lines.filter((line) => matches(line, what))[skip];
          if (found) {
            done();
            resolve(found);
          } else if (child.exitCode !== null || child.signalCode !== null) {
            done();
            reject(new Error(`server exited without logging ${JSON.stringify(what)}:\n${stderr}`));
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`no ${JSON.stringify(what)} line within ${timeoutMs} ms:\n${stderr}`));
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          newLine.off('line', check).off('exit', check);
        };
        newLine.on('line', check).on('exit', check);
        check();
      }),
  };
  running.add(server);
  return server;
}

export type StartedServer = ServerProcess & { url: string; port: number };

/** Spawns the server and waits for it to listen; `url` is the one it logged. */
export async function startServer(
  env: Record<string, string>,
  options: { preload?: string[] } = {},
): Promise<StartedServer> {
  const server = spawnServer(env, options);
  const started = await server.waitForLine({ event: 'server_started' }, { timeoutMs: STARTUP_TIMEOUT_MS });
  const url = String(started.url);
  return { ...server, url, port: Number(new URL(url).port) };
}

export function waitForExit(server: ServerProcess, timeoutMs = SHUTDOWN_TIMEOUT_MS): Promise<Exit> {
  return Promise.race([
    server.exited,
    sleep(timeoutMs, undefined, { ref: false }).then(() => {
      throw new Error(`server still running ${timeoutMs} ms after it was told to stop:\n${server.stderr()}`);
    }),
  ]);
}

export function readLogFile(path: string): LogLine[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as LogLine);
}
