import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  confirmIntent,
  errorAnswer,
  eventOf,
  id,
  now,
  refundedCharge,
  type PaymentIntent,
  type Refund,
  type StripeAnswer,
} from './stripe-objects.ts';

/**
 * A local Stripe-compatible server for the suite, following Stripe's API reference for what the
 * service uses: form-encoded POST /v1/payment_intents (created and confirmed at once), GET
 * /v1/payment_intents/:id, POST /v1/refunds, `Authorization: Bearer sk_…`, Idempotency-Key
 * replays (same answer, `Idempotent-Replayed: true`; other parameters under a used key are an
 * idempotency_error), Stripe's error objects, and signed webhook deliveries (`Stripe-Signature:
 * t=…,v1=HMAC-SHA256(secret, "t.payload")`). It runs in the test process, so its records
 * outlive a server process the test kills.
 */

export const TEST_SECRET_KEY = 'sk_test_localStripe0123456789abcdef';
export const TEST_WEBHOOK_SECRET = 'whsec_localStripeSigning0123456789abcdef';

export interface Delivery {
  event: { id: string; type: string };
  status: number;
  body: string;
  /** The X-Request-Id the endpoint answered with: its log lines carry it. */
  requestId: string | null;
}

/** Stripe's signature header for `payload`, signed at `timestamp` (seconds) with `secret`. */
export function signatureHeader(payload: string, { secret, timestamp }: { secret: string; timestamp: number }): string {
  const signature = createHmac('sha256', secret).update(`${timestamp}.${payload}`).digest('hex');
  return `t=${timestamp},v1=${signature}`;
}

/** `metadata[order_id]=x` → { metadata: { order_id: 'x' } }, as Stripe reads form bodies. */
function parseForm(text: string): Record<string, string | Record<string, string>> {
  const params: Record<string, string | Record<string, string>> = {};
  for (const [key, value] of new URLSearchParams(text)) {
    const nested = /^(\w{1,64})\[(\w{1,64})\]$/.exec(key);
    if (!nested) {
      params[key] = value;
      continue;
    }
    const [, outer = '', inner = ''] = nested;
    const group = params[outer];
    params[outer] = { ...(typeof group === 'object' ? group : {}), [inner]: value };
  }
  return params;
}

