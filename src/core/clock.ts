/**
 * Time is injected. Domain code never calls `Date.now()` or `setTimeout`
 * directly; it receives a Clock, so tests drive time with FakeClock.advance().
 */
export interface Timer {
  cancel(): void;
}

export interface Clock {
  now(): number;
  /** Calls `fn` once after `ms` of clock time. */
  setTimer(ms: number, fn: () => void): Timer;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(ms, fn) {
    const handle = setTimeout(fn, Math.max(0, ms));
    return { cancel: () => clearTimeout(handle) };
  },
};

interface PendingTimer {
  due: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

/** A clock for tests: time moves only when `advance` or `set` is called. */
export class FakeClock implements Clock {
  private current: number;
  private seq = 0;
  private timers: PendingTimer[] = [];

  constructor(start: number | string | Date = '2026-01-01T00:00:00Z') {
    this.current = typeof start === 'number' ? start : new Date(start).getTime();
  }

  now(): number {
    return this.current;
  }

  setTimer(ms: number, fn: () => void): Timer {
    const timer: PendingTimer = { due: this.current + Math.max(0, ms), seq: this.seq++, fn, cancelled: false };
    this.timers.push(timer);
    return { cancel: () => { timer.cancelled = true; } };
  }

  /** Moves time forward, firing due timers in order, awaiting microtasks between them. */
  async advance(ms: number): Promise<void> {
    const target = this.current + ms;
    for (;;) {
      await flushMicrotasks();
      const next = this.nextDue(target);
      if (!next) break;
      this.current = Math.max(this.current, next.due);
      next.cancelled = true;
      next.fn();
    }
    this.current = target;
    await flushMicrotasks();
  }

  /** Jumps the wall clock (e.g. NTP sync, or a Pi booting with a stale clock); fires nothing. */
  set(time: number | string | Date): void {
    this.current = typeof time === 'number' ? time : new Date(time).getTime();
  }

  pendingTimers(): number {
    return this.timers.filter((t) => !t.cancelled).length;
  }

  private nextDue(limit: number): PendingTimer | undefined {
    this.timers = this.timers.filter((t) => !t.cancelled);
    let best: PendingTimer | undefined;
    for (const t of this.timers) {
      if (t.due > limit) continue;
      if (!best || t.due < best.due || (t.due === best.due && t.seq < best.seq)) best = t;
    }
    return best;
  }
}

export async function flushMicrotasks(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}
