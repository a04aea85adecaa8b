import { recordRequestSecrets, recordResponseSecrets, type SentRequest } from './exchange-secrets.ts';

/**
 * Wraps the global fetch so that every request a test makes, through any helper, the typed
 * client or a bare fetch, has its secrets recorded for the log audit. Requests and answers
 * are passed through untouched; an answer's JSON is read from a clone.
 */

type FetchInput = Parameters<typeof fetch>[0];

/** Reading a body that can hold no secret would only cost time (fuzzing sends 1 MiB bodies). */
const MAY_HOLD_SECRET = /password|token/i;
const pendingReads = new Set<Promise<void>>();

function authorizationOf(headers: RequestInit['headers']): string | undefined {
  try {
    return new Headers(headers).get('authorization') ?? undefined;
  } catch {
    return undefined;
  }
}

function textOf(body: RequestInit['body']): string | undefined {
  if (typeof body === 'string') return body;
  if (body instanceof Uint8Array) return Buffer.from(body).toString('utf8');
  return undefined;
}

async function describeRequest(input: FetchInput, init: RequestInit | undefined): Promise<SentRequest> {
  if (input instanceof Request) {
    const body = input.body === null ? undefined : await input.clone().text();
    return { url: input.url, authorization: input.headers.get('authorization') ?? undefined, body };
  }
  return { url: String(input), authorization: authorizationOf(init?.headers), body: textOf(init?.body) };
}

/** A streamed tRPC batch (`httpBatchStreamLink`): its reader aborts the request once it has every answer. */
function isStreamed(input: FetchInput, init: RequestInit | undefined): boolean {
  try {
    const headers = input instanceof Request ? input.headers : new Headers(init?.headers);
    return headers.get('trpc-accept') === 'application/jsonl';
  } catch {
    return false;
  }
}

/**
 * The answer with its body recorded as the caller reads it. A clone would not do for a
 * stream: once its reader has aborted the request, the clone's read never settles.
 */
function recordedAsRead(response: Response): Response {
  const decoder = new TextDecoder();
  let text = '';
  const body = response.body?.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        text += decoder.decode(chunk, { stream: true });
        controller.enqueue(chunk);
      },
      flush() {
        if (MAY_HOLD_SECRET.test(text)) recordResponseSecrets(text);
      },
    }),
  );
  return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
}

const UNWRAPPED = Symbol.for('orders.logAudit.unwrappedFetch');
type MaybeWrapped = typeof fetch & { [UNWRAPPED]?: typeof fetch };

export function installFetchRecorder(): void {
  // A worker that runs several test files keeps its globals: wrap the real fetch again, not
  // the previous file's wrapper, so the records go to this file's buffers.
  const original = (globalThis.fetch as MaybeWrapped)[UNWRAPPED] ?? globalThis.fetch;
  const recording = async (input: FetchInput, init?: RequestInit): Promise<Response> => {
    const sent = await describeRequest(input, init);
    const response = await original(input, init);
    if (sent.authorization !== undefined || MAY_HOLD_SECRET.test(`${sent.url}${sent.body ?? ''}`))
      recordRequestSecrets(sent, response.status);
    if (isStreamed(input, init) && response.body !== null) return recordedAsRead(response);
    if (response.headers.get('content-type')?.includes('json') && response.body !== null) {
      const read = response
        .clone()
        .text()
        .then((text) => {
          if (MAY_HOLD_SECRET.test(text)) recordResponseSecrets(text);
        })
        .catch(() => undefined)
        .finally(() => pendingReads.delete(read));
      pendingReads.add(read);
    }
    return response;
  };
  globalThis.fetch = Object.assign(recording, { [UNWRAPPED]: original });
}

/** Waits for the answers still being read, so their tokens are recorded before the file ends. */
export async function settleFetchRecords(): Promise<void> {
  await Promise.all([...pendingReads]);
}
