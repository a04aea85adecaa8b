import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import autocannon from 'autocannon';

export interface LoadRequest {
  path: string;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  /** Bodies sent in turn, one a request, in place of `body` (orders spread over many products). */
  bodies?: string[];
  /** A header given a value no other request of the run has (an Idempotency-Key). */
  uniqueHeader?: string;
}

/** What makes one slice's unique header values differ from every other slice's. */
let slices = 0;
const uniquePrefix = () => `bench-${process.pid}-${Date.now()}-${++slices}`;

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
  // The scratch folder is git-ignored, so a fresh clone has none until the first load.
  mkdirSync(scratchDir, { recursive: true });
  const script = `${scratchDir}/wrk-${process.pid}.lua`;
  const lines = [`wrk.method = ${luaString(request.method ?? 'GET')}`];
  for (const [name, value] of Object.entries(request.headers ?? {}))
    lines.push(`wrk.headers[${luaString(name)}] = ${luaString(value)}`);
  if (request.body !== undefined) lines.push(`wrk.body = ${luaString(request.body)}`);
  if (request.bodies !== undefined || request.uniqueHeader !== undefined) {
    // A request built per call: wrk then cannot reuse one prebuilt request, which costs it a
    // little CPU on its own core, none on the server's.
    const bodies = request.bodies ?? [request.body ?? ''];
    lines.push(`local bodies = { ${bodies.map(luaString).join(', ')} }`, 'local sent = 0');
    lines.push('request = function()', '  sent = sent + 1');
    if (request.uniqueHeader !== undefined)
      lines.push(`  wrk.headers[${luaString(request.uniqueHeader)}] = ${luaString(uniquePrefix())} .. "-" .. sent`);
    lines.push('  return wrk.format(nil, nil, nil, bodies[(sent % #bodies) + 1])', 'end');
  }
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
  const prefix = uniquePrefix();
  let sent = 0;
  const varies = request.bodies !== undefined || request.uniqueHeader !== undefined;
  const result = await autocannon({
    url: `${url}${request.path}`,
    method: request.method ?? 'GET',
    headers: request.headers,
    body: request.body,
    connections,
    duration: seconds,
    ...(varies && {
      requests: [
        {
          setupRequest: (built) => {
            sent += 1;
            const bodies = request.bodies ?? [request.body ?? ''];
            const headers = { ...built.headers };
            if (request.uniqueHeader !== undefined) headers[request.uniqueHeader] = `${prefix}-${sent}`;
            return { ...built, headers, body: bodies[sent % bodies.length] };
          },
        },
      ],
    }),
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
