/** A small HTTP client for the soak: one call of one procedure over REST or tRPC, timed. */

export type Protocol = 'rest' | 'trpc';

interface Route {
  type: 'query' | 'mutation';
  method: 'GET' | 'POST';
  /** Under `/api/v1`; `{name}` takes the input key of that name. */
  path: string;
}

const ROUTES = {
  'auth.register': { type: 'mutation', method: 'POST', path: '/auth/register' },
  'auth.login': { type: 'mutation', method: 'POST', path: '/auth/login' },
  'auth.me': { type: 'query', method: 'GET', path: '/auth/me' },
  'products.list': { type: 'query', method: 'GET', path: '/products' },
  'products.get': { type: 'query', method: 'GET', path: '/products/{productId}' },
  'orders.create': { type: 'mutation', method: 'POST', path: '/orders/create' },
  'orders.pay': { type: 'mutation', method: 'POST', path: '/orders/{orderId}/pay' },
  'orders.cancel': { type: 'mutation', method: 'POST', path: '/orders/{orderId}/cancel' },
  'orders.get': { type: 'query', method: 'GET', path: '/orders/{orderId}' },
  'orders.list': { type: 'query', method: 'GET', path: '/orders' },
} as const satisfies Record<string, Route>;

export type Procedure = keyof typeof ROUTES;

export interface Answer<Data = unknown> {
  /** 0 when no HTTP answer came (a network error or the timeout). */
  status: number;
  /** The error envelope's code, or NETWORK_ERROR / TIMEOUT. */
  code: string | undefined;
  data: Data;
  ms: number;
}

export interface CallOptions {
  protocol: Protocol;
  input?: Record<string, unknown>;
  token?: string | undefined;
  headers?: Record<string, string>;
  timeoutMs?: number;
}

function request(baseUrl: string, procedure: Procedure, { protocol, input = {} }: CallOptions) {
  const route: Route = ROUTES[procedure];
  if (protocol === 'trpc') {
    const url = new URL(`${baseUrl}/trpc/v1.${procedure}`);
    if (route.type === 'query') {
      url.searchParams.set('input', JSON.stringify(input));
      return { url: url.toString(), method: 'GET', body: undefined };
    }
    return { url: url.toString(), method: 'POST', body: JSON.stringify(input) };
  }
  const rest = { ...input };
  const path = route.path.replace(/\{(\w+)\}/g, (_match, name: string) => {
    const value = rest[name];
    delete rest[name];
    return encodeURIComponent(String(value));
  });
  const url = new URL(`${baseUrl}/api/v1${path}`);
  if (route.method === 'GET') {
    for (const [key, value] of Object.entries(rest)) url.searchParams.set(key, String(value));
    return { url: url.toString(), method: 'GET', body: undefined };
  }
  return { url: url.toString(), method: route.method, body: JSON.stringify(rest) };
}

function errorCodeOf(protocol: Protocol, body: unknown): string | undefined {
  if (protocol === 'rest') return (body as { code?: string } | undefined)?.code;
  return (body as { error?: { data?: { code?: string } } } | undefined)?.error?.data?.code;
}

export async function call<Data = unknown>(
  baseUrl: string,
  procedure: Procedure,
  options: CallOptions,
): Promise<Answer<Data>> {
  const { url, method, body } = request(baseUrl, procedure, options);
  const headers: Record<string, string> = { ...options.headers };
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const started = performance.now();
  try {
    const res = await fetch(url, {
      method,
      headers,
      body,
      signal: AbortSignal.timeout(options.timeoutMs ?? 30_000),
    });
    const text = await res.text();
    const parsed: unknown = text === '' ? undefined : JSON.parse(text);
    const ok = res.status < 400;
    const data = ok && options.protocol === 'trpc' ? (parsed as { result: { data: unknown } }).result.data : parsed;
    return {
      status: res.status,
      code: ok ? undefined : errorCodeOf(options.protocol, parsed),
      data: data as Data,
      ms: performance.now() - started,
    };
  } catch (error) {
    const timedOut = error instanceof Error && error.name === 'TimeoutError';
    return {
      status: 0,
      code: timedOut ? 'TIMEOUT' : 'NETWORK_ERROR',
      data: undefined as Data,
      ms: performance.now() - started,
    };
  }
}
