import { describe, expect, it } from 'vitest';
import { retryDelayMs } from './retry.js';

const policy = { max: 5, delayMs: 1000, backoff: 'exponential' as const, maxDelayMs: 5000, jitter: 0 };

describe('retryDelayMs', () => {
  it('doubles per retry and caps at maxDelay', () => {
    expect([1, 2, 3, 4, 5].map((n) => retryDelayMs(policy, n))).toEqual([1000, 2000, 4000, 5000, 5000]);
  });

  it('keeps a fixed delay fixed', () => {
    expect(retryDelayMs({ ...policy, backoff: 'fixed' }, 4)).toBe(1000);
  });

  it('spreads by the jitter fraction and never exceeds maxDelay', () => {
    const jittery = { ...policy, jitter: 0.5 };
    expect(retryDelayMs(jittery, 1, () => 0)).toBe(500);
    expect(retryDelayMs(jittery, 1, () => 0.999999)).toBe(1500);
    expect(retryDelayMs(jittery, 5, () => 0.999999)).toBe(5000);
  });
});
