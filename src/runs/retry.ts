import type { RetryPolicy } from '../config/types.js';

/**
 * Delay before retry number `retry` (1 = the first retry). Exponential
 * backoff doubles per retry; `maxDelayMs` caps it; jitter spreads retries of
 * many runs so they do not all hit a flaky service at the same instant.
 * `random` is injected (0 ≤ r < 1) so tests are deterministic.
 */
export function retryDelayMs(policy: RetryPolicy, retry: number, random: () => number = Math.random): number {
  const base = policy.backoff === 'exponential' ? policy.delayMs * 2 ** Math.max(0, retry - 1) : policy.delayMs;
  const capped = Math.min(base, policy.maxDelayMs);
  const spread = capped * policy.jitter;
  const jittered = capped - spread + 2 * spread * random();
  return Math.max(0, Math.round(Math.min(jittered, policy.maxDelayMs)));
}
