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

/**
 * The longest delay Node's setTimeout honours (2^31-1 ms, about 24.8 days):
 * a longer one is clamped to 1 ms, so a 25-day timeout would fire at once
 * and a 30-day retry delay would re-arm itself in a busy loop.
 */
export const MAX_TIMER_STEP_MS = 2 ** 31 - 1;

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(ms, fn) {
    const delay = Math.max(0, ms);
    if (delay <= MAX_TIMER_STEP_MS) {
      const handle = setTimeout(fn, delay);
      return { cancel: () => clearTimeout(handle) };
    }
    return chainedTimer(Date.now() + delay, fn);
  },
};

/**
 * A wait longer than one setTimeout can hold, as a chain of steps of at most
 * MAX_TIMER_STEP_MS. Each step re-reads the wall clock, so the deadline is in
 * clock time like every other timer here: a process that was suspended, or a
 * clock that jumped forward, fires at the next step instead of a full step
 * late; a clock set back waits the extra time. `cancel` stops whichever step
 * is armed.
 */
function chainedTimer(due: number, fn: () => void): Timer {
  let handle: ReturnType<typeof setTimeout> | undefined;
  let cancelled = false;
  const arm = (): void => {
    const left = due - Date.now();
    // Never fires synchronously: a step always goes through setTimeout first.
    handle = setTimeout(step, Math.min(Math.max(0, left), MAX_TIMER_STEP_MS));
  };
  const step = (): void => {
    handle = undefined;
    if (cancelled) return;
    if (due - Date.now() > 0) arm();
    else fn();
  };
  arm();
  return {
    cancel: () => {
      cancelled = true;
      if (handle !== undefined) clearTimeout(handle);
    },
  };
}

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

let lastIsoMs = Number.NaN;
let lastIsoText = '';

/**
 * `new Date(ms).toISOString()`, remembering the last answer: a run's transitions and its log lines ask for the
 * same millisecond several times in a row (a no-op run formats the same instant about ten times).
 */
export function isoTime(ms: number): string {
  if (ms !== lastIsoMs) {
    lastIsoText = new Date(ms).toISOString();
    lastIsoMs = ms;
  }
  return lastIsoText;
}
