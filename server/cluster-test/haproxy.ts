import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { REPO_ROOT } from '../test/test-results.ts';
import { freePort, runComponent, waitForPort, type Component } from './components.ts';

export const BACKEND = 'orders_instances';

/** deploy/haproxy.cfg with its per-host lines set: the bind port, the runtime API socket, the servers. */
export function haproxyConfig({ port, socket, servers }: { port: number; socket: string; servers: number[] }): string {
  const template = readFileSync(join(REPO_ROOT, 'deploy/haproxy.cfg'), 'utf8');
  const replace = (text: string, pattern: RegExp, by: string) => {
    if (!pattern.test(text)) throw new Error(`deploy/haproxy.cfg has no line matching ${pattern}`);
    return text.replace(pattern, by);
  };
  let config = replace(template, /^(\s+)bind \S+$/m, `$1bind 127.0.0.1:${port}`);
  config = replace(config, /^(\s+)stats socket \S+/m, `$1stats socket ${socket}`);
  const serverLines = /^(\s+)server app\d+ .*$/gm;
  const indent = serverLines.exec(config)?.[1] ?? '    ';
  config = config.replace(serverLines, '').trimEnd();
  const lines = servers.map((serverPort, index) => `${indent}server app${index + 1} 127.0.0.1:${serverPort}`);
  return `${config}\n${lines.join('\n')}\n`;
}

export interface ServerStat {
  name: string;
  status: string;
  /** Connections open to it now, and in total. */
  current: number;
  total: number;
  /** Responses that failed: the connection broke or the answer was bad (eresp), or the server aborted (srv_abrt). */
  responseErrors: number;
  serverAborts: number;
}

export interface HaProxy extends Component {
  url: string;
  /** One command on the runtime API, its answer. */
  command(line: string): Promise<string>;
  stats(): Promise<ServerStat[]>;
  waitForStatus(server: string, status: 'UP' | 'DOWN' | 'DRAIN', timeoutMs?: number): Promise<void>;
}

export async function startHaProxy(servers: number[]): Promise<HaProxy> {
  const folder = mkdtempSync(join(tmpdir(), 'orders-haproxy-'));
  const port = await freePort();
  const socket = join(folder, 'admin.sock');
  const file = join(folder, 'haproxy.cfg');
  writeFileSync(file, haproxyConfig({ port, socket, servers }));
  const component = runComponent('haproxy', ['-db', '-f', file]);
  await waitForPort(port, component, 'haproxy');

  const command = (line: string) =>
    new Promise<string>((resolve, reject) => {
      let answer = '';
      const connection = createConnection(socket);
      connection.setEncoding('utf8');
      connection.on('data', (chunk: string) => (answer += chunk));
      connection.once('error', reject);
      connection.once('end', () => resolve(answer));
      connection.write(`${line}\n`);
    });
  const stats = async (): Promise<ServerStat[]> => {
    const [header, ...rows] = (await command('show stat')).trim().split('\n');
    const columns = (header ?? '').replace(/^# /, '').split(',');
    const at = (row: string[], name: string) => row[columns.indexOf(name)] ?? '';
    return rows
      .map((row) => row.split(','))
      .filter((row) => at(row, 'pxname') === BACKEND && /^app\d+$/.test(at(row, 'svname')))
      .map((row) => ({
        name: at(row, 'svname'),
        status: at(row, 'status'),
        current: Number(at(row, 'scur')),
        total: Number(at(row, 'stot')),
        responseErrors: Number(at(row, 'eresp')),
        serverAborts: Number(at(row, 'srv_abrt')),
      }));
  };
  const waitForStatus = async (server: string, status: string, timeoutMs = 30_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = (await stats()).find((stat) => stat.name === server);
      if (found?.status.startsWith(status)) return;
      if (Date.now() > deadline) throw new Error(`${server} is ${found?.status ?? 'missing'}, not ${status}`);
      await sleep(100);
    }
  };
  return {
    ...component,
    stop: async () => {
      await component.stop();
      rmSync(folder, { recursive: true, force: true });
    },
    url: `http://127.0.0.1:${port}`,
    command,
    stats,
    waitForStatus,
  };
}
