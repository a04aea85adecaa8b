import type { IncomingMessage } from 'node:http';
import { TRPCError, type AnyTRPCRouter } from '@trpc/server';
import { isObject } from '@trpc/server/unstable-core-do-not-import';
import { bodyBrokenOff } from '../../core/http/json-body.ts';

type Inputs = Record<number, unknown>;

/**
 * The raw body as text, at most `maxBodySize` bytes, the way a Fetch `Request.text()` decodes
 * it. A body that stops arriving (the client hung up, or the server stopped waiting) fails
 * with `bodyBrokenOff`'s error, also when that happened before the read began.
 */
function readBodyText(req: IncomingMessage, maxBodySize: number | null): Promise<string> {
  return new Promise((resolve, reject) => {
    if (req.destroyed && !req.readableEnded) {
      reject(bodyBrokenOff(req.errored));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (maxBodySize === null || size <= maxBodySize) {
        chunks.push(chunk);
        return;
      }
      cleanup();
      reject(new TRPCError({ code: 'PAYLOAD_TOO_LARGE' }));
    };
    const onEnd = () => {
      cleanup();
      const text = Buffer.concat(chunks).toString('utf8');
      // TextDecoder, which Request.text() uses, drops a leading byte order mark.
      resolve(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
    };
    // A request destroyed without an error (nobody was listening for one then) only closes.
    const onBreak = (error?: Error) => {
      cleanup();
      reject(bodyBrokenOff(error ?? req.errored));
    };
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onBreak);
      req.off('close', onBreak);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onBreak);
    req.on('close', onBreak);
  });
}

/** What a call sees when the inputs cannot be read: the TRPCError, or BAD_REQUEST with the cause's message. */
function asInputError(cause: unknown): TRPCError {
  if (cause instanceof TRPCError) return cause;
  return new TRPCError({
    code: 'BAD_REQUEST',
    message: cause instanceof Error ? cause.message : 'Invalid input',
    cause,
  });
}

interface Source {
  req: IncomingMessage;
  query: URLSearchParams;
  isBatchCall: boolean;
  callCount: number;
}

/**
 * The calls' inputs, from the `input` query parameter (GET) or the JSON body (POST), read
 * lazily and once, as tRPC 11's JSON content handler does: only a procedure with an input
 * parser asks, so a no-input procedure ignores a bad body, and a bad or oversized body is an
 * error of each call that asks, not of the request. A class, not closures: one object per
 * request on the hot path.
 */
export class CallInputs {
  private pending: Promise<Inputs> | undefined;
  private settled: Inputs | undefined;

  constructor(
    private readonly source: Source,
    private readonly options: { router: AnyTRPCRouter; maxBodySize: number | null },
  ) {}

  /**
   * The input of call `index`, read (and parsed) on first use by any call. A GET's inputs are
   * in its URL: they are parsed at once and handed over in a settled promise.
   */
  read(index: number): Promise<unknown> {
    if (this.settled) return Promise.resolve(this.settled[index]);
    if (!this.pending && this.source.req.method === 'GET') {
      try {
        this.settled = this.parse(this.queryInput());
        return Promise.resolve(this.settled[index]);
      } catch (cause) {
        this.pending = Promise.reject(asInputError(cause));
      }
    }
    return this.readAll().then((inputs) => inputs[index]);
  }

  /** The input of call `index` if it was read, for error shapes and `onError`. */
  result(index: number): unknown {
    return this.settled?.[index];
  }

  private readAll(): Promise<Inputs> {
    this.pending ??= readBodyText(this.source.req, this.options.maxBodySize)
      .then((body) => this.parse(body ? JSON.parse(body) : undefined))
      .then(
        (inputs) => (this.settled = inputs),
        (cause: unknown) => {
          throw asInputError(cause);
        },
      );
    return this.pending;
  }

  private queryInput(): unknown {
    const queryInput = this.source.query.get('input');
    return queryInput ? JSON.parse(queryInput) : undefined;
  }

  /** Each call's input: the whole input for a single call, its key ("0", "1", …) in a batch. */
  private parse(inputs: unknown): Inputs {
    const { isBatchCall, callCount } = this.source;
    const parsed = Object.create(null) as Inputs;
    if (inputs === undefined) return parsed;
    if (!isBatchCall) {
      parsed[0] = this.deserialize(inputs);
      return parsed;
    }
    if (!isObject(inputs)) {
      throw new TRPCError({ code: 'BAD_REQUEST', message: '"input" needs to be an object when doing a batch call' });
    }
    for (let index = 0; index < callCount; index++) {
      const input = inputs[index];
      if (input !== undefined) parsed[index] = this.deserialize(input);
    }
    return parsed;
  }

  private deserialize(value: unknown): unknown {
    return this.options.router._def._config.transformer.input.deserialize(value);
  }
}
