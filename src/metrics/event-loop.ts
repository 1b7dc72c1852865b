import { createHistogram, performance, type RecordableHistogram } from 'node:perf_hooks';
import { systemClock, type Clock, type Timer } from '../core/clock.js';

/**
 * Event-loop delay, sampled adaptively so an idle appliance stays asleep.
 *
 * A sample is a timer of ours: how late it fires is the delay the loop
 * added. While the loop does real work (its utilization over the last
 * window is at least `busyUtilization`) samples are taken every
 * `busyIntervalMs` (20 ms, what perf_hooks' monitorEventLoopDelay used to
 * do all the time), so the stalls that happen while runs, requests or
 * reloads execute are measured finely. While the loop is idle they are
 * taken every `idleIntervalMs` (1 s): an idle loop has no delay to find,
 * and 50 wake-ups a second cost a Pi more CPU than everything else Hearth
 * does when nothing is due (issue 13: ~170 → ~10 ms CPU per minute). A
 * long stall that begins while idle still delays the next coarse sample by
 * its remaining length and switches to fine sampling.
 *
 * Each `snapshot()` reports the delay since the previous one and starts a
 * new window, so a scrape shows the recent past. An idle loop reports 0.
 */
export interface EventLoopLag {
  p50Seconds: number;
  p99Seconds: number;
  maxSeconds: number;
}

export interface EventLoopMonitorOptions {
  /** Arms the sampling timer (the system clock by default; FakeClock in tests). */
  clock?: Clock;
  /** A monotonic time in ms (performance.now by default), so a wall-clock jump is not a delay. */
  monotonicNow?: () => number;
  /** The loop's utilization (0..1) since the previous call (performance.eventLoopUtilization by default). */
  utilization?: () => number;
  busyIntervalMs?: number;
  idleIntervalMs?: number;
  busyUtilization?: number;
}

export const EVENT_LOOP_SAMPLING = { busyIntervalMs: 20, idleIntervalMs: 1000, busyUtilization: 0.05 } as const;

/**
 * Lag in ns from 1 ns to an hour, to 2 significant figures (percentiles within 1 %): a 36 KB count array, where
 * createHistogram's defaults (up to 2^53, 3 figures) allocate 350 KB for as long as Hearth runs.
 */
const LAG_HISTOGRAM = { lowest: 1, highest: 3_600e9, figures: 2 } as const;

export class EventLoopMonitor {
  private histogram: RecordableHistogram | undefined;
  private timer: Timer | undefined;
  private readonly clock: Clock;
  private readonly monotonicNow: () => number;
  private readonly utilization: () => number;
  private readonly busyIntervalMs: number;
  private readonly idleIntervalMs: number;
  private readonly busyUtilization: number;
  /** True while sampling finely; the mode is decided again once per idle interval. */
  private busy = true;
  private windowStart = 0;
  private samples = 0;

  constructor(options: EventLoopMonitorOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.monotonicNow = options.monotonicNow ?? (() => performance.now());
    this.utilization = options.utilization ?? loopUtilization();
    this.busyIntervalMs = options.busyIntervalMs ?? EVENT_LOOP_SAMPLING.busyIntervalMs;
    this.idleIntervalMs = options.idleIntervalMs ?? EVENT_LOOP_SAMPLING.idleIntervalMs;
    this.busyUtilization = options.busyUtilization ?? EVENT_LOOP_SAMPLING.busyUtilization;
  }

  start(): void {
    if (this.histogram) return;
    this.histogram = createHistogram(LAG_HISTOGRAM);
    // Start-up is busy: begin finely and let the first window decide.
    this.busy = true;
    this.utilization();
    this.windowStart = this.monotonicNow();
    this.arm();
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = undefined;
    this.histogram = undefined;
  }

  /** Samples taken since start (for tests and the bench: how often the monitor wakes the loop). */
  sampleCount(): number {
    return this.samples;
  }

  /** The current sampling interval in ms. */
  interval(): number {
    return this.busy ? this.busyIntervalMs : this.idleIntervalMs;
  }

  snapshot(): EventLoopLag {
    const h = this.histogram;
    if (!h || h.count === 0) return { p50Seconds: 0, p99Seconds: 0, maxSeconds: 0 };
    // Recorded in ns; a sample that fired on time is recorded as 1 ns (a histogram cannot hold 0).
    const seconds = (ns: number) => (ns <= 1 ? 0 : ns / 1e9);
    const lag = { p50Seconds: seconds(h.percentile(50)), p99Seconds: seconds(h.percentile(99)), maxSeconds: seconds(h.max) };
    h.reset();
    return lag;
  }

  private arm(): void {
    const interval = this.interval();
    const expected = this.monotonicNow() + interval;
    this.timer = this.clock.setTimer(interval, () => this.sample(expected));
  }

  private sample(expected: number): void {
    const h = this.histogram;
    if (!h) return;
    this.samples += 1;
    const now = this.monotonicNow();
    h.record(Math.min(LAG_HISTOGRAM.highest, Math.max(1, Math.round((now - expected) * 1e6))));
    if (now - this.windowStart >= this.idleIntervalMs) {
      this.busy = this.utilization() >= this.busyUtilization;
      this.windowStart = now;
    }
    this.arm();
  }
}

/** Utilization of the event loop since the previous call (perf_hooks' ELU: time not spent waiting for I/O). */
function loopUtilization(): () => number {
  let last = performance.eventLoopUtilization();
  return () => {
    const current = performance.eventLoopUtilization();
    const delta = performance.eventLoopUtilization(current, last);
    last = current;
    return delta.utilization;
  };
}
