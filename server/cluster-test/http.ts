import type { AuthSession } from '@orders/shared';

/** One REST answer as a client saw it: a status and body, or the network error it got instead. */
export interface Answer {
  status: number;
  body: Record<string, unknown> | undefined;
  /** Set when no HTTP answer came back at all. */
  networkError?: string;
}

/** `request` is the method and path under /api, e.g. `POST /v1/auth/login`. */
export async function rest(
  baseUrl: string,
  request: `${'GET' | 'POST'} /${string}`,
  { body, token, headers = {} }: { body?: unknown; token?: string; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const [method, path] = request.split(' ') as ['GET' | 'POST', string];
  const requestHeaders: Record<string, string> = { ...headers };
  if (token !== undefined) requestHeaders.authorization = `Bearer ${token}`;
  if (body !== undefined) requestHeaders['content-type'] = 'application/json';
  try {
    const res = await fetch(`${baseUrl}/api${path}`, {
      method,
      headers: requestHeaders,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await res.text();
    let parsed: Record<string, unknown> | undefined;
    try {
      parsed = text === '' ? undefined : (JSON.parse(text) as Record<string, unknown>);
    } catch {
      parsed = { text: text.slice(0, 200) };
    }
    return { status: res.status, body: parsed };
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code;
    return { status: 0, body: undefined, networkError: cause ?? (error as Error).name };
  }
}

export const errorCode = (answer: Answer): string | undefined =>
  typeof answer.body?.code === 'string' ? answer.body.code : undefined;

export async function register(baseUrl: string, email: string): Promise<AuthSession> {
  const answer = await rest(baseUrl, 'POST /v1/auth/register', {
    body: { email, password: 'cluster-password-1', name: 'Cluster customer' },
  });
  if (answer.status !== 200) throw new Error(`register ${email}: ${answer.status} ${JSON.stringify(answer.body)}`);
  return answer.body as unknown as AuthSession;
}

export function placeOrder(
  baseUrl: string,
  { token, productId, quantity = 1, key }: { token: string; productId: string; quantity?: number; key: string },
): Promise<Answer> {
  return rest(baseUrl, 'POST /v1/orders/create', {
    token,
    headers: { 'idempotency-key': key },
    body: { items: [{ productId, quantity }], paymentMethod: 'pm_card_visa' },
  });
}
