import { describe, expect, it } from 'vitest';
import type { Run } from '../runs/model.js';
import { PrometheusText } from './prometheus.js';
import { RunMetrics } from './run-metrics.js';
import { EventLoopMonitor } from './event-loop.js';
import { FakeClock } from '../core/clock.js';

const run = (fields: Partial<Run>): Run => ({ id: 'r_1', job: 'backup', status: 'succeeded', trigger: 'manual', occurrences: 1, createdAt: '2026-01-01T00:00:00Z', tasks: {}, taskOrder: [], ...fields });

describe('PrometheusText', () => {
  it('writes HELP, TYPE and escaped samples', () => {
    const text = new PrometheusText().gauge('a_b', 'line one\nline two', [{ labels: { x: 'q"\\\n' }, value: 1.5 }]).toString();
    expect(text).toBe('# HELP a_b line one\\nline two\n# TYPE a_b gauge\na_b{x="q\\"\\\\\\n"} 1.5\n');
  });

  it('writes cumulative histogram buckets ending in +Inf', () => {
    const text = new PrometheusText().histogram('d_seconds', 'd', [{ bounds: [1, 10], counts: [2, 1, 3], sum: 99 }]).toString();
    expect(text).toContain('d_seconds_bucket{le="1"} 2\nd_seconds_bucket{le="10"} 3\nd_seconds_bucket{le="+Inf"} 6\nd_seconds_sum 99\nd_seconds_count 6');
  });

  it('refuses bad names and counters without _total', () => {
    expect(() => new PrometheusText().gauge('bad-name', 'x', 1)).toThrow(/invalid metric name/);
    expect(() => new PrometheusText().counter('runs', 'x', 1)).toThrow(/_total/);
    expect(() => new PrometheusText().gauge('ok', 'x', [{ labels: { 'bad-label': 'v' }, value: 1 }])).toThrow(/invalid label/);
  });
});

describe('RunMetrics', () => {
  it('counts finished runs by job and status and buckets their durations', () => {
    const metrics = new RunMetrics();
    metrics.observe({ type: 'finished', run: run({ startedAt: '2026-01-01T00:00:00Z', finishedAt: '2026-01-01T00:00:03Z' }) });
    metrics.observe({ type: 'finished', run: run({ status: 'failed', startedAt: '2026-01-01T00:00:00Z', finishedAt: '2026-01-01T06:00:00Z' }) });
    metrics.observe({ type: 'updated', run: run({ status: 'running' }) });
    expect(metrics.runsByJobAndStatus()).toEqual([
      { labels: { job: 'backup', status: 'succeeded' }, value: 1 },
      { labels: { job: 'backup', status: 'failed' }, value: 1 },
    ]);
    const [histogram] = metrics.durationHistograms();
    expect(histogram!.sum).toBe(3 + 6 * 3600);
    expect(histogram!.counts).toEqual([0, 1, 0, 0, 0, 0, 0, 0, 1]);
  });

  it('measures scheduler lag from scheduled runs only', () => {
    const metrics = new RunMetrics();
    metrics.observe({ type: 'created', run: run({ trigger: 'schedule', scheduledFor: '2026-01-01T03:00:00Z', createdAt: '2026-01-01T03:00:01.250Z' }) });
    metrics.observe({ type: 'created', run: run({ trigger: 'catchup', scheduledFor: '2025-12-01T03:00:00Z', createdAt: '2026-01-01T03:00:01Z' }) });
    expect(metrics.schedulerLag()).toMatchObject({ lastSeconds: 1.25, maxSeconds: 1.25, count: 1 });
  });
});

describe('EventLoopMonitor', () => {
  it('reports the delay of a blocked loop and resets per snapshot', async () => {
    const monitor = new EventLoopMonitor();
    monitor.start();
    // ~10 idle samples (one every 20 ms) on each side of the block, so the median is an idle sample even when a
    // busy machine delays a few of them (with ~2 a side, one late sample made the median).
    await new Promise((resolve) => setTimeout(resolve, 200));
    const until = Date.now() + 100;
    while (Date.now() < until) {
      // block the loop
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
    const lag = monitor.snapshot();
    monitor.stop();
    expect(lag.maxSeconds).toBeGreaterThan(0.05);
    expect(lag.p50Seconds).toBeLessThan(0.01);
  });
});

describe('EventLoopMonitor sampling (injected clock)', () => {
  function monitorOn(utilization: () => number) {
    const clock = new FakeClock(0);
    const monitor = new EventLoopMonitor({ clock, monotonicNow: () => clock.now(), utilization });
    return { clock, monitor };
  }

  it('wakes the loop at most once a second while idle', async () => {
    const { clock, monitor } = monitorOn(() => 0);
    monitor.start();
    await clock.advance(1_000); // the first window samples finely (start-up is busy), then decides
    const before = monitor.sampleCount();
    expect(monitor.interval()).toBe(1_000);
    await clock.advance(60_000);
    expect(monitor.sampleCount() - before).toBeLessThanOrEqual(60);
    expect(clock.pendingTimers()).toBe(1);
    monitor.stop();
    expect(clock.pendingTimers()).toBe(0);
  });

  it('samples every 20 ms while the loop is busy and measures a stall', async () => {
    let utilization = 0;
    const { clock, monitor } = monitorOn(() => utilization);
    monitor.start();
    await clock.advance(2_000);
    expect(monitor.interval()).toBe(1_000);
    utilization = 0.5;
    await clock.advance(1_000);
    expect(monitor.interval()).toBe(20);
    const before = monitor.sampleCount();
    await clock.advance(1_000);
    expect(monitor.sampleCount() - before).toBeGreaterThanOrEqual(45);
    monitor.snapshot();
    await clock.advance(500);
    // A 150 ms stall: the pending sample fires that late.
    clock.set(clock.now() + 150);
    await clock.advance(500);
    const lag = monitor.snapshot();
    expect(lag.maxSeconds).toBeCloseTo(0.15 - 0.02, 2);
    expect(lag.p50Seconds).toBe(0);
    // Reset per snapshot.
    expect(monitor.snapshot()).toEqual({ p50Seconds: 0, p99Seconds: 0, maxSeconds: 0 });
    monitor.stop();
  });

  it('a stall that starts while idle still shows, and switches to fine sampling', async () => {
    let utilization = 0;
    const { clock, monitor } = monitorOn(() => utilization);
    monitor.start();
    await clock.advance(3_000);
    monitor.snapshot();
    utilization = 0.9;
    await clock.advance(400);
    clock.set(clock.now() + 2_000); // the loop is blocked for 2 s
    await clock.advance(1);
    expect(monitor.snapshot().maxSeconds).toBeGreaterThan(1.3);
    expect(monitor.interval()).toBe(20);
    monitor.stop();
  });
});
