import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

/**
 * Event-loop delay from perf_hooks (sampled every 20 ms by libuv, not by a
 * timer of ours). Each `snapshot()` reports the delay since the previous one
 * and starts a new window, so a scrape shows the recent past. The histogram
 * records whole sampling intervals, so the resolution is subtracted: an idle
 * loop reports 0, not 20 ms.
 */
export interface EventLoopLag {
  p50Seconds: number;
  p99Seconds: number;
  maxSeconds: number;
}

const RESOLUTION_MS = 20;

export class EventLoopMonitor {
  private histogram: IntervalHistogram | undefined;

  start(): void {
    if (this.histogram) return;
    this.histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
    this.histogram.enable();
  }

  stop(): void {
    this.histogram?.disable();
    this.histogram = undefined;
  }

  snapshot(): EventLoopLag {
    const h = this.histogram;
    if (!h || h.count === 0) return { p50Seconds: 0, p99Seconds: 0, maxSeconds: 0 };
    const seconds = (ns: number) => Math.max(0, ns / 1e9 - RESOLUTION_MS / 1000);
    const lag = { p50Seconds: seconds(h.percentile(50)), p99Seconds: seconds(h.percentile(99)), maxSeconds: seconds(h.max) };
    h.reset();
    return lag;
  }
}
