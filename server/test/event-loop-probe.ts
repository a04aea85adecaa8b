import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

/**
 * How long this process's event loop was held: the test app serves requests in the test's own
 * process, so a request whose handling blocks (a regular expression backtracking over a long
 * path, say) delays this probe's timer by as long. `monitorEventLoopDelay` samples every
 * `RESOLUTION_MS`; its maximum is the longest stretch the loop could not run a timer, a request
 * being handled, the client's side of the test and garbage collection included.
 */
const RESOLUTION_MS = 5;

export interface EventLoopProbe {
  /** The longest hold since the probe started or was last reset, in milliseconds. */
  maxHoldMs(): number;
  reset(): void;
  stop(): void;
}

export function probeEventLoop(): EventLoopProbe {
  const histogram: IntervalHistogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  histogram.enable();
  return {
    // The histogram counts the delay past the timer's due time, in nanoseconds; its maximum is
    // a huge sentinel until the first sample.
    maxHoldMs: () => (histogram.count === 0 ? 0 : histogram.max / 1e6),
    reset: () => histogram.reset(),
    stop: () => histogram.disable(),
  };
}

/** Runs `work` and gives its result with the longest event-loop hold while it ran. */
export async function measureHold<Result>(
  probe: EventLoopProbe,
  work: () => Promise<Result>,
): Promise<{ result: Result; holdMs: number }> {
  probe.reset();
  const result = await work();
  // Past one timers phase: a sample that a hold at the very end made overdue runs there, before
  // this later timer (libuv runs timers in the order they were due), and is counted.
  await new Promise((resolve) => setTimeout(resolve, 1));
  return { result, holdMs: probe.maxHoldMs() };
}
