import type { HealthView } from '../engine/port.js';
import type { EventLoopLag } from './event-loop.js';
import { PrometheusText } from './prometheus.js';
import type { RunMetrics } from './run-metrics.js';

/** What one scrape of `/metrics` reads; every source is cheap (no disk, no child process). */
export interface MetricsSources {
  health(): HealthView;
  runs: RunMetrics;
  eventLoop(): EventLoopLag;
  rssBytes(): number;
  liveViewers(): number;
}

export function renderMetrics(sources: MetricsSources): string {
  const health = sources.health();
  const lag = sources.runs.schedulerLag();
  const loop = sources.eventLoop();
  return new PrometheusText()
    .gauge('hearth_build_info', 'Hearth version (always 1).', [{ labels: { version: health.version }, value: 1 }])
    .gauge('hearth_uptime_seconds', 'Seconds since the appliance started.', health.uptimeSeconds)
    .gauge('hearth_clock_trusted', '1 when the wall clock is trusted, 0 while it is earlier than the last time seen.', health.clock.trusted ? 1 : 0)
    .gauge('hearth_config_reload_failed', '1 when the last config reload failed (the previous jobs keep running).', health.config.errors ? 1 : 0)
    .gauge('hearth_jobs', 'Jobs in the loaded config.', health.config.jobs)
    .counter('hearth_runs_total', 'Runs finished since start, by job and final status.', sources.runs.runsByJobAndStatus())
    .histogram('hearth_run_duration_seconds', 'Duration of finished runs (start to finish), by job.', sources.runs.durationHistograms())
    .gauge('hearth_queue_depth', 'Runs queued and waiting for a pool slot.', health.runs.queued)
    .gauge('hearth_runs_active', 'Active runs by status.', [
      { labels: { status: 'queued' }, value: health.runs.queued },
      { labels: { status: 'running' }, value: health.runs.running },
      { labels: { status: 'waiting' }, value: health.runs.waiting },
    ])
    .gauge('hearth_scheduler_lag_seconds', 'How late the last scheduled run was created after its scheduled time.', lag.lastSeconds)
    .gauge('hearth_scheduler_lag_max_seconds', 'The largest scheduler lag since start.', lag.maxSeconds)
    .gauge('process_resident_memory_bytes', 'Resident set size of the hearth process.', sources.rssBytes())
    .gauge('hearth_event_loop_lag_seconds', 'Event-loop delay since the previous scrape (sampled every 20 ms while the loop is busy, every 1 s while idle).', [
      { labels: { quantile: '0.5' }, value: loop.p50Seconds },
      { labels: { quantile: '0.99' }, value: loop.p99Seconds },
      { labels: { quantile: '1' }, value: loop.maxSeconds },
    ])
    .gauge('hearth_live_viewers', 'Open live-update connections of the dashboard.', sources.liveViewers())
    .toString();
}
