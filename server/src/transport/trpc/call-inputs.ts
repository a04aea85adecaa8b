import type { IncomingMessage } from 'node:http';
import { TRPCError, type AnyTRPCRouter } from '@trpc/server';
import { isObject } from '@trpc/server/unstable-core-do-not-import';
import { readBodyText, withoutByteOrderMark } from '../../core/http/body-text.ts';

type Inputs = Record<number, unknown>;

/** What a call that asks for its input sees when the body is over `maxBodySize` (as in tRPC). */
const tooLarge = () => new TRPCError({ code: 'PAYLOAD_TOO_LARGE' });

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
    this.pending ??= readBodyText(this.source.req, { maxBytes: this.options.maxBodySize ?? Infinity, tooLarge })
      .then((text) => {
        // As a Fetch `Request.text()` decodes it, which the official adapter reads.
        const body = withoutByteOrderMark(text);
        return this.parse(body ? JSON.parse(body) : undefined);
      })
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
