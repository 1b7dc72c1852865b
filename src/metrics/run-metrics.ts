import type { RunEvent } from '../engine/port.js';
import type { HistogramSeries, Sample } from './prometheus.js';

/**
 * Counters fed by the engine's run events: finished runs by job and status,
 * a run-duration histogram per job, and the scheduler's lag (how long after
 * its `scheduledFor` a scheduled run was created). Counters start at zero on
 * each start, as Prometheus expects; `rate()` copes with the reset.
 */

/** Seconds: from quick shell jobs to a long nightly backup. */
export const DURATION_BOUNDS = [1, 5, 15, 60, 300, 900, 3600, 4 * 3600] as const;

interface JobHistogram {
  counts: number[];
  sum: number;
}

export interface SchedulerLag {
  /** Seconds between the last scheduled run's `scheduledFor` and its creation. */
  lastSeconds: number;
  maxSeconds: number;
  sumSeconds: number;
  count: number;
}

export class RunMetrics {
  private readonly finished = new Map<string, number>();
  private readonly durations = new Map<string, JobHistogram>();
  private readonly lag: SchedulerLag = { lastSeconds: 0, maxSeconds: 0, sumSeconds: 0, count: 0 };

  observe(event: RunEvent): void {
    const { run } = event;
    if (event.type === 'created' && run.trigger === 'schedule' && run.scheduledFor) {
      const seconds = Math.max(0, (Date.parse(run.createdAt) - Date.parse(run.scheduledFor)) / 1000);
      if (Number.isFinite(seconds)) this.recordLag(seconds);
    }
    if (event.type !== 'finished') return;
    const key = JSON.stringify([run.job, run.status]);
    this.finished.set(key, (this.finished.get(key) ?? 0) + 1);
    if (run.startedAt && run.finishedAt) {
      const seconds = Math.max(0, (Date.parse(run.finishedAt) - Date.parse(run.startedAt)) / 1000);
      if (Number.isFinite(seconds)) this.recordDuration(run.job, seconds);
    }
  }

  runsByJobAndStatus(): Sample[] {
    return [...this.finished].map(([key, value]) => {
      const [job, status] = JSON.parse(key) as [string, string];
      return { labels: { job, status }, value };
    });
  }

  durationHistograms(): HistogramSeries[] {
    return [...this.durations].map(([job, histogram]) => ({ labels: { job }, bounds: DURATION_BOUNDS, counts: histogram.counts, sum: histogram.sum }));
  }

  schedulerLag(): Readonly<SchedulerLag> {
    return this.lag;
  }

  private recordDuration(job: string, seconds: number): void {
    let histogram = this.durations.get(job);
    if (!histogram) this.durations.set(job, (histogram = { counts: new Array<number>(DURATION_BOUNDS.length + 1).fill(0), sum: 0 }));
    const bucket = DURATION_BOUNDS.findIndex((bound) => seconds <= bound);
    histogram.counts[bucket === -1 ? DURATION_BOUNDS.length : bucket]! += 1;
    histogram.sum += seconds;
  }

  private recordLag(seconds: number): void {
    this.lag.lastSeconds = seconds;
    this.lag.maxSeconds = Math.max(this.lag.maxSeconds, seconds);
    this.lag.sumSeconds += seconds;
    this.lag.count += 1;
  }
}