async function bodyOf(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function startStripeServer({ secretKey = TEST_SECRET_KEY } = {}) {
  const intents = new Map<string, PaymentIntent>();
  const refunds = new Map<string, Refund>();
  const replies = new Map<string, { fingerprint: string; answer: StripeAnswer }>();
  const failures: StripeAnswer[] = [];
  const deliveries: Delivery[] = [];
  let webhook: { url: string; secret: string } | undefined;
  let autoDeliver = true;
  const settings = { responseDelayMs: 0 };
  let requests = 0;

  async function deliver(
    event: { id: string; type: string },
    {
      secret = webhook?.secret ?? '',
      timestamp = now(),
      signature,
    }: { secret?: string; timestamp?: number; signature?: string } = {},
  ): Promise<Delivery> {
    if (!webhook) throw new Error('no webhook endpoint configured');
    const payload = JSON.stringify(event, null, 2);
    const res = await fetch(webhook.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json; charset=utf-8',
        ...(signature === ''
          ? {}
          : { 'stripe-signature': signature ?? signatureHeader(payload, { secret, timestamp }) }),
      },
      body: payload,
    });
    const delivery = { event, status: res.status, body: await res.text(), requestId: res.headers.get('x-request-id') };
    deliveries.push(delivery);
    return delivery;
  }
  const events: { id: string; type: string; data: { object: unknown } }[] = [];
  const emit = (type: string, object: unknown) => {
    const event = eventOf(type, object);
    events.push(event);
    if (webhook && autoDeliver) void deliver(event).catch(() => undefined);
  };

  function createIntent(params: Record<string, string | Record<string, string>>): StripeAnswer {
    const amount = Number(params.amount);
    if (!Number.isInteger(amount) || amount < 1 || typeof params.currency !== 'string') {
      return errorAnswer(400, {
        type: 'invalid_request_error',
        code: 'parameter_missing',
        message: 'Missing amount or currency',
      });
    }
    const metadata = typeof params.metadata === 'object' ? params.metadata : {};
    const { intent, answer } = confirmIntent({
      amount,
      currency: params.currency,
      paymentMethod: typeof params.payment_method === 'string' ? params.payment_method : '',
      metadata,
    });
    if (intent) {
      intents.set(intent.id, intent);
      emit(intent.status === 'succeeded' ? 'payment_intent.succeeded' : 'payment_intent.payment_failed', intent);
    }
    return answer;
  }

  function createRefund(params: Record<string, string | Record<string, string>>): StripeAnswer {
    const intent = typeof params.payment_intent === 'string' ? intents.get(params.payment_intent) : undefined;
    if (!intent) {
      return errorAnswer(400, {
        type: 'invalid_request_error',
        code: 'resource_missing',
        param: 'payment_intent',
        message: 'No such payment_intent',
      });
    }
    if (intent.status !== 'succeeded') {
      return errorAnswer(400, {
        type: 'invalid_request_error',
        code: 'charge_already_refunded',
        message: 'This PaymentIntent has nothing to refund',
      });
    }
    const refund: Refund = {
      id: id('re'),
      object: 'refund',
      amount: params.amount === undefined ? intent.amount : Number(params.amount),
      currency: intent.currency,
      payment_intent: intent.id,
      charge: intent.latest_charge,
      status: 'succeeded',
      created: now(),
    };
    refunds.set(refund.id, refund);
    emit('charge.refunded', refundedCharge(intent, refund));
    return { status: 200, body: refund };
  }

  async function answerPost(req: IncomingMessage, path: string): Promise<StripeAnswer & { replayed?: boolean }> {
    const text = await bodyOf(req);
    const injected = failures.shift();
    if (injected) return injected;
    const key = req.headers['idempotency-key'];
    const fingerprint = `${path}\n${text}`;
    const earlier = typeof key === 'string' ? replies.get(key) : undefined;
    if (earlier) {
      if (earlier.fingerprint !== fingerprint) {
        return errorAnswer(400, {
          type: 'idempotency_error',
          message: 'Keys for idempotent requests can only be used with the same parameters they were first used with.',
        });
      }
      return { ...earlier.answer, replayed: true };
    }
    const params = parseForm(text);
    const answer = path === '/v1/payment_intents' ? createIntent(params) : createRefund(params);
    // Stripe keeps the answer of every request that began executing, errors included.
    if (typeof key === 'string') replies.set(key, { fingerprint, answer });
    if (path === '/v1/payment_intents' && settings.responseDelayMs > 0) await sleep(settings.responseDelayMs);
    return answer;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<StripeAnswer & { replayed?: boolean }> {
    requests += 1;
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (req.headers.authorization !== `Bearer ${secretKey}`) {
      await bodyOf(req);
      return errorAnswer(401, { type: 'invalid_request_error', message: 'Invalid API Key provided' });
    }
    if (req.method === 'POST' && (path === '/v1/payment_intents' || path === '/v1/refunds'))
      return answerPost(req, path);
    const retrieve = /^\/v1\/payment_intents\/(pi_[0-9a-f]{1,64})$/.exec(path);
    if (req.method === 'GET' && retrieve) {
      const intent = intents.get(retrieve[1] ?? '');
      return intent
        ? { status: 200, body: intent }
        : errorAnswer(404, {
            type: 'invalid_request_error',
            code: 'resource_missing',
            message: 'No such payment_intent',
          });
    }
    res.setHeader('x-unhandled', '1');
    return errorAnswer(404, {
      type: 'invalid_request_error',
      message: `Unrecognized request URL (${req.method} ${path})`,
    });
  }

  const server = createServer((req, res) => {
    void handle(req, res).then(({ status, body, replayed }) => {
      if (res.destroyed) return;
      res.writeHead(status, {
        'content-type': 'application/json',
        'request-id': id('req'),
        // Only what the test injected may be retried by the SDK: one failure, one error.
        'stripe-should-retry': 'false',
        ...(replayed ? { 'idempotent-replayed': 'true' } : {}),
      });
      res.end(JSON.stringify(body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    settings,
    events,
    deliveries,
    get requests() {
      return requests;
    },
    /** Where events go, signed with `secret`; with `auto` false they wait for `deliver`. */
    sendWebhooksTo(url: string, { secret = TEST_WEBHOOK_SECRET, auto = true } = {}) {
      webhook = { url, secret };
      autoDeliver = auto;
    },
    deliver,
    /** The next POSTs answer these, in order, without doing anything (rate limits, outages). */
    failNext(...answers: StripeAnswer[]) {
      failures.push(...answers);
    },
    intentsFor(orderId: string): PaymentIntent[] {
      return [...intents.values()].filter((intent) => intent.metadata.order_id === orderId);
    },
    succeededChargesFor(orderId: string): number {
      return this.intentsFor(orderId).filter((intent) => intent.status === 'succeeded').length;
    },
    refundsFor(orderId: string): Refund[] {
      const ids = new Set(this.intentsFor(orderId).map((intent) => intent.id));
      return [...refunds.values()].filter((refund) => ids.has(refund.payment_intent));
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export type StripeServer = Awaited<ReturnType<typeof startStripeServer>>;
