import { spawn, type ChildProcess } from 'node:child_process';
import { chownSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { REPO_ROOT } from '../test/test-results.ts';

/**
 * PgBouncer and HAProxy from the system's packages, each run from the repository's own
 * configuration file (deploy/), with only the values that differ per host replaced: ports,
 * paths and where PostgreSQL is.
 */

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** `key = value` lines of an ini file set to new values; every key must be in the file already. */
export function withIniValues(ini: string, values: Record<string, string>): string {
  let text = ini;
  for (const [key, value] of Object.entries(values)) {
    const line = new RegExp(`^${key} = .*$`, 'm');
    if (!line.test(text)) throw new Error(`deploy/pgbouncer.ini has no "${key} = " line to set`);
    text = text.replace(line, `${key} = ${value}`);
  }
  return text;
}

export interface Component {
  child: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

export function runComponent(command: string, args: string[]): Component {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    child,
    output: () => output,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

export async function waitForPort(port: number, component: Component, name: string): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    if (component.child.exitCode !== null) throw new Error(`${name} exited: ${component.output()}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = createConnection({ port, host: '127.0.0.1' });
      socket.once('connect', () => resolve(true)).once('error', () => resolve(false));
      socket.once('close', () => socket.destroy());
      socket.setTimeout(500, () => socket.destroy());
    }).finally(() => undefined);
    if (open) return;
    await sleep(100);
  }
  throw new Error(`${name} is not listening on ${port}: ${component.output()}`);
}

export interface PgBouncer extends Component {
  port: number;
  /** The URL the service instances use: the database alias `orders`, through PgBouncer. */
  url: string;
  folder: string;
}

/**
 * PgBouncer in front of `database` on the test PostgreSQL, with an auth file of its own. It
 * refuses to run as root: started by root it is told to switch to `postgres` (`-u`), which
 * then owns its folder.
 */
export async function startPgBouncer({
  serverUrl,
  database,
}: {
  serverUrl: string;
  database: string;
}): Promise<PgBouncer> {
  const server = new URL(serverUrl);
  const folder = mkdtempSync(join(tmpdir(), 'orders-pgbouncer-'));
  const port = await freePort();
  const user = 'orders_cluster';
  const password = `cluster-${Math.random().toString(36).slice(2, 12)}`;
  const ini = withIniValues(readFileSync(join(REPO_ROOT, 'deploy/pgbouncer.ini'), 'utf8'), {
    orders: `host=${server.hostname} port=${server.port || '5432'} dbname=${database} user=${decodeURIComponent(server.username) || 'postgres'}`,
    listen_port: String(port),
    auth_file: join(folder, 'userlist.txt'),
    logfile: join(folder, 'pgbouncer.log'),
    pidfile: join(folder, 'pgbouncer.pid'),
  });
  writeFileSync(join(folder, 'pgbouncer.ini'), ini);
  writeFileSync(join(folder, 'userlist.txt'), `"${user}" "${password}"\n`);
  const asRoot = userInfo().uid === 0;
  if (asRoot) {
    for (const file of ['', 'pgbouncer.ini', 'userlist.txt']) chownSync(join(folder, file), postgresUid(), -1);
  }
  const component = runComponent('pgbouncer', [...(asRoot ? ['-u', 'postgres'] : []), join(folder, 'pgbouncer.ini')]);
  const log = () => {
    try {
      return readFileSync(join(folder, 'pgbouncer.log'), 'utf8');
    } catch {
      return '';
    }
  };
  await waitForPort(port, { ...component, output: () => component.output() + log() }, 'pgbouncer');
  return {
    ...component,
    output: () => component.output() + log(),
    stop: async () => {
      await component.stop();
      rmSync(folder, { recursive: true, force: true });
    },
    port,
    folder,
    url: `postgres://${user}:${password}@127.0.0.1:${port}/orders`,
  };
}

function postgresUid(): number {
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((entry) => entry.startsWith('postgres:'));
  const uid = Number(line?.split(':')[2]);
  if (!Number.isInteger(uid))
    throw new Error('PgBouncer will not run as root, and there is no postgres user to run it as');
  return uid;
}
