import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS, REDACTED, isSecretKey, redact, redactString, type RedactLimits } from './redact.ts';

const base64url = (text: string) => Buffer.from(text).toString('base64url');
/** A token shaped like the ones the service signs: header.payload.signature. */
const JWT = [
  base64url('{"alg":"HS256","typ":"JWT"}'),
  base64url('{"sub":"usr_123","typ":"access","exp":1900000000}'),
  'c2lnbmF0dXJlLWJ5dGVzLWdvLWhlcmU',
].join('.');
const ARGON2_HASH = '$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$aGFzaGVkLXBhc3N3b3JkLWJ5dGVz';
const BCRYPT_HASH = '$2b$10$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234';

function nested(levels: number): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  let current = root;
  for (let level = 0; level < levels; level++) {
    const child: Record<string, unknown> = {};
    current.child = child;
    current = child;
  }
  current.password = 'bottom-secret';
  return root;
}

describe('redact: secret keys', () => {
  const secretKeys = [
    'password',
    'passwordHash',
    'password_hash',
    'password_confirmation',
    'newPassword',
    'accessToken',
    'refreshToken',
    'refresh_token',
    'token',
    'authorization',
    'Authorization',
    'cookie',
    'set-cookie',
    'secret',
    'clientSecret',
    'jwt_secret',
    'card',
    'creditCard',
    'card_number',
    'cvc',
    'api_key',
    'apiKey',
    'x-api-key',
    'privateKey',
    'credentials',
    'token_hash',
  ];

  it.each(secretKeys)('replaces %s at the top and at any depth', (key) => {
    const secret = `value-of-${key}`;
    expect(redact({ [key]: secret })).toEqual({ [key]: REDACTED });
    expect(redact({ order: { lines: [{ payment: { [key]: secret } }] } })).toEqual({
      order: { lines: [{ payment: { [key]: REDACTED } }] },
    });
  });

  it('replaces a secret whatever its value is: objects, numbers, arrays', () => {
    expect(redact({ card: { number: '4242424242424242', exp: '12/30' }, pin: 1234, cookie: ['a=1', 'b=2'] })).toEqual({
      card: REDACTED,
      pin: REDACTED,
      cookie: REDACTED,
    });
  });

  const harmlessKeys = [
    'tokenType',
    'token_type',
    'accessTokenTtlSeconds',
    'expiresIn',
    'email',
    'user_id',
    'status',
    'total_amount',
    'cardinality',
    'stack',
  ];

  it.each(harmlessKeys)('keeps %s', (key) => {
    expect(redact({ [key]: 'Bearer-free plain value' })).toEqual({ [key]: 'Bearer-free plain value' });
    expect(isSecretKey(key)).toBe(false);
  });

  it('keeps a login response readable but without its tokens', () => {
    const response = {
      accessToken: JWT,
      refreshToken: 'opaque-refresh-value',
      tokenType: 'Bearer',
      accessTokenTtlSeconds: 900,
      user: { id: 'usr_123', email: 'ada@example.com', role: 'customer' },
    };
    expect(redact(response)).toEqual({
      accessToken: REDACTED,
      refreshToken: REDACTED,
      tokenType: 'Bearer',
      accessTokenTtlSeconds: 900,
      user: { id: 'usr_123', email: 'ada@example.com', role: 'customer' },
    });
  });

  it('does not change the value it was given', () => {
    const input = { password: 'hunter2-secret', nested: { token: 't' } };
    redact(input);
    expect(input).toEqual({ password: 'hunter2-secret', nested: { token: 't' } });
  });
});

describe('redact: secrets inside values', () => {
  it('replaces a JWT inside free text and keeps the rest', () => {
    const result = redact({ note: `client sent ${JWT} twice` });
    expect(result).toEqual({ note: `client sent ${REDACTED} twice` });
  });

  it('replaces JWTs inside arrays and under harmless keys', () => {
    expect(redact(['plain', JWT, { value: JWT }])).toEqual(['plain', REDACTED, { value: REDACTED }]);
  });

  it('replaces the credential after Bearer or Basic inside a string', () => {
    const text = redactString('retrying with header Bearer xyz.abc-123_token after 401');
    expect(text).toBe(`retrying with header Bearer ${REDACTED} after 401`);
    expect(redactString('Authorization: basic dXNlcjpwYXNz')).toBe(`Authorization: basic ${REDACTED}`);
    expect(redact({ header: 'Bearer xyz' })).toEqual({ header: `Bearer ${REDACTED}` });
  });

  it('replaces argon2 and bcrypt hashes wherever they sit', () => {
    expect(redact({ stored: ARGON2_HASH, legacy: BCRYPT_HASH, list: [ARGON2_HASH] })).toEqual({
      stored: REDACTED,
      legacy: REDACTED,
      list: [REDACTED],
    });
  });

  it('replaces a JWT in a URL', () => {
    const result = redact({ link: new URL(`https://app.example.com/reset?t=${JWT}`) });
    expect(JSON.stringify(result)).not.toContain(JWT);
  });

  it('leaves ordinary text alone', () => {
    expect(redactString('Order ord_123 paid by ada@example.com')).toBe('Order ord_123 paid by ada@example.com');
  });
});

