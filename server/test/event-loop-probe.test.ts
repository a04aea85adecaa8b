import { afterAll, describe, expect, it } from 'vitest';
import { measureHold, probeEventLoop } from './event-loop-probe.ts';

const probe = probeEventLoop();
afterAll(() => probe.stop());

/** Keeps the event loop's thread busy for `ms`, as a backtracking regular expression would. */
function spin(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

describe('the event-loop probe', () => {
  it('measures a callback that blocks for as long as it blocks', async () => {
    const { holdMs } = await measureHold(probe, async () => {
      await new Promise((resolve) => setTimeout(resolve, 10));
      spin(80);
    });
    expect(holdMs).toBeGreaterThanOrEqual(70);
    expect(holdMs).toBeLessThan(200);
  });

  it('counts no hold while the loop waits', async () => {
    const { holdMs } = await measureHold(probe, () => new Promise((resolve) => setTimeout(resolve, 80)));
    expect(holdMs).toBeLessThan(20);
  });
});
