import type { Clock } from '../../core/clock.js';

/**
 * Failed logins per client address: after `maxFailures` inside `windowMs`,
 * that address must wait until the oldest failure leaves the window. A
 * success clears the address. Memory stays bounded: stale entries are swept.
 */

export interface LoginLimiterOptions {
  clock: Clock;
  maxFailures?: number;
  windowMs?: number;
}

export type LimitDecision = { allowed: true } | { allowed: false; retryAfterSeconds: number };

const MAX_TRACKED = 10_000;

export class LoginLimiter {
  private readonly failures = new Map<string, number[]>();
  readonly maxFailures: number;
  readonly windowMs: number;

  constructor(private readonly options: LoginLimiterOptions) {
    this.maxFailures = options.maxFailures ?? 5;
    this.windowMs = options.windowMs ?? 15 * 60_000;
  }

  check(client: string): LimitDecision {
    const recent = this.recent(client);
    if (recent.length < this.maxFailures) return { allowed: true };
    const retryAt = recent[0]! + this.windowMs;
    return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((retryAt - this.options.clock.now()) / 1000)) };
  }

  fail(client: string): void {
    if (this.failures.size >= MAX_TRACKED) this.sweep();
    this.failures.set(client, [...this.recent(client), this.options.clock.now()]);
  }

  succeed(client: string): void {
    this.failures.delete(client);
  }

  private recent(client: string): number[] {
    const since = this.options.clock.now() - this.windowMs;
    return (this.failures.get(client) ?? []).filter((at) => at > since);
  }

  private sweep(): void {
    for (const client of [...this.failures.keys()]) {
      if (this.recent(client).length === 0) this.failures.delete(client);
    }
    // Still full (a flood from many addresses): forget the oldest entries rather than grow without bound.
    for (const client of this.failures.keys()) {
      if (this.failures.size < MAX_TRACKED) break;
      this.failures.delete(client);
    }
  }
}