describe('redact: never throws, always bounded', () => {
  it('marks a cycle as [Circular]', () => {
    const order: Record<string, unknown> = { id: 'ord_1' };
    order.self = order;
    order.lines = [order];
    expect(redact(order)).toEqual({ id: 'ord_1', self: '[Circular]', lines: ['[Circular]'] });
  });

  it('does not mistake a value seen twice for a cycle', () => {
    const address = { city: 'Lyon' };
    expect(redact({ billing: address, shipping: address })).toEqual({
      billing: { city: 'Lyon' },
      shipping: { city: 'Lyon' },
    });
  });

  it('caps a 10,000-level deep object without throwing', () => {
    let result: unknown;
    expect(() => {
      result = redact(nested(10_000));
    }).not.toThrow();
    const text = JSON.stringify(result);
    expect(text).toContain('[Truncated: too deep]');
    expect(text.length).toBeLessThan(1_000);
  });

  it('caps a 10,000-level deep array without throwing', () => {
    let deep: unknown[] = [];
    for (let level = 0; level < 10_000; level++) deep = [deep];
    expect(() => JSON.stringify(redact(deep))).not.toThrow();
  });

  it('truncates a huge string and says by how much', () => {
    const huge = 'x'.repeat(1_000_000);
    const result = redact({ body: huge });
    expect(result).toEqual({
      body: `${'x'.repeat(DEFAULT_LIMITS.maxStringLength)}…[truncated ${1_000_000 - DEFAULT_LIMITS.maxStringLength} chars]`,
    });
  });

  it('caps long arrays and wide objects', () => {
    const items = redact(Array.from({ length: 10_000 }, (_, index) => index));
    expect(items).toHaveLength(DEFAULT_LIMITS.maxArrayItems + 1);
    expect(JSON.stringify(items)).toContain(`[…${10_000 - DEFAULT_LIMITS.maxArrayItems} more]`);

    const wide = Object.fromEntries(Array.from({ length: 5_000 }, (_, index) => [`key_${index}`, index]));
    const keys = Object.keys(redact(wide) as object);
    expect(keys.length).toBe(DEFAULT_LIMITS.maxObjectKeys + 1);
  });

  it('survives a getter that throws and still redacts the rest', () => {
    const tricky = {
      id: 'ord_1',
      password: 'hunter2-secret',
      get total(): number {
        throw new Error('not loaded');
      },
    };
    let result: unknown;
    expect(() => {
      result = redact(tricky);
    }).not.toThrow();
    expect(result).toEqual({ id: 'ord_1', password: REDACTED, total: '[Unreadable: not loaded]' });
  });

  it('turns a BigInt, a Date, a function, a symbol, a Buffer, a Map and a Set into JSON-safe values', () => {
    const result = redact({
      big: 12_345_678_901_234_567_890n,
      at: new Date('2030-01-02T03:04:05.000Z'),
      bad: new Date('nope'),
      fn: function handler() {},
      sym: Symbol('tag'),
      bytes: Buffer.from('secret bytes'),
      map: new Map<string, unknown>([
        ['id', 1],
        ['password', 'map-secret'],
      ]),
      set: new Set([JWT]),
    });
    expect(result).toEqual({
      big: '12345678901234567890',
      at: '2030-01-02T03:04:05.000Z',
      bad: 'Invalid Date',
      fn: '[Function handler]',
      sym: 'Symbol(tag)',
      bytes: '[Buffer 12 bytes]',
      map: { id: 1, password: REDACTED },
      set: [REDACTED],
    });
    expect(() => JSON.stringify(result)).not.toThrow();
  });
});

