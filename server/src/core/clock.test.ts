import { afterEach, describe, expect, it, vi } from 'vitest';
import { isoNow } from './clock.ts';

afterEach(() => {
  vi.useRealTimers();
});

describe('isoNow', () => {
  it('is toISOString() of the current millisecond, across milliseconds, seconds and days', () => {
    vi.useFakeTimers();
    const start = Date.UTC(2026, 10, 27, 23, 59, 58, 990);
    // Every millisecond over a day boundary, then a few far apart.
    const instants = [
      ...Array.from({ length: 2_100 }, (_, step) => start + step),
      Date.UTC(2024, 1, 29, 12, 0, 0, 0),
      Date.UTC(2024, 1, 29, 12, 0, 0, 5),
      Date.UTC(2024, 1, 29, 12, 0, 0, 50),
      Date.UTC(1999, 11, 31, 23, 59, 59, 999),
      0,
    ];
    for (const instant of instants) {
      vi.setSystemTime(instant);
      expect(isoNow()).toBe(new Date(instant).toISOString());
    }
  });

  it('follows the clock when it goes back', () => {
    vi.useFakeTimers();
    vi.setSystemTime(Date.UTC(2026, 0, 1, 0, 0, 1, 500));
    expect(isoNow()).toBe('2026-01-01T00:00:01.500Z');
    vi.setSystemTime(Date.UTC(2026, 0, 1, 0, 0, 0, 500));
    expect(isoNow()).toBe('2026-01-01T00:00:00.500Z');
  });
});
