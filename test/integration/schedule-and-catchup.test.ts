import { afterEach, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Run } from '../../src/runs/model.js';
import { baseConfig, freePort, startHearth, tempDir, type HearthProcess } from '../helpers/hearth-process.js';

let running: HearthProcess | undefined;
afterEach(async () => {
  await running?.stop('SIGKILL');
  running = undefined;
});

async function runsOf(hearth: HearthProcess, job: string): Promise<Run[]> {
  const { body } = await hearth.api<{ runs: Run[] }>(`/api/runs?job=${job}&limit=100`);
  return body.runs;
}

describe('the real hearth process', () => {
  it('runs a job on its schedule with the HEARTH_* environment', async () => {
    const dir = tempDir();
    const port = await freePort();
    running = await startHearth({
      dir,
      port,
      config: baseConfig(port, `
  tick:
    schedule: { every: 1s }
    run: echo "$HEARTH_TRIGGER $HEARTH_SCHEDULED_FOR $HEARTH_ATTEMPT" >> "$HEARTH_DATA_DIR/ticks.txt"
`),
    });
    const hearth = running;
    const done = await hearth.waitFor('a scheduled run to succeed', async () => {
      const runs = await runsOf(hearth, 'tick');
      return runs.find((run) => run.status === 'succeeded');
    });
    expect(done.trigger).toBe('schedule');
    expect(done.occurrences).toBe(1);
    const lines = readFileSync(join(dir, 'data/ticks.txt'), 'utf8').trim().split('\n');
    expect(lines).toContain(`schedule ${done.scheduledFor} 1`);
  });

  it('applies each catch-up policy after being off, and distrusts a clock that went backwards', async () => {
    const dir = tempDir();
    const port = await freePort();
    const config = baseConfig(port, `
  latest-job:
    schedule: { cron: "*/5 * * * *", catchup: latest }
    run: echo "occurrences=$HEARTH_OCCURRENCES"
  all-job:
    schedule: { cron: "*/5 * * * *", catchup: all, maxCatchup: 5 }
    overlap: allow
    run: "true"
  none-job:
    schedule: { cron: "*/5 * * * *", catchup: none }
    run: "true"
`);
    // Day one, 10:00:30: first sight of the jobs, nothing is backfilled.
    let hearth = await startHearth({ dir, port, config, faketime: '@2026-01-01 10:00:30' });
    running = hearth;
    expect(await runsOf(hearth, 'latest-job')).toEqual([]);
    expect(await hearth.stop()).toBe(0);

    // Off for an hour: 10:05 … 11:00 (12 occurrences) were missed.
    hearth = await startHearth({ dir, port, config, faketime: '@2026-01-01 11:02:30' });
    running = hearth;
    const latest = await hearth.waitFor('the latest catch-up run', async () => (await runsOf(hearth, 'latest-job'))[0]);
    expect(latest).toMatchObject({ trigger: 'catchup', occurrences: 12, scheduledFor: '2026-01-01T11:00:00.000Z' });

    const all = await hearth.waitFor('five catch-up runs', async () => {
      const runs = await runsOf(hearth, 'all-job');
      return runs.length >= 5 ? runs : undefined;
    });
    const oldestFirst = [...all].reverse();
    expect(oldestFirst.map((run) => run.scheduledFor)).toEqual([
      '2026-01-01T10:40:00.000Z',
      '2026-01-01T10:45:00.000Z',
      '2026-01-01T10:50:00.000Z',
      '2026-01-01T10:55:00.000Z',
      '2026-01-01T11:00:00.000Z',
    ]);
    expect(oldestFirst.map((run) => run.occurrences)).toEqual([8, 1, 1, 1, 1]);
    expect(await runsOf(hearth, 'none-job')).toEqual([]);
    const { body: jobs } = await hearth.api<{ jobs: Array<{ name: string; schedule: { lastCatchup?: { occurrences: number } } }> }>('/api/jobs');
    expect(jobs.jobs.find((j) => j.name === 'latest-job')!.schedule.lastCatchup).toMatchObject({ occurrences: 12, runs: 1, policy: 'latest' });
    await hearth.waitFor('the latest run to finish', async () => {
      const [run] = await runsOf(hearth, 'latest-job');
      return run?.status === 'succeeded' ? run : undefined;
    });
    const { body: log } = await hearth.api<string>(`/api/runs/${latest.id}/logs`);
    expect(log).toContain('occurrences=12');
    expect(await hearth.stop()).toBe(0);

    // A Pi without a real-time clock boots with a stale time: schedule nothing, say so.
    hearth = await startHearth({ dir, port, config, faketime: '@2026-01-01 09:00:00' });
    running = hearth;
    const { body: health } = await hearth.api<{ clock: { trusted: boolean; message?: string } }>('/api/health');
    expect(health.clock.trusted).toBe(false);
    expect(health.clock.message).toMatch(/earlier than the last time seen/);
    expect(hearth.output()).toMatch(/clock not trusted/);
  });
});
