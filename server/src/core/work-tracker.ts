/**
 * Counts work in flight (procedure calls), so shutdown can wait for it to finish before the
 * database closes: a client that hangs up does not stop its order from being recorded.
 */
export function createWorkTracker() {
  let active = 0;
  let waiters: (() => void)[] = [];
  const finish = () => {
    active -= 1;
    if (active === 0) for (const wake of waiters.splice(0)) wake();
  };
  // Made once: tracking a call costs one promise, not an async function's three.
  const settle = <Result>(value: Result) => {
    finish();
    return value;
  };
  const fail = (error: unknown) => {
    finish();
    throw error;
  };

  return {
    track<Result>(work: Promise<Result>): Promise<Result> {
      active += 1;
      return work.then(settle, fail);
    },
    get active() {
      return active;
    },
    /** Resolves when nothing is in flight, or after `timeoutMs`; says which. */
    drained(timeoutMs: number): Promise<{ drained: boolean; active: number }> {
      if (active === 0) return Promise.resolve({ drained: true, active: 0 });
      return new Promise((resolve) => {
        const timer = setTimeout(() => {
          waiters = waiters.filter((waiter) => waiter !== wake);
          resolve({ drained: false, active });
        }, timeoutMs);
        const wake = () => {
          clearTimeout(timer);
          resolve({ drained: true, active: 0 });
        };
        waiters.push(wake);
      });
    },
  };
}

export type WorkTracker = ReturnType<typeof createWorkTracker>;
