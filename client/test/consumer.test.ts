import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const consumer = fileURLToPath(new URL('./consumer', import.meta.url));
const tsc = fileURLToPath(new URL('../../node_modules/typescript/bin/tsc', import.meta.url));

describe('a TypeScript frontend importing @orders/client', () => {
  it('type-checks, and every wrong input it marks is a compile error', async () => {
    const result = await promisify(execFile)(process.execPath, [tsc, '--noEmit', '-p', consumer]).catch(
      (error: { stdout?: string; code?: number }) => error,
    );
    expect('stdout' in result ? result.stdout : '').toBe('');
  }, 120_000);
});
