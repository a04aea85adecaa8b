import { spawn, spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import autocannon from 'autocannon';

export interface LoadRequest {
  path: string;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
}

export interface LoadResult {
  requestsPerSecond: number;
  totalRequests: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
}

export interface LoadOptions {
  url: string;
  request: LoadRequest;
  seconds: number;
  connections: number;
  /** Prefix for the load generator's command (CPU pinning), e.g. ['taskset', '-c', '1']. */
  pin: string[];
  scratchDir: string;
}

/** wrk (C, epoll) when it is installed; autocannon (node) otherwise, which tops out earlier. */
export const LOAD_GENERATOR: 'wrk' | 'autocannon' = spawnSync('wrk', ['-v']).error ? 'autocannon' : 'wrk';

function luaString(text: string): string {
  return `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}

/** wrk's duration units: `1.23ms`, `456.78us`, `1.2s`. */
function toMs(text: string | undefined): number {
  const match = /^([\d.]+)(us|ms|s|m)$/.exec(text ?? '');
  if (!match) return Number.NaN;
  const value = Number(match[1]);
  return { us: value / 1000, ms: value, s: value * 1000, m: value * 60_000 }[match[2] as 'us' | 'ms' | 's' | 'm'];
}

async function withWrk({ url, request, seconds, connections, pin, scratchDir }: LoadOptions): Promise<LoadResult> {
  const script = `${scratchDir}/wrk-${process.pid}.lua`;
  const lines = [`wrk.method = ${luaString(request.method ?? 'GET')}`];
  for (const [name, value] of Object.entries(request.headers ?? {}))
    lines.push(`wrk.headers[${luaString(name)}] = ${luaString(value)}`);
  if (request.body !== undefined) lines.push(`wrk.body = ${luaString(request.body)}`);
  writeFileSync(script, `${lines.join('\n')}\n`);
  const args = [
    ...pin,
    'wrk',
    '-t1',
    `-c${connections}`,
    `-d${seconds}s`,
    '--latency',
    '-s',
    script,
    `${url}${request.path}`,
  ];
  const output = await new Promise<string>((resolve, reject) => {
    const child = spawn(args[0] ?? 'wrk', args.slice(1));
    let text = '';
    child.stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (text += chunk.toString()));
    child.on('error', reject);
    child.on('close', () => resolve(text));
  }).finally(() => rmSync(script, { force: true }));
  const number = (pattern: RegExp) => Number(pattern.exec(output)?.[1] ?? 0);
  const socketErrors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(output);
  return {
    requestsPerSecond: number(/Requests\/sec:\s+([\d.]+)/),
    totalRequests: number(/(\d+) requests in/),
    p50: toMs(/\s50%\s+(\S+)/.exec(output)?.[1]),
    p99: toMs(/\s99%\s+(\S+)/.exec(output)?.[1]),
    errors: socketErrors ? socketErrors.slice(1).reduce((sum, count) => sum + Number(count), 0) : 0,
    non2xx: number(/Non-2xx or 3xx responses:\s+(\d+)/),
  };
}

async function withAutocannon({ url, request, seconds, connections }: LoadOptions): Promise<LoadResult> {
  const result = await autocannon({
    url: `${url}${request.path}`,
    method: request.method ?? 'GET',
    headers: request.headers,
    body: request.body,
    connections,
    duration: seconds,
  });
  return {
    requestsPerSecond: result.requests.average,
    totalRequests: result.requests.total,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors,
    non2xx: result.non2xx,
  };
}

export function generateLoad(options: LoadOptions): Promise<LoadResult> {
  return LOAD_GENERATOR === 'wrk' ? withWrk(options) : withAutocannon(options);
}
