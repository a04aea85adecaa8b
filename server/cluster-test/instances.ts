import { spawn, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { REPO_ROOT } from '../test/test-results.ts';

/**
 * One instance of the service as `pnpm start` runs it: the compiled build
 * (server/dist/main.js, made once by `pnpm build`), in production mode, on a port of its own.
 */
export interface Instance {
  name: string;
  port: number;
  url: string;
  child: ChildProcess;
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export const CLUSTER_JWT_SECRET = 'cluster-test-signing-secret-0123456789abcdef';

/** What every instance shares: the same database (through PgBouncer), secret and limits. */
export function instanceEnv(databaseUrl: string): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    DATABASE_URL: databaseUrl,
    DB_POOL_MAX: '10',
    JWT_SECRET: CLUSTER_JWT_SECRET,
    LOG_LEVEL: 'warn',
    // Behind one proxy (HAProxy), whose X-Forwarded-For names the client.
    TRUST_PROXY: '1',
    // Every request of the load comes from this one machine: the per-IP limit would stop the
    // load itself. The per-email limits, which the tests check across instances, stay as shipped.
    RATE_LIMIT_PER_IP: '1000000',
    // A refresh token used twice is a reuse at once (no grace), wherever it is used.
    REFRESH_REUSE_GRACE_SECONDS: '0',
    PAYMENT_GATEWAY_LATENCY_MS: '20',
    SHUTDOWN_TIMEOUT_MS: '10000',
    // Three instances on one machine: each would take the default metrics port.
    METRICS_PORT: '0',
  };
}

export async function startInstance({
  name,
  port,
  env,
}: {
  name: string;
  port: number;
  env: Record<string, string>;
}): Promise<Instance> {
  const child = spawn(process.execPath, ['--enable-source-maps', '--max-old-space-size=1024', 'server/dist/main.js'], {
    cwd: REPO_ROOT,
    env: { ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output = (output + chunk).slice(-200_000)));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output = (output + chunk).slice(-200_000)));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const instance = { name, port, url: `http://127.0.0.1:${port}`, child, output: () => output, exited };
  await waitUntilReady(instance);
  return instance;
}

/** Until /readyz answers 200 (the database answers through PgBouncer, migrations applied). */
export async function waitUntilReady(instance: Instance, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (instance.child.exitCode !== null) throw new Error(`${instance.name} exited:\n${instance.output()}`);
    try {
      const res = await fetch(`${instance.url}/readyz`, { signal: AbortSignal.timeout(2_000) });
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${instance.name} not ready in ${timeoutMs} ms:\n${instance.output()}`);
    await sleep(100);
  }
}

export async function stopInstance(instance: Instance, signal: NodeJS.Signals = 'SIGTERM') {
  if (instance.child.exitCode === null && instance.child.signalCode === null) instance.child.kill(signal);
  return instance.exited;
}
