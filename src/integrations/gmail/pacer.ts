import type { Clock } from '../../core/clock.js';
import { abortError } from '../../core/errors.js';

/**
 * Keeps a mailbox's calls under its per-user quota: a sliding window of one
 * minute in which the units spent never exceed `unitsPerMinute`, and a
 * not-before time (a rate-limit answer's Retry-After) before which nothing is
 * sent. Time is the injected clock, so tests check the limit on a FakeClock.
 *
 * `onNotBefore` is told of every new not-before time before anyone waits for
 * it, so the caller can persist it: a restart then waits out the remainder
 * instead of asking early.
 */
export class QuotaPacer {
  /** [time, units] of recent grants, oldest first. */
  private readonly spent: Array<[number, number]> = [];
  private queue: Promise<void> = Promise.resolve();
  private notBefore = 0;
  /** Units granted so far (for the run's output and the benchmarks). */
  units = 0;

  constructor(
    private readonly clock: Clock,
    readonly unitsPerMinute: number,
    private readonly onNotBefore: (at: number) => Promise<void> | void = () => {},
  ) {
    if (!(unitsPerMinute > 0)) throw new Error('unitsPerMinute must be positive');
  }

  /** Waits until `units` more fit in the window (and past any not-before time), then books them. Grants are in call order. */
  acquire(units: number, signal?: AbortSignal): Promise<void> {
    const cost = Math.min(units, this.unitsPerMinute);
    const turn = this.queue.then(() => this.waitFor(cost, signal));
    this.queue = turn.catch(() => {});
    return turn;
  }

  /** Nothing is sent before `at` (epoch ms); a later time wins over an earlier one. */
  async pauseUntil(at: number): Promise<void> {
    if (at <= this.notBefore) return;
    this.notBefore = at;
    await this.onNotBefore(at);
  }

  get pausedUntil(): number {
    return this.notBefore;
  }

  private async waitFor(cost: number, signal: AbortSignal | undefined): Promise<void> {
    for (;;) {
      if (signal?.aborted) throw abortError(signal);
      const now = this.clock.now();
      while (this.spent.length > 0 && this.spent[0]![0] <= now - 60_000) this.spent.shift();
      let wait = this.notBefore - now;
      if (wait <= 0) {
        let used = 0;
        for (const [, u] of this.spent) used += u;
        if (used + cost <= this.unitsPerMinute) {
          this.spent.push([now, cost]);
          this.units += cost;
          return;
        }
        // The earliest time enough old grants have left the window.
        let freed = 0;
        for (const [at, u] of this.spent) {
          freed += u;
          if (used - freed + cost <= this.unitsPerMinute) {
            wait = at + 60_000 - now;
            break;
          }
        }
      }
      await sleep(this.clock, Math.max(1, wait), signal);
    }
  }
}

/** Waits `ms` of clock time; rejects when `signal` aborts. */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortError(signal));
    const onAbort = () => {
      timer.cancel();
      reject(abortError(signal!));
    };
    const timer = clock.setTimer(ms, () => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    });
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