describe('redact: errors', () => {
  it('turns an Error into {name, message, stack, cause}, the cause too', () => {
    const error = new Error('payment failed', { cause: new TypeError('socket hang up') });
    const result = redact(error);
    expect(result).toEqual({
      name: 'Error',
      message: 'payment failed',
      stack: expect.stringContaining('payment failed') as unknown,
      cause: {
        name: 'TypeError',
        message: 'socket hang up',
        stack: expect.stringContaining('socket hang up') as unknown,
      },
    });
    expect(JSON.parse(JSON.stringify(result))).toEqual(result);
  });

  it('keeps the extra fields of a custom error, redacted', () => {
    class PaymentGatewayError extends Error {
      override name = 'PaymentGatewayError';
      readonly gateway = 'simulated';
      readonly apiKey = 'sk_live_do_not_log';
    }
    const result = redact({ error: new PaymentGatewayError(`declined for ${JWT}`) });
    expect(result).toMatchObject({
      error: {
        name: 'PaymentGatewayError',
        message: `declined for ${REDACTED}`,
        gateway: 'simulated',
        apiKey: REDACTED,
      },
    });
    expect(JSON.stringify(result)).not.toContain('sk_live_do_not_log');
    expect(JSON.stringify(result)).not.toContain(JWT);
  });

  it('handles an error whose cause is itself', () => {
    const error = new Error('loop');
    error.cause = error;
    expect(redact(error)).toMatchObject({ name: 'Error', message: 'loop', cause: '[Circular]' });
  });
});

describe('redact: hostile text is read in linear time', () => {
  /** Milliseconds `redactString` takes on `text`. */
  function timed(text: string, limits: RedactLimits = DEFAULT_LIMITS): number {
    const started = performance.now();
    redactString(text, limits);
    return performance.now() - started;
  }
  /** Long enough to keep a whole megabyte: the patterns themselves must be linear, not just the cut. */
  const WHOLE: RedactLimits = { ...DEFAULT_LIMITS, maxStringLength: 2 * 1024 * 1024 };
  const SIZES = [16 * 1024, 64 * 1024, 256 * 1024, 1024 * 1024];
  const SHAPES = ['eyJ', 'eyJa.', 'eyJaaaaa.', 'eyJ-', 'Bearer ', 'Basic\t', 'bearer', '$argon2', '$2b$'];

  // Sizes go up four times at a time, so a quadratic pattern fails on the first (16 KB of
  // `eyJ` took 0.4 s) before a larger one could hold the test for minutes.
  it.each(SHAPES)('redacts %j repeated up to 1 MB within 50 ms, cut or whole', (shape) => {
    for (const size of SIZES) {
      const text = shape.repeat(Math.ceil(size / shape.length));
      expect(timed(text), `${size} chars, cut to ${DEFAULT_LIMITS.maxStringLength}`).toBeLessThan(50);
      if (size <= 256 * 1024) expect(timed(text, WHOLE), `${size} chars, kept whole`).toBeLessThan(50);
    }
  });

  it('reads no more of a long text than it keeps, and still says how much was cut', () => {
    const text = `${'x'.repeat(3_990)}${JWT} ${'y'.repeat(1_000_000)}`;
    // The token that crosses the cut is replaced first, as when the whole text was read.
    expect(redactString(text)).toBe(`${'x'.repeat(3_990)}${REDACTED}…[truncated 1000001 chars]`);
  });

  /** The pattern before it was made linear: what it replaces is what the linear one must replace. */
  const QUADRATIC_JWT = /eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g;

  it('replaces exactly what the old JWT pattern replaced', () => {
    // Pieces that make JWT-like runs, glued to each other and to separators (no Bearer/Basic).
    const piece = fc.constantFrom('eyJ', 'eyJhbGci', 'a', 'Z9', '-', '_', '.', ' ', '%20', '=', '/', 'J', 'ey');
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 40 }), (pieces) => {
        const text = pieces.join('');
        expect(redactString(text, WHOLE)).toBe(text.replace(QUADRATIC_JWT, REDACTED));
      }),
      { numRuns: 2_000 },
    );
  });

  it('replaces a JWT glued to the text before it, as before', () => {
    expect(redactString(`t=%20${JWT}`)).toBe(`t=%20${REDACTED}`);
    expect(redactString(`xyz${JWT} and ${JWT}`)).toBe(`xyz${REDACTED} and ${REDACTED}`);
    expect(redactString(`eyJ${JWT}`)).toBe(REDACTED);
  });
});
